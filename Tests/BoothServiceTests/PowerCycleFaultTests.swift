import BoothCore
import Foundation
import Logging
import Synchronization
import Testing

@testable import BoothService

/// Fault suite: devices power-cycled 500 times each through the real DeviceSupervisor, drivers and decoders.
/// Every link object, notification stream and emitter task is counted while alive; the process's fds, threads and
/// RSS are read from /proc before (after a warm-up) and after. All must come back flat: a reconnect that leaks one
/// stream, task or descriptor would show as 500 leftovers here. Run alone: scripts/faults/power-cycle.sh.
@Suite(.timeLimit(.minutes(3)))
struct PowerCycleFaultTests {
    static let cycles = 500

    @Test func fiveHundredPowerCyclesLeaveNothingBehind() async throws {
        let counters = LiveCounters()
        let sink = CountingSink()
        let registry = DeviceRegistry()
        let watcher = Task {
            // A registry subscriber stays attached the whole time, like the session API's device list.
            var changes = 0
            for await _ in await registry.changes() { changes += 1 }
            return changes
        }
        let devices = PowerCycledDevice.all(counters: counters)
        let supervisor = DeviceSupervisor(
            devices: devices.map(\.managed),
            sink: sink,
            registry: registry,
            logger: Logger(label: "test.power-cycle", factory: { _ in SwiftLogNoOpLogHandler() }),
            backoff: ReconnectBackoff(initial: .milliseconds(1), maximum: .milliseconds(1), jitter: 0)
        )
        let task = Task { await supervisor.runDevices() }

        // Warm-up: every device through 50 cycles, then the baseline.
        try await waitUntil { devices.allSatisfy { $0.connects >= 50 } }
        let before = ProcessFigures.now()
        try await waitUntil(seconds: 150) { devices.allSatisfy { $0.connects >= Self.cycles } }
        // Let the last links end; then everything counted must be back to at most one per device.
        try await Task.sleep(for: .milliseconds(200))
        let after = ProcessFigures.now()
        task.cancel()
        await task.value
        try await waitUntil { counters.links == 0 && counters.streams == 0 && counters.emitters == 0 }
        watcher.cancel()

        let emitted = devices.reduce(0) { $0 + $1.emitted }
        let stored = sink.count
        print(
            """
            power-cycle fault: \(devices.count) devices x \(Self.cycles) cycles (\(devices.map(\.connects)) connects, \
            \(devices.map(\.refused)) refused while off); \(emitted) notifications, \(stored) stored; \
            fds \(before.fds) -> \(after.fds), threads \(before.threads) -> \(after.threads), \
            RSS \(before.rssKiB / 1024) -> \(after.rssKiB / 1024) MiB; after cancel: links \(counters.links), \
            streams \(counters.streams), emitter tasks \(counters.emitters); peak links \(counters.peakLinks)
            """
        )
        // fds, threads and RSS are the whole process's: they say something only when this test runs alone
        // (scripts/faults/power-cycle.sh sets BOOTH_FAULT_ALONE=1); in the full parallel `swift test` other
        // suites open pipelines and sockets meanwhile. The counters below are this test's own and always checked.
        if ProcessInfo.processInfo.environment["BOOTH_FAULT_ALONE"] == "1" {
            #expect(after.fds <= before.fds)
            #expect(after.threads <= before.threads + 2)
            // 1,500 leaked tasks or streams would be several MiB; allocator noise stays well under 4 MiB.
            #expect(after.rssKiB - before.rssKiB < 4096)
        }
        // One link at a time per device, even mid-cycle; nothing left after cancellation.
        #expect(counters.peakLinks <= devices.count)
        #expect(counters.links == 0 && counters.streams == 0 && counters.emitters == 0)
        // Nothing measured is lost: a notification that reached the driver is stored (the last one may be in
        // flight when the supervisor is cancelled).
        #expect(stored >= emitted - devices.count && stored <= emitted)
        #expect(sink.duplicates == 0)
        let statuses = await registry.snapshot()
        #expect(statuses.count == devices.count)
    }

    private func waitUntil(seconds: Int = 60, _ condition: @Sendable () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("condition not met in \(seconds) s")
                return
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}

/// /proc figures of this test process.
struct ProcessFigures {
    var fds: Int
    var threads: Int
    var rssKiB: Int

    static func now() -> ProcessFigures {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? -1
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let rss =
            status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
            .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") } ?? -1
        return ProcessFigures(fds: fds, threads: threads, rssKiB: rss)
    }
}

/// How many links, notification streams and emitter tasks are alive right now (and the most links at once).
final class LiveCounters: Sendable {
    private let state = Mutex((links: 0, streams: 0, emitters: 0, peakLinks: 0))

