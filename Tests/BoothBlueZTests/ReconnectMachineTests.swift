import BoothBlueZ
import Testing

@Suite("Reconnect machine")
struct ReconnectMachineTests {
    @Test func backoffDoublesUpToTheCap() {
        let policy = ReconnectPolicy(initialDelay: 1, maximumDelay: 30, multiplier: 2)
        #expect((1...7).map { policy.delay(attempt: $0) } == [1, 2, 4, 8, 16, 30, 30])
        #expect(policy.delay(attempt: 0) == 1)
    }

    @Test func connectsFailsBacksOffAndConnects() {
        var machine = ReconnectMachine(policy: ReconnectPolicy(initialDelay: 1))
        #expect(machine.handle(.start(bluezPresent: true, deviceKnown: true)) == [.connect])
        #expect(machine.handle(.connectFailed) == [.scheduleRetry(seconds: 1)])
        #expect(machine.handle(.retryTimerFired) == [.connect])
        #expect(machine.state == .connecting(attempt: 2))
        #expect(machine.handle(.connectFailed) == [.scheduleRetry(seconds: 2)])
        #expect(machine.handle(.retryTimerFired) == [.connect])
        #expect(machine.handle(.connectSucceeded) == [.publishConnected(generation: 1)])
        #expect(machine.state == .connected(generation: 1))
    }

    @Test func disconnectEndsTheGenerationOnce() {
        var machine = ReconnectMachine(policy: ReconnectPolicy(initialDelay: 0.5))
        _ = machine.handle(.start(bluezPresent: true, deviceKnown: true))
        _ = machine.handle(.connectSucceeded)
        #expect(machine.handle(.disconnected) == [.publishDisconnected(generation: 1), .scheduleRetry(seconds: 0.5)])
        // BlueZ repeats Connected=false (and the device object may be removed): nothing is published twice.
        #expect(machine.handle(.disconnected) == [])
        #expect(machine.handle(.deviceRemoved) == [])
        #expect(machine.handle(.retryTimerFired) == [.scan])
        #expect(machine.handle(.deviceAppeared) == [.stopScan, .connect])
        // A late success of an abandoned attempt cannot open a second connection.
        #expect(machine.handle(.connectSucceeded) == [.publishConnected(generation: 2)])
        #expect(machine.handle(.connectSucceeded) == [])
        #expect(machine.generation == 2)
    }

    @Test func survivesBluetoothdRestart() {
        var machine = ReconnectMachine()
        _ = machine.handle(.start(bluezPresent: true, deviceKnown: true))
        _ = machine.handle(.connectSucceeded)
        #expect(machine.handle(.bluezVanished) == [.publishDisconnected(generation: 1)])
        #expect(machine.state == .waitingForBlueZ)
        // Timers and results of the old bluetoothd are ignored while it is away.
        #expect(machine.handle(.retryTimerFired) == [])
        #expect(machine.handle(.disconnected) == [])
        // Back, but the device is not known yet (not bonded, or adapters still loading): scan, retry if refused.
        #expect(machine.handle(.bluezAppeared(deviceKnown: false)) == [.scan])
        #expect(machine.handle(.scanFailed) == [.scheduleRetry(seconds: 1)])
        #expect(machine.handle(.retryTimerFired) == [.scan])
        #expect(machine.handle(.deviceAppeared) == [.stopScan, .connect])
        #expect(machine.handle(.connectSucceeded) == [.publishConnected(generation: 2)])
    }

    @Test func startsWithoutBluetoothdAndStopsCleanly() {
        var machine = ReconnectMachine()
        #expect(machine.handle(.start(bluezPresent: false, deviceKnown: false)) == [])
        #expect(machine.handle(.bluezAppeared(deviceKnown: true)) == [.connect])
        _ = machine.handle(.connectSucceeded)
        #expect(machine.handle(.stop) == [.publishDisconnected(generation: 1), .disconnect])
        #expect(machine.state == .stopped)
        #expect(machine.handle(.bluezAppeared(deviceKnown: true)) == [])
        #expect(machine.handle(.retryTimerFired) == [])
    }

    @Test func stopWhileScanningStopsTheScan() {
        var machine = ReconnectMachine()
        #expect(machine.handle(.start(bluezPresent: true, deviceKnown: false)) == [.scan])
        #expect(machine.handle(.stop) == [.stopScan])
    }
}
