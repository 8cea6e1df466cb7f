import BoothCore
import BoothMedia
import Foundation
import Testing

/// Real GStreamer pipelines (audiotestsrc, appsrc), no mocks.
@Suite("Stethoscope pipeline (GStreamer)", .timeLimit(.minutes(2)))
struct StethoscopePipelineTests {
    /// Runs a 2 s non-live tone through the mode's filters; returns median input and filtered RMS (dBFS),
    /// skipping the first 0.4 s while the filters settle.
    func measure(mode: StethoscopeMode, frequency: Double) async throws -> (input: Double, filtered: Double) {
        let pipeline = StethoscopePipeline(
            configuration: StethoscopeConfiguration(
                source: .testTone(frequency: frequency, volume: 0.5, live: false, seconds: 2),
                sampleRate: 48000,
                channels: 1,
                mode: mode,
                levelIntervalMilliseconds: 100
            )
        )
        try await pipeline.start()
        var input: [Double] = []
        var filtered: [Double] = []
        for await event in pipeline.events {
            switch event {
            case .level(let level) where level.time > 0.45 && level.time <= 2.0:
                if level.stage == .input { input.append(level.maxRMSDB) } else { filtered.append(level.maxRMSDB) }
            case .ended:
                await pipeline.stop()
            case .failed(let error):
                Issue.record("pipeline failed: \(error)")
                await pipeline.stop()
            default:
                break
            }
        }
        #expect(input.count >= 10 && filtered.count >= 10, "levels: \(input.count) input, \(filtered.count) filtered")
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        return (median(input), median(filtered))
    }

    @Test(arguments: [
        (StethoscopeMode.bell, 100.0, true), (.bell, 40.0, true), (.bell, 1000.0, false), (.bell, 8.0, false),
        (.diaphragm, 300.0, true), (.diaphragm, 800.0, true), (.diaphragm, 30.0, false), (.diaphragm, 4000.0, false),
        (.wide, 30.0, true), (.wide, 1500.0, true), (.wide, 6000.0, false),
    ])
    func filterPassbandAndStopband(mode: StethoscopeMode, frequency: Double, passes: Bool) async throws {
        let (input, filtered) = try await measure(mode: mode, frequency: frequency)
        let gain = filtered - input
        if passes {
            #expect(abs(gain) < 1.0, "\(mode) \(frequency) Hz: \(gain) dB")
        } else {
            #expect(gain < -20, "\(mode) \(frequency) Hz: \(gain) dB")
        }
    }

    @Test func levelEventsArriveAtTheConfiguredRateWithALiveSource() async throws {
        let pipeline = StethoscopePipeline(
            configuration: StethoscopeConfiguration(
                source: .testTone(frequency: 100, volume: 0.5, live: true, seconds: nil),
                sampleRate: 48000,
                levelIntervalMilliseconds: 100
            )
        )
        try await pipeline.start()
        var times: [Double] = []
        for await event in pipeline.events {
            if case .level(let level) = event, level.stage == .input {
                times.append(level.time)
                #expect(abs(level.maxRMSDB - (-9.03)) < 0.5, "0.5 full-scale sine is -9.03 dBFS RMS")
            }
            if times.count == 16 { break }
        }
        await pipeline.stop()
        // Stream time, not wall time: a loaded machine may deliver the messages in bursts.
        let gaps = zip(times, times.dropFirst()).map { $1 - $0 }
        #expect(gaps.allSatisfy { abs($0 - 0.1) < 0.005 }, "gaps \(gaps)")
    }