    func link(_ delta: Int) {
        state.withLock {
            $0.links += delta
            $0.peakLinks = max($0.peakLinks, $0.links)
        }
    }
    func stream(_ delta: Int) { state.withLock { $0.streams += delta } }
    func emitter(_ delta: Int) { state.withLock { $0.emitters += delta } }
    var links: Int { state.withLock { $0.links } }
    var streams: Int { state.withLock { $0.streams } }
    var emitters: Int { state.withLock { $0.emitters } }
    var peakLinks: Int { state.withLock { $0.peakLinks } }
}

/// Counts stored measurements and any id stored twice.
final class CountingSink: MeasurementSink {
    private let state = Mutex((ids: Set<String>(), duplicates: 0))

    func record(_ measurement: BoothCore.Measurement) async throws {
        state.withLock {
            if !$0.ids.insert(measurement.id).inserted { $0.duplicates += 1 }
        }
    }
    var count: Int { state.withLock { $0.ids.count } }
    var duplicates: Int { state.withLock { $0.duplicates } }
}

/// A simulated device that is switched off and on again: every seventh connect attempt is refused (device off);
/// a link sends one to three readings and then ends, cleanly (powered off) or with an error (out of range).
final class PowerCycledDevice: Sendable {
    let managed: ManagedDevice
    private let tally: Tally

    /// Connects, refusals and readings emitted, shared with the connect closure.
    final class Tally: Sendable {
        let state = Mutex((connects: 0, refused: 0, emitted: 0))
        /// One real reading from the simulated device (its first notification), replayed on every link.
        let sample = Mutex<[UInt8]?>(nil)
    }

    var connects: Int { tally.state.withLock { $0.connects } }
    var refused: Int { tally.state.withLock { $0.refused } }
    var emitted: Int { tally.state.withLock { $0.emitted } }

    private init(simulated: ManagedDevice, counters: LiveCounters) {
        let tally = Tally()
        self.tally = tally
        var managed = simulated
        let inner = simulated.connect
        let measurement = simulated.driver.measurement
        managed.connect = {
            let attempt = tally.state.withLock { state -> Int in
                state.connects += 1
                return state.connects
            }
            if attempt % 7 == 3 {
                tally.state.withLock { $0.refused += 1 }
                throw SimulatedLinkError.notNotifiable(measurement)
            }
            let link = try await inner()
            var sample = tally.sample.withLock { $0 }
            if sample == nil {
                for try await value in try await link.notifications(measurement) {
                    sample = value
                    break
                }
                tally.sample.withLock { $0 = sample }
            }
            return CyclingLink(
                inner: link,
                sample: sample ?? [],
                measurement: measurement,
                readings: 1 + attempt % 3,
                failAtEnd: attempt % 2 == 0,
                counters: counters,
                onEmit: { tally.state.withLock { $0.emitted += 1 } }
            )
        }
        self.managed = managed
    }

    static func all(counters: LiveCounters) -> [PowerCycledDevice] {
        Simulator.devices(interval: .milliseconds(1)).map { PowerCycledDevice(simulated: $0, counters: counters) }
    }
}

struct PowerCycleEnd: Error {}

/// One connection to a power-cycled device: the real simulated GATT reads, and a notification stream that
/// yields `readings` copies of a real encoded value, 1 ms apart, and then ends.
final class CyclingLink: GATTLink {
    private let inner: any GATTLink
    private let sample: [UInt8]
    private let measurement: GATTUUID
    private let readings: Int
    private let failAtEnd: Bool
    private let counters: LiveCounters
    private let onEmit: @Sendable () -> Void

    init(
        inner: any GATTLink,
        sample: [UInt8],
        measurement: GATTUUID,
        readings: Int,
        failAtEnd: Bool,
        counters: LiveCounters,
        onEmit: @escaping @Sendable () -> Void
    ) {
        self.inner = inner
        self.sample = sample
        self.measurement = measurement
        self.readings = readings
        self.failAtEnd = failAtEnd
        self.counters = counters
        self.onEmit = onEmit
        counters.link(1)
    }

    deinit { counters.link(-1) }

    func read(_ characteristic: GATTUUID) async throws -> [UInt8] { try await inner.read(characteristic) }

    func write(_ characteristic: GATTUUID, _ value: [UInt8], withResponse: Bool) async throws {
        try await inner.write(characteristic, value, withResponse: withResponse)
    }

    func notifications(_ characteristic: GATTUUID) async throws -> AsyncThrowingStream<[UInt8], any Error> {
        guard characteristic == measurement else { return try await inner.notifications(characteristic) }
        let (sample, readings, failAtEnd, counters, onEmit) = (sample, readings, failAtEnd, counters, onEmit)
        counters.stream(1)
        return AsyncThrowingStream { continuation in
            counters.emitter(1)
            let task = Task {
                defer { counters.emitter(-1) }
                for _ in 0..<readings {
                    do {
                        try await Task.sleep(for: .milliseconds(1))
                    } catch {
                        break
                    }
                    onEmit()
                    continuation.yield(sample)
                }
                continuation.finish(throwing: failAtEnd ? PowerCycleEnd() : nil)
            }
            continuation.onTermination = { _ in
                task.cancel()
                counters.stream(-1)
            }
        }
    }
}
