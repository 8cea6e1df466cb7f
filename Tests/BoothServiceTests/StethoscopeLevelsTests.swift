import BoothCore
import BoothMedia
import Foundation
import Logging
import Synchronization
import Testing

@testable import BoothService

/// audiotestsrc at a known volume, live, through the real stethoscope pipeline.
struct ToneSource: StethoscopeCaptureSource {
    var frequency: Double = 100
    var volume: Double
    var defaultMode: StethoscopeMode { .bell }

    func open(mode: StethoscopeMode) async throws(StethoscopeError) -> StethoscopeCapture {
        let pipeline = StethoscopePipeline(
            configuration: StethoscopeConfiguration(
                source: .testTone(frequency: frequency, volume: volume, live: true, seconds: nil),
                sampleRate: 48000,
                channels: 1,
                mode: mode,
                levelIntervalMilliseconds: 100
            )
        )
        let info = try await pipeline.start()
        return StethoscopeCapture(pipeline: pipeline, info: info) { await pipeline.stop() }
    }
}

/// A source whose signal the test switches while it runs: a sine, a full-scale square, or digital silence, pushed
/// in real time (50 ms blocks) into the real pipeline.
final class ScriptedSource: StethoscopeCaptureSource {
    enum Signal {
        case sine(amplitude: Float)
        case square, silence
    }
    let signal = Mutex<Signal>(.sine(amplitude: 0.5))
    let opened = Atomic<Int>(0)
    var defaultMode: StethoscopeMode { .wide }

    func set(_ next: Signal) { signal.withLock { $0 = next } }

    func open(mode: StethoscopeMode) async throws(StethoscopeError) -> StethoscopeCapture {
        opened.add(1, ordering: .relaxed)
        let pipeline = StethoscopePipeline(
            configuration: StethoscopeConfiguration(
                source: .pushed,
                sampleRate: 16000,
                channels: 1,
                mode: mode,
                levelIntervalMilliseconds: 100
            )
        )
        let info = try await pipeline.start()
        let feeder = Task { [self] in
            var position = 0
            let clock = ContinuousClock()
            var next = clock.now
            while !Task.isCancelled {
                let current = self.signal.withLock { $0 }
                let block = (0..<800).map { index -> Float in
                    let time = Double(position + index) / 16000
                    switch current {
                    case .sine(let amplitude): return amplitude * Float(sin(2 * Double.pi * 100 * time))
                    // 100 Hz square at full scale: every sample is ±1.0 (0 dBFS peak).
                    case .square: return (position + index) / 80 % 2 == 0 ? 1 : -1
                    case .silence: return 0
                    }
                }
                position += 800
                do { try await pipeline.push(block) } catch { return }
                next += .milliseconds(50)
                try? await clock.sleep(until: next)
            }
        }
        return StethoscopeCapture(pipeline: pipeline, info: info) {
            feeder.cancel()
            _ = await feeder.value
            await pipeline.stop()
        }
    }
}

@Suite("Stethoscope level meter", .serialized)
struct StethoscopeLevelsTests {
    static let fast: SignalMonitor.Thresholds = {
        var thresholds = SignalMonitor.Thresholds()
        thresholds.noSignalSeconds = 0.5
        thresholds.clipHoldSeconds = 0.3
        return thresholds
    }()

    static func ready(_ registry: DeviceRegistry, _ id: String) async {
        await registry.update(
            DeviceStatus(id: id, role: .stethoscope, transport: "simulated", state: .ready, lastSeenMicros: 0)
        )
    }

