import BoothCore
import Foundation
import Logging
import Synchronization
import Testing

@testable import BoothService

/// A sink that keeps what it is given, and can refuse the first `failures` records like a full disk would.
private final class RecordingSink: MeasurementSink {
    private let state: Mutex<(stored: [BoothCore.Measurement], failuresLeft: Int, attempts: Int)>

    init(failures: Int = 0) {
        state = Mutex(([], failures, 0))
    }

    func record(_ measurement: BoothCore.Measurement) async throws {
        try state.withLock { state in
            state.attempts += 1
            if state.failuresLeft > 0 {
                state.failuresLeft -= 1
                throw CocoaError(.fileWriteOutOfSpace)
            }
            if !state.stored.contains(where: { $0.id == measurement.id }) { state.stored.append(measurement) }
        }
    }

    var stored: [BoothCore.Measurement] { state.withLock { $0.stored } }
    var attempts: Int { state.withLock { $0.attempts } }
}

@Suite(.timeLimit(.minutes(1)))
struct SimulatorSupervisorTests {
    /// Runs the supervisor on the simulator until `done` says enough was stored, then cancels it.
    private func run(
        sink: RecordingSink,
        registry: DeviceRegistry,
        until done: @escaping @Sendable ([BoothCore.Measurement]) -> Bool
    ) async throws {
        let supervisor = DeviceSupervisor(
            devices: Simulator.devices(interval: .milliseconds(40)),
            sink: sink,
            registry: registry,
            logger: Logger(label: "test.supervisor"),
            backoff: ReconnectBackoff(initial: .milliseconds(10), jitter: 0)
        )
        let task = Task { await supervisor.runDevices() }
        let deadline = ContinuousClock.now + .seconds(30)
        while !done(sink.stored) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        task.cancel()
        await task.value
    }

    @Test func simulatedDevicesProduceDecodedCodedVitals() async throws {
        let sink = RecordingSink()
        let registry = DeviceRegistry()
        try await run(sink: sink, registry: registry) { stored in
            Set(stored.map(\.kind)).isSuperset(of: [.oxygenSaturation, .bloodPressure, .bodyTemperature])
        }
        let stored = sink.stored
        let oximetry = try #require(stored.first { $0.kind == .oxygenSaturation })
        let spo2 = try #require(oximetry.value(.spo2)?.number?.doubleValue)
        #expect((94...99).contains(spo2))
        #expect(oximetry.value(.spo2)?.unit == .percent)
        #expect(oximetry.device.id == "sim:oximeter")
        #expect(oximetry.device.transport == "simulated")
        // The stored raw bytes are real PLX Continuous bytes: they decode again to the same values.
        let again = try #require(try DecoderRegistry.decode("2A5F", oximetry.raw))
        #expect(again.values == oximetry.values)

        let pressure = try #require(stored.first { $0.kind == .bloodPressure })
        let systolic = try #require(pressure.value(.systolic)?.number?.doubleValue)
        let diastolic = try #require(pressure.value(.diastolic)?.number?.doubleValue)
        #expect(systolic > diastolic)
        #expect(pressure.value(.systolic)?.unit == .mmHg)
        #expect(pressure.deviceTime?.isClockUnset == false)

        let temperature = try #require(stored.first { $0.kind == .bodyTemperature })
        let celsius = try #require(temperature.value(.bodyTemperature)?.number)
        #expect(celsius.exponent == -1)
        #expect((36.2...37.5).contains(celsius.doubleValue))

        #expect(Set(stored.map(\.id)).count == stored.count)
        let statuses = await registry.snapshot()
        #expect(Set(statuses.map(\.id)) == ["sim:oximeter", "sim:bp-cuff", "sim:thermometer"])
        #expect(statuses.allSatisfy { $0.batteryPercent == 92 && $0.firmware == "sim-1.0" })
        #expect(Set(statuses.map(\.role)) == [.oximeter, .bp, .thermometer])
    }

    @Test func aSinkThatFailsIsRetriedAndNothingIsLost() async throws {
        let sink = RecordingSink(failures: 3)
        try await run(sink: sink, registry: DeviceRegistry()) { $0.count >= 6 }
        let stored = sink.stored
        #expect(stored.count >= 6)
        // Three refusals, each retried: one attempt more per refusal than stored measurements.
        #expect(sink.attempts >= stored.count + 3)
        // Per device, readings are stored in the order they were taken.
        for device in Set(stored.map(\.device.id)) {
            let times = stored.filter { $0.device.id == device }.map(\.receivedAtMicros)
            #expect(times == times.sorted())
        }
    }
}

/// Devices found later (BLE) are supervised one by one and wait to be reachable without showing "connecting".
@Suite(.timeLimit(.minutes(1)))
struct DynamicDeviceSupervisionTests {
    @Test func waitingDeviceKeepsItsStateUntilReachable() async throws {
        let sink = RecordingSink()
        let registry = DeviceRegistry()
        let supervisor = DeviceSupervisor(
            devices: [],
            sink: sink,
            registry: registry,
            logger: Logger(label: "test.supervisor"),
            backoff: ReconnectBackoff(initial: .milliseconds(10), jitter: 0)
        )
        let simulated = try #require(Simulator.devices(interval: .milliseconds(20)).first)
        let (gate, opener) = AsyncStream<Void>.makeStream()
        var device = simulated
        device.waitUntilReachable = {
            for await _ in gate { return }
            throw CancellationError()
        }
        let task = Task { [device] in await supervisor.supervise(device) }
        try await Task.sleep(for: .milliseconds(200))
        #expect(await registry.status(id: device.identity.id)?.state == .discovered)
        #expect(sink.stored.isEmpty)
        opener.yield()
        let deadline = ContinuousClock.now + .seconds(20)
        while sink.stored.isEmpty && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(sink.stored.first?.kind == .oxygenSaturation)
        #expect(await registry.status(id: device.identity.id)?.state == .ready)
        task.cancel()
        await task.value
    }
}
