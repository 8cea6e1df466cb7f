import BoothCore
import BoothTesting
import Logging
import Synchronization
import Testing

@testable import BoothService

private let cuffID = "ble:00:AA:02:00:00:01"
private let measurementUUID = GATTUUID(0x2A35)
private let intermediateUUID = GATTUUID(0x2A36)

/// Intermediate Cuff Pressure: flags 0x00 (mmHg), current cuff pressure `pressure` as SFLOAT (exponent 0),
/// diastolic and mean NaN (0x07FF), as the BPS spec sends them while measuring.
private func cuffPressure(_ pressure: UInt8) -> [UInt8] {
    [0x00, pressure, 0x00, 0xFF, 0x07, 0xFF, 0x07]
}

/// Blood Pressure Measurement, flags 0x00 (mmHg): systolic 121, diastolic 79, mean 93.
private let reading: [UInt8] = [0x00, 121, 0x00, 79, 0x00, 93, 0x00]

private final class KeepingSink: MeasurementSink {
    private let stored = Mutex<[BoothCore.Measurement]>([])
    func record(_ measurement: BoothCore.Measurement) async throws { stored.withLock { $0.append(measurement) } }
    var measurements: [BoothCore.Measurement] { stored.withLock { $0 } }
}

/// A cuff sending Intermediate Cuff Pressure shows `measuring` until its reading arrives, or until it goes quiet.
@Suite(.timeLimit(.minutes(1)))
struct MeasuringStateTests {
    /// Device states published for the cuff, consecutive repeats collapsed (battery/last-seen updates).
    final class States: Sendable {
        private let names = Mutex<[String]>([])
        func append(_ name: String) { names.withLock { if $0.last != name { $0.append(name) } } }
        var all: [String] { names.withLock { $0 } }
        func wait(for name: String, count: Int = 1) async throws {
            let deadline = ContinuousClock.now + .seconds(10)
            while all.filter({ $0 == name }).count < count {
                guard ContinuousClock.now < deadline else {
                    Issue.record("no state \(name) ×\(count) in \(all)")
                    return
                }
                try await Task.sleep(for: .milliseconds(10))
            }
        }
    }

    @Test func intermediateCuffPressureMakesTheCuffMeasuringUntilItsReadingOrSilence() async throws {
        let link = ScriptedGATTLink(readable: [GATTUUID(0x2A19): [87]])
        var driver = GATTMeasurementDriver.bps
        driver.intermediateQuiet = .milliseconds(300)
        let cuff = ManagedDevice(
            identity: DeviceIdentity(id: cuffID, transport: "ble"),
            role: .bp,
            driver: driver,
            connect: { link }
        )
        let registry = DeviceRegistry()
        let sink = KeepingSink()
        let states = States()
        let changes = await registry.changes()
        let watcher = Task {
            for await case .updated(let status) in changes where status.id == cuffID {
                states.append(status.state.name)
            }
        }
        let supervisor = DeviceSupervisor(
            devices: [cuff],
            sink: sink,
            registry: registry,
            logger: Logger(label: "test.measuring"),
            backoff: ReconnectBackoff(initial: .seconds(30), jitter: 0)
        )
        let task = Task { await supervisor.runDevices() }

        try await states.wait(for: "ready")
        // Inflating, then deflating: one `measuring` for all the intermediate values.
        link.send([150, 160, 140].map { (intermediateUUID, cuffPressure($0)) })
        try await states.wait(for: "measuring")
        link.send([(measurementUUID, reading)])
        try await states.wait(for: "ready", count: 2)
        #expect(sink.measurements.count == 1)
        #expect(sink.measurements.first?.raw == reading)
        #expect(sink.measurements.first?.value(.systolic)?.number?.doubleValue == 121)

        // A measurement the patient abandons: measuring, then ready after the quiet period without a reading.
        let abandoned = ContinuousClock.now
        link.send([(intermediateUUID, cuffPressure(90))])
        try await states.wait(for: "measuring", count: 2)
        try await states.wait(for: "ready", count: 3)
        #expect(ContinuousClock.now - abandoned >= .milliseconds(300))
        #expect(sink.measurements.count == 1)

        link.end()
        try await states.wait(for: "gone")
        task.cancel()
        await task.value
        watcher.cancel()
        #expect(
            states.all == ["discovered", "connecting", "ready", "measuring", "ready", "measuring", "ready", "gone"]
        )
        // The intermediate values were read as such, never stored as readings.
        #expect(link.unsubscribed.isEmpty)
    }
}