    /// Readings until `count` match or `seconds` pass.
    static func collect(
        _ readings: AsyncStream<StethoscopeLevelReading>,
        count: Int,
        seconds: Double = 5,
        where predicate: @escaping @Sendable (StethoscopeLevelReading) -> Bool = { _ in true }
    ) async -> [StethoscopeLevelReading] {
        await withTaskGroup(of: [StethoscopeLevelReading].self) { group in
            group.addTask {
                var found: [StethoscopeLevelReading] = []
                for await reading in readings where predicate(reading) {
                    found.append(reading)
                    if found.count >= count { break }
                }
                return found
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(seconds))
                return []
            }
            let first = await group.next() ?? []
            group.cancelAll()
            return first
        }
    }

    /// Waits until the registry's warning for `id` satisfies `predicate`.
    static func waitForWarning(
        _ registry: DeviceRegistry,
        _ id: String,
        seconds: Double = 5,
        _ predicate: (String?) -> Bool
    ) async -> String?? {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            let warning = await registry.status(id: id)?.warning
            if predicate(warning) { return .some(warning) }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    @Test(
        "a 0.5 full-scale audiotestsrc tone reads -9.03 dBFS RMS and -6.02 dBFS peak; the capture closes with the last listener"
    )
    func toneLevels() async throws {
        let registry = DeviceRegistry()
        await Self.ready(registry, "tone")
        let levels = StethoscopeLevels(registry: registry)
        await levels.register(deviceID: "tone", source: ToneSource(volume: 0.5))
        let subscription = try await levels.subscribe(deviceID: "tone")
        #expect(subscription.mode == .bell)
        #expect(await levels.hasOwnCapture(deviceID: "tone"))
        // Skip the first intervals (the level element's first window may be partial).
        let input = await Self.collect(subscription.readings, count: 6) {
            $0.level.stage == .input && $0.level.time > 0.25
        }
        #expect(input.count == 6)
        for reading in input {
            #expect(abs(reading.level.maxRMSDB - -9.03) < 0.3, "rms \(reading.level.rmsDB)")
            #expect(abs(reading.level.maxPeakDB - -6.02) < 0.3, "peak \(reading.level.peakDB)")
            #expect(reading.condition == .ok && reading.source == "monitor" && reading.mode == .bell)
        }
        #expect(await registry.status(id: "tone")?.warning == nil)
        // A second listener shares the capture; the last one to leave closes it.
        let second = try await levels.subscribe(deviceID: "tone")
        #expect(await levels.listenerCount(deviceID: "tone") == 2)
        await levels.unsubscribe(deviceID: "tone", key: subscription.key)
        #expect(await levels.hasOwnCapture(deviceID: "tone"))
        await levels.unsubscribe(deviceID: "tone", key: second.key)
        #expect(await !levels.hasOwnCapture(deviceID: "tone"))
    }

    @Test("audiotestsrc silence is no-signal: a device warning, cleared when nobody listens any more")
    func silenceIsNoSignal() async throws {
        let registry = DeviceRegistry()
        await Self.ready(registry, "quiet")
        let levels = StethoscopeLevels(registry: registry, thresholds: Self.fast)
        await levels.register(deviceID: "quiet", source: ToneSource(volume: 0))
        let subscription = try await levels.subscribe(deviceID: "quiet")
        let silent = await Self.collect(subscription.readings, count: 1) { $0.condition == .noSignal }
        #expect(silent.first?.level.maxRMSDB == AudioLevel.floorDB)
        let warning = await Self.waitForWarning(registry, "quiet") { $0 != nil }
        #expect(warning??.hasPrefix("stethoscope no signal") == true)
        await levels.unsubscribe(deviceID: "quiet", key: subscription.key)
        #expect(await registry.status(id: "quiet")?.warning == nil)
    }

    @Test("a full-scale square is clipping; silence then no-signal; a normal sound clears the warning")
    func warningsSetAndCleared() async throws {
        let registry = DeviceRegistry()
        await Self.ready(registry, "scripted")
        let levels = StethoscopeLevels(registry: registry, thresholds: Self.fast)
        let source = ScriptedSource()
        await levels.register(deviceID: "scripted", source: source)
        let subscription = try await levels.subscribe(deviceID: "scripted")
        let fine = await Self.collect(subscription.readings, count: 3) { $0.level.stage == .input }
        #expect(fine.count == 3 && fine.allSatisfy { $0.condition == .ok })
        #expect(await registry.status(id: "scripted")?.warning == nil)

        source.set(.square)
        let clipped = await Self.collect(subscription.readings, count: 1) { $0.condition == .clipping }
        #expect(clipped.first.map { $0.level.maxPeakDB >= -0.1 } == true)
        let clipping = await Self.waitForWarning(registry, "scripted") { $0?.hasPrefix("stethoscope clipping") == true }
        #expect(clipping != nil)

        source.set(.silence)
        let noSignal = await Self.waitForWarning(registry, "scripted") {
            $0?.hasPrefix("stethoscope no signal") == true
        }
        #expect(noSignal != nil)

        source.set(.sine(amplitude: 0.1))
        let cleared = await Self.waitForWarning(registry, "scripted") { $0 == nil }
        #expect(cleared != nil, "the warning is cleared once the signal is fine again")
        // Another component's warning is never cleared by the meter.
        var status = try #require(await registry.status(id: "scripted"))
        status.warning = "battery low"
        await registry.update(status)
        await levels.unsubscribe(deviceID: "scripted", key: subscription.key)
        #expect(await registry.status(id: "scripted")?.warning == "battery low")
    }

    @Test("stethoscope.mode: typed errors, the mode in force, applied to the meter's capture and to the live audio")
    func modes() async throws {
        let registry = DeviceRegistry()
        await Self.ready(registry, "scripted")
        let levels = StethoscopeLevels(registry: registry)
        let source = ScriptedSource()
        await levels.register(deviceID: "scripted", source: source)
        await #expect(throws: DeviceCommandError.self) { try await levels.setMode(deviceID: "nope", mode: "bell") }
        do {
            _ = try await levels.setMode(deviceID: "scripted", mode: "loud")
            Issue.record("an unknown mode must fail")
        } catch {
            #expect(error.code == "invalid_argument" && error.message.contains("bell, diaphragm, wide"))
        }
        do {
            _ = try await levels.subscribe(deviceID: "nope")
            Issue.record("an unknown device must fail")
        } catch {
            #expect(error.code == "unknown_device")
        }
        let subscription = try await levels.subscribe(deviceID: "scripted")
        #expect(subscription.mode == .wide)
        let set = try await levels.setMode(deviceID: "scripted", mode: "diaphragm")
        #expect(set.mode == .diaphragm && !set.live)
        let after = await Self.collect(subscription.readings, count: 2) { $0.mode == .diaphragm }
        #expect(after.count == 2)
        await levels.unsubscribe(deviceID: "scripted", key: subscription.key)

        let live = StethoscopeLiveSource(
            configuration: StethoscopeConfiguration(
                source: .testTone(frequency: 100, volume: 0.5, live: true, seconds: nil),
                sampleRate: 48000,
                channels: 1,
                mode: .bell
            )
        )
        await levels.setLiveSource(live, deviceID: "scripted")
        let before = try await levels.setMode(deviceID: "scripted", mode: "wide")
        let modeBefore = await live.currentMode
        #expect(!before.live && modeBefore == .wide)
        _ = try await live.startLive()
        let running = try await levels.setMode(deviceID: "scripted", mode: "bell")
        let modeRunning = await live.currentMode
        #expect(running.live && modeRunning == .bell)
        await live.stopLive()
    }

    @Test("while the live WebRTC audio runs, levels come from its pipeline; the meter's capture resumes after it")
    func liveAudioHandOver() async throws {
        let registry = DeviceRegistry()
        await Self.ready(registry, "steth")
        let levels = StethoscopeLevels(registry: registry)
        let source = ScriptedSource()
        await levels.register(deviceID: "steth", source: source)
        let live = StethoscopeLiveSource(
            configuration: StethoscopeConfiguration(
                source: .testTone(frequency: 100, volume: 0.5, live: true, seconds: nil),
                sampleRate: 48000,
                channels: 1,
                mode: .bell
            )
        )
        await levels.setLiveSource(live, deviceID: "steth")
        let subscription = try await levels.subscribe(deviceID: "steth")
        #expect(await Self.collect(subscription.readings, count: 2) { $0.source == "monitor" }.count == 2)
        _ = try await live.startLive()
        #expect(await !levels.hasOwnCapture(deviceID: "steth"))
        // The live tone is audiotestsrc at 0.5 full scale: -9.03 dBFS RMS at the input.
        let fromLive = await Self.collect(subscription.readings, count: 3) {
            $0.source == "live" && $0.level.stage == .input && $0.level.time > 0.25
        }
        #expect(fromLive.count == 3 && fromLive.allSatisfy { abs($0.level.maxRMSDB - -9.03) < 0.3 })
        // The doctor's mode reaches the live pipeline (its readings say so).
        let set = try await levels.setMode(deviceID: "steth", mode: "diaphragm")
        #expect(set.live)
        #expect(
            await Self.collect(subscription.readings, count: 1) { $0.source == "live" && $0.mode == .diaphragm }.count
                == 1
        )
        await live.stopLive()
        #expect(await Self.collect(subscription.readings, count: 2) { $0.source == "monitor" }.count == 2)
        #expect(source.opened.load(ordering: .relaxed) == 2)
        await levels.unsubscribe(deviceID: "steth", key: subscription.key)
    }

    @Test("a listener that does not read keeps only its newest readings (bounded memory)")
    func slowListenerIsBounded() async throws {
        let registry = DeviceRegistry()
        await Self.ready(registry, "tone")
        let levels = StethoscopeLevels(registry: registry)
        await levels.register(deviceID: "tone", source: ToneSource(volume: 0.5))
        let subscription = try await levels.subscribe(deviceID: "tone", buffer: 4)
        // 1.5 s unread: about 30 readings (two stages every 100 ms) were published, 4 are kept.
        try await Task.sleep(for: .milliseconds(1500))
        var iterator = subscription.readings.makeAsyncIterator()
        var kept: [StethoscopeLevelReading] = []
        for _ in 0..<4 { if let reading = await iterator.next() { kept.append(reading) } }
        #expect(kept.count == 4)
        #expect(kept.allSatisfy { $0.level.time > 0.9 }, "oldest dropped: \(kept.map(\.level.time))")
        await levels.unsubscribe(deviceID: "tone", key: subscription.key)
    }

    @Test("two listeners subscribing at once share one capture")
    func concurrentSubscribersOpenOnce() async throws {
        let registry = DeviceRegistry()
        let levels = StethoscopeLevels(registry: registry)
        let source = ScriptedSource()
        await levels.register(deviceID: "steth", source: source)
        async let first = levels.subscribe(deviceID: "steth")
        async let second = levels.subscribe(deviceID: "steth")
        let (one, two) = try await (first, second)
        #expect(await Self.collect(two.readings, count: 2).count == 2)
        #expect(await Self.collect(one.readings, count: 2).count == 2)
        #expect(source.opened.load(ordering: .relaxed) == 1)
        await levels.unsubscribe(deviceID: "steth", key: one.key)
        await levels.unsubscribe(deviceID: "steth", key: two.key)
        #expect(await !levels.hasOwnCapture(deviceID: "steth"))
    }

    @Test("a recording takes the device over: levels follow its pipeline, then the meter's capture again")
    func recordingHandOver() async throws {
        try await MediaTestbed.withMedia { media, _, _, _ in
            let source = ScriptedSource()
            await media.register(
                stethoscope: StethoscopeEndpoint(
                    deviceID: "steth",
                    model: "test",
                    transport: "simulated",
                    source: source
                )
            )
            let subscription = try await media.levels.subscribe(deviceID: "steth")
            #expect(await Self.collect(subscription.readings, count: 2) { $0.source == "monitor" }.count == 2)
            _ = try await media.perform(
                DeviceCommand(name: "measurement.start", deviceID: "steth", arguments: ["seconds": "1"])
            )
            #expect(await Self.collect(subscription.readings, count: 2) { $0.source == "recording" }.count == 2)
            #expect(await Self.collect(subscription.readings, count: 2) { $0.source == "monitor" }.count == 2)
            // Meter, recording, meter again: three opens, never two at once.
            #expect(source.opened.load(ordering: .relaxed) == 3)
            // Unplugged: the listener's stream ends.
            await media.unregister(deviceID: "steth")
            #expect(await Self.collect(subscription.readings, count: 1, seconds: 2).isEmpty)
            #expect(await !media.levels.hasOwnCapture(deviceID: "steth"))
        }
    }
}
