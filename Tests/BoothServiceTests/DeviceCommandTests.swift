import BoothCore
import Foundation
import Logging
import Synchronization
import Testing

@testable import BoothService

private final class KeepingSink: MeasurementSink {
    private let stored = Mutex<[BoothCore.Measurement]>([])
    func record(_ measurement: BoothCore.Measurement) async throws { stored.withLock { $0.append(measurement) } }
    var measurements: [BoothCore.Measurement] { stored.withLock { $0 } }
}

/// Refuses every measurement (a full disk) until `accept` is set.
private final class FullDiskSink: MeasurementSink {
    let accept = Mutex(false)
    let attempts = Mutex(0)
    private let stored = Mutex<[BoothCore.Measurement]>([])
    func record(_ measurement: BoothCore.Measurement) async throws {
        attempts.withLock { $0 += 1 }
        guard accept.withLock({ $0 }) else { throw OutboxError(.diskFull, "disk full (test)") }
        stored.withLock { $0.append(measurement) }
    }
    var measurements: [BoothCore.Measurement] { stored.withLock { $0 } }
}

private struct Echo: DeviceCommandHandler {
    func perform(_ command: DeviceCommand) async throws(DeviceCommandError) -> [String: String] {
        ["handled": command.name]
    }
}

@Suite(.timeLimit(.minutes(1)))
struct DeviceCommandTests {
    @Test func theRouterHandsEachCommandToItsModuleAndRefusesTheRest() async throws {
        let router = DeviceCommandRouter()
        router.register(["snapshot.take"], to: Echo())
        #expect(
            try await router.perform(DeviceCommand(name: "snapshot.take", deviceID: "cam")) == [
                "handled": "snapshot.take"
            ]
        )
        #expect(router.registeredNames == ["snapshot.take"])
        await #expect(
            throws: DeviceCommandError(
                code: "not_available",
                message: "camera.control: no module of this boothd handles it"
            )
        ) {
            try await router.perform(DeviceCommand(name: "camera.control", deviceID: "cam"))
        }
    }

    @Test func aDoorbellRingWakesAWaitEarlyAndIsKeptWhenNobodyWaits() async {
        let bell = Doorbell()
        #expect(await bell.wait(upTo: .milliseconds(10)) == false)
        bell.ring()
        #expect(await bell.wait(upTo: .seconds(30)) == true)
        let waiter = Task { await bell.wait(upTo: .seconds(30)) }
        try? await Task.sleep(for: .milliseconds(20))
        bell.ring()
        #expect(await waiter.value == true)
    }

    /// A simulated cuff measuring every 10 minutes: `measurement.start` gives a reading at once through the
    /// supervisor and the sink; `device.forget` stops it and drops it from the registry.
    @Test func startTakesAReadingNowAndForgetDropsTheDevice() async throws {
        let sink = KeepingSink()
        let registry = DeviceRegistry()
        let supervisor = DeviceSupervisor(
            devices: Simulator.devices(interval: .seconds(600)),
            sink: sink,
            registry: registry,
            logger: Logger(label: "test.supervisor")
        )
        let task = Task { await supervisor.runDevices() }
        defer { task.cancel() }
        while await registry.status(id: "sim:bp-cuff")?.state != .ready {
            try await Task.sleep(for: .milliseconds(10))
        }
        let reply = try await supervisor.commands.perform(
            DeviceCommand(name: "measurement.start", deviceID: "sim:bp-cuff")
        )
        #expect(reply["state"] == "measuring")
        while !sink.measurements.contains(where: { $0.device.id == "sim:bp-cuff" }) {
            try await Task.sleep(for: .milliseconds(10))
        }
        await #expect(throws: DeviceCommandError.self) {
            try await supervisor.commands.perform(DeviceCommand(name: "measurement.start", deviceID: "sim:none"))
        }
        let changes = await registry.changes()
        _ = try await supervisor.commands.perform(DeviceCommand(name: "device.forget", deviceID: "sim:thermometer"))
        #expect(await registry.status(id: "sim:thermometer") == nil)
        var seen: [DeviceChange] = []
        for await change in changes {
            seen.append(change)
            if case .removed = change { break }
        }
        #expect(
            seen.contains {
                if case .updated(let s) = $0 { s.id == "sim:thermometer" && s.state == .gone } else { false }
            }
        )
        #expect(seen.last == .removed(id: "sim:thermometer"))
        task.cancel()
        await task.value
    }

    @Test func forgettingADeviceWhileItsReadingIsHeldBackDoesNotLoseTheReading() async throws {
        let sink = FullDiskSink()
        let registry = DeviceRegistry()
        let supervisor = DeviceSupervisor(
            devices: Simulator.devices(interval: .seconds(600)).filter { $0.identity.id == "sim:thermometer" },
            sink: sink,
            registry: registry,
            logger: Logger(label: "test.supervisor")
        )
        let task = Task { await supervisor.runDevices() }
        defer { task.cancel() }
        while await registry.status(id: "sim:thermometer")?.state != .ready {
            try await Task.sleep(for: .milliseconds(10))
        }
        _ = try await supervisor.commands.perform(DeviceCommand(name: "measurement.start", deviceID: "sim:thermometer"))
        // The reading is taken and refused (disk full): it is being retried when the device is forgotten.
        while sink.attempts.withLock({ $0 }) < 2 { try await Task.sleep(for: .milliseconds(10)) }
        _ = try await supervisor.commands.perform(DeviceCommand(name: "device.forget", deviceID: "sim:thermometer"))
        #expect(await registry.status(id: "sim:thermometer") == nil)
        #expect(sink.measurements.isEmpty)
        sink.accept.withLock { $0 = true }
        let deadline = ContinuousClock.now + .seconds(30)
        while sink.measurements.isEmpty, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(sink.measurements.map(\.device.id) == ["sim:thermometer"])
        task.cancel()
        await task.value
    }
}