    @Test func recordingDecodesBackToTheRequestedDurationAtTheDeviceRate() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("steth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pipeline = StethoscopePipeline(
            configuration: StethoscopeConfiguration(
                source: .testTone(frequency: 120, volume: 0.5, live: true, seconds: nil),
                sampleRate: 44100,
                channels: 1
            )
        )
        let info = try await pipeline.start()
        #expect(info == AudioStreamInfo(sampleRate: 44100, channels: 1))
        let path = directory.appendingPathComponent("tone.flac").path
        let recording = try await pipeline.record(seconds: 1.5, flacPath: path)
        await pipeline.stop()
        #expect(recording.frames == 66150)
        #expect(!recording.truncated)
        #expect(abs(recording.rmsDB - (-9.03)) < 0.5, "0.5 full-scale sine: -9.03 dBFS RMS; got \(recording.rmsDB)")
        let decoded = try FLACFileReader.read(path: path)
        #expect(decoded.sampleRate == 44100)
        #expect(decoded.channels == 1)
        #expect(decoded.frames == 66150)
        // Same samples, to 24-bit precision.
        let worst = zip(decoded.samples, recording.monoSamples).map { abs($0 - $1) }.max() ?? 1
        #expect(worst < 1e-5)
    }

    @Test func syntheticPhonocardiogramHeartRateSurvivesTheWholePath() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("steth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let bpm = 78.0
        let signal = SyntheticPhonocardiogram(beatsPerMinute: bpm).samples(seconds: 12.5)
        let pipeline = StethoscopePipeline(
            configuration: StethoscopeConfiguration(source: .pushed, sampleRate: 48000, channels: 1, mode: .bell)
        )
        try await pipeline.start()
        let flac = directory.appendingPathComponent("pcg.flac").path
        let png = directory.appendingPathComponent("pcg.png").path
        let job = try await pipeline.beginRecording(seconds: 12, flacPath: flac, picturePath: png)
        for start in stride(from: 0, to: signal.count, by: 480) {
            try await pipeline.push(Array(signal[start..<min(start + 480, signal.count)]))
        }
        try await pipeline.endOfStream()
        let recording = try await job.result()
        await pipeline.stop()
        #expect(recording.duration == 12)
        let estimate = try #require(recording.heartRate)
        #expect(abs(estimate.beatsPerMinute - bpm) < 1.5, "recovered \(estimate.beatsPerMinute) bpm")
        // Independently: decode the FLAC file and estimate again from its envelope.
        let decoded = try FLACFileReader.read(path: flac)
        let fromFile = try #require(
            HeartRateEstimator.estimate(samples: decoded.samples, sampleRate: decoded.sampleRate)
        )
        #expect(abs(fromFile.beatsPerMinute - bpm) < 1.5)
        let attributes = try FileManager.default.attributesOfItem(atPath: png)
        #expect((attributes[.size] as? Int ?? 0) > 5000)
        let header = try Data(contentsOf: URL(fileURLWithPath: png)).prefix(8)
        #expect(header == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        if let keep = ProcessInfo.processInfo.environment["BOOTH_KEEP_PCG"] {
            try? FileManager.default.removeItem(atPath: keep)
            try FileManager.default.copyItem(atPath: png, toPath: keep)
        }
    }

    @Test func opusBranchEncodesAtTheConfiguredBitrate() async throws {
        let pipeline = StethoscopePipeline(
            configuration: StethoscopeConfiguration(
                source: .testTone(frequency: 100, volume: 0.3, live: true, seconds: nil),
                sampleRate: 48000,
                opusBitrate: 48000
            )
        )
        try await pipeline.start()
        var packets: [OpusPacket] = []
        for await packet in pipeline.opusPackets {
            packets.append(packet)
            if packets.count == 150 { break }
        }
        await pipeline.stop()
        let measured = packets.dropFirst(50)
        let bytes = measured.reduce(0) { $0 + $1.data.count }
        let seconds = Double(measured.reduce(0) { $0 + $1.duration }) / 1e9
        let bitrate = Double(bytes * 8) / seconds
        #expect(abs(bitrate - 48000) < 48000 * 0.1, "measured \(bitrate) bit/s")
        #expect(measured.allSatisfy { $0.duration == 10_000_000 })
        let latencies = measured.compactMap(\.captureToEncodedNanoseconds)
        #expect(latencies.count == measured.count)
    }

    /// The issue's live-path check, up to the decoder: a 100 Hz tone (heart band) through the wide filter and the
    /// Opus encoder decodes at > -3 dB of its level (libopus's speech high-pass would remove it).
    @Test func hundredHertzToneSurvivesOpus() async throws {
        let pipeline = StethoscopePipeline(
            configuration: StethoscopeConfiguration(
                source: .testTone(frequency: 100, volume: 0.5, live: true, seconds: nil),
                sampleRate: 48000,
                mode: .wide
            )
        )
        try await pipeline.start()
        var packets: [OpusPacket] = []
        for await packet in pipeline.opusPackets {
            packets.append(packet)
            if packets.count == 150 { break }
        }
        await pipeline.stop()
        let decoded = try OpusPacketDecoder.decode(packets)
        #expect(decoded.sampleRate == 48000)
        // Skip the first 0.5 s (filter and codec start-up).
        let steady = decoded.samples.dropFirst(24000)
        try #require(steady.count > 24000)
        let rms = (steady.reduce(0.0) { $0 + Double($1 * $1) } / Double(steady.count)).squareRoot()
        let levelDB = 20 * log10(rms)
        #expect(levelDB > -9.03 - 3, "decoded 100 Hz at \(levelDB) dBFS, sent at -9.03 dBFS")
    }

    @Test func missingDeviceGivesAClearError() async throws {
        let pipeline = StethoscopePipeline(configuration: StethoscopeConfiguration(source: .alsa(device: "hw:97,0")))
        do {
            try await pipeline.start(timeoutSeconds: 3)
            Issue.record("start succeeded on a device that does not exist")
        } catch {
            switch error {
            case .deviceUnavailable(let device, _), .deviceBusy(let device, _):
                #expect(device == "hw:97,0")
            default:
                Issue.record("unexpected error: \(error)")
            }
        }
        await pipeline.stop()
    }

    @Test func modeSwitchesLiveAndPushRequiresAPushedSource() async throws {
        let pipeline = StethoscopePipeline(
            configuration: StethoscopeConfiguration(
                source: .testTone(frequency: 50, volume: 0.5, live: true, seconds: nil),
                sampleRate: 48000,
                mode: .bell,
                levelIntervalMilliseconds: 100
            )
        )
        try await pipeline.start()
        await #expect(throws: StethoscopeError.notPushSource) { try await pipeline.push([0]) }
        // 50 Hz is in the bell's band and 27 dB down in the diaphragm's (4-pole high-pass at 100 Hz).
        var bell: [Double] = []
        var diaphragm: [Double] = []
        var switchedAt: Double?
        for await event in pipeline.events {
            guard case .level(let level) = event, level.stage == .filtered, level.time > 0.3 else { continue }
            if let switchedAt {
                if level.time > switchedAt + 0.3 { diaphragm.append(level.maxRMSDB) }
            } else {
                bell.append(level.maxRMSDB)
                if bell.count == 3 {
                    await pipeline.setMode(.diaphragm)
                    switchedAt = level.time
                }
            }
            if diaphragm.count == 3 { break }
        }
        await pipeline.stop()
        #expect(await pipeline.currentMode == .diaphragm)
        #expect(bell.allSatisfy { abs($0 - (-9.03)) < 1 }, "bell \(bell)")
        #expect(diaphragm.allSatisfy { $0 < -9.03 - 20 }, "diaphragm \(diaphragm)")
    }
}
