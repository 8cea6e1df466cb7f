import Foundation
import Synchronization
import Testing

@testable import BoothMedia

/// Real GStreamer pipelines with videotestsrc. Serialized: they share the process-wide leak counters.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct CameraPipelineTests {
    static let small = VideoMode(width: 640, height: 360, framesPerSecond: 30)
    static let hd = VideoMode(width: 1280, height: 720, framesPerSecond: 30)

    @Test func previewAndLiveFramesFlow() async throws {
        let camera = SimulatedCamera.make(pattern: .ball, mode: Self.small)
        let previews = camera.previewFrames()
        let encoded = camera.encodedVideo()
        try await camera.start()
        let frames = try await first(8, of: previews, within: .seconds(10))
        await camera.stop()
        // The preview stream keeps only the newest frames, so a loaded machine may skip some: order is what counts.
        let sequences = frames.map(\.sequence)
        #expect(sequences.first ?? 0 >= 1)
        #expect(zip(sequences, sequences.dropFirst()).allSatisfy { $0 < $1 }, "\(sequences)")
        for frame in frames {
            #expect(frame.width == 640 && frame.height == 360)
            #expect(Array(frame.jpeg.prefix(2)) == [0xFF, 0xD8])
        }
        let decoded = try JPEGProbe.decode(frames[7].jpeg)
        #expect(decoded.width == 640 && decoded.height == 360)
        let chunks = try await first(5, of: encoded, within: .seconds(5))
        #expect(chunks.first?.isKeyframe == true)
        // Annex B start code, then an access unit delimiter, SPS or slice.
        #expect(chunks.allSatisfy { Array($0.data.prefix(3)) == [0, 0, 0] || Array($0.data.prefix(3)) == [0, 0, 1] })
    }

    /// Worst case content (random noise) at the default budget: measured over >= 5 s, under 1 Mbit/s.
    @Test func liveBitrateStaysUnderDefaultBudget() async throws {
        let camera = SimulatedCamera.make(pattern: .snow, mode: Self.hd)
        #expect(camera.configuration.maximumBitrateKbps == 1000)
        let encoded = camera.encodedVideo()
        try await camera.start()
        var chunks: [EncodedVideoChunk] = []
        let deadline = ContinuousClock.now + .seconds(25)
        for await chunk in encoded {
            chunks.append(chunk)
            if let first = chunks.first?.presentationTime, let last = chunk.presentationTime,
                last - first >= .milliseconds(6500)
            {
                break
            }
            if ContinuousClock.now > deadline { break }
        }
        await camera.stop()
        let times = chunks.compactMap(\.presentationTime)
        try #require(times.count == chunks.count && times.count > 100)
        let span = try #require(times.last) - times[0]
        try #require(span >= .seconds(5))
        // Every 5 s window (chunk-aligned) and the whole run.
        var worst = 0.0
        for start in chunks.indices {
            guard let end = chunks.indices.last(where: { times[$0] - times[start] <= .seconds(5) }),
                times[end] - times[start] >= .milliseconds(4900)
            else { continue }
            let bytes = chunks[(start + 1)...end].reduce(0) { $0 + $1.data.count }
            worst = max(worst, Double(bytes) * 8 / 1000 / (times[end] - times[start]).seconds)
        }
        let total = Double(chunks.dropFirst().reduce(0) { $0 + $1.data.count }) * 8 / 1000 / span.seconds
        print(
            "live bitrate (snow, \(chunks.first?.width ?? 0)x\(chunks.first?.height ?? 0)): overall \(Int(total)) kbit/s over \(span.seconds) s, worst 5 s window \(Int(worst)) kbit/s"
        )
        #expect(worst > 0)
        #expect(worst <= 1000)
        #expect(total <= 1000)
        // Noise saturates the encoder: it should use its budget, not idle far below it.
        #expect(total >= 400)
    }

    @Test func snapshotIsDecodableFullResolutionJPEG() async throws {
        let camera = SimulatedCamera.make(pattern: .smpte, mode: Self.hd)
        try await camera.start()
        let snapshot = try await camera.snapshot()
        let second = try await camera.snapshot()
        await camera.stop()
        #expect(snapshot.width == 1280 && snapshot.height == 720)
        #expect(Array(snapshot.jpeg.prefix(2)) == [0xFF, 0xD8])
        #expect(Array(snapshot.jpeg.suffix(2)) == [0xFF, 0xD9])
        let decoded = try JPEGProbe.decode(snapshot.jpeg)
        #expect(decoded.width == 1280 && decoded.height == 720)
        #expect(snapshot.device == "simulated:smpte")
        #expect(snapshot.latency < .seconds(3))
        #expect(second.width == 1280 && !second.jpeg.isEmpty)
    }

    @Test func snapshotWithoutPipelineIsTypedError() async {
        let camera = SimulatedCamera.make(mode: Self.small)
        await #expect(throws: CameraError.notRunning) { try await camera.snapshot() }
    }

    @Test func teardownLeavesNoElementsOrThreads() async throws {
        // Counted in a task-local tally: other suites run pipelines in this process at the same time.
        let tally = MediaTally()
        try await MediaDiagnostics.$tally.withValue(tally) {
            for _ in 0..<2 {
                let camera = SimulatedCamera.make(pattern: .ball, mode: Self.small)
                let previews = camera.previewFrames()
                try await camera.start()
                #expect(tally.elements.load(ordering: .relaxed) > 20)
                #expect(tally.threads.load(ordering: .relaxed) == 4)
                _ = try await first(3, of: previews, within: .seconds(5))
                _ = try await camera.snapshot()
                await camera.close()
            }
        }
        // GObject finalization follows the last reference; allow the releasing thread a moment.
        let deadline = ContinuousClock.now + .seconds(3)
        while tally.elements.load(ordering: .relaxed) != 0 || tally.threads.load(ordering: .relaxed) != 0,
            ContinuousClock.now < deadline
        {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(tally.elements.load(ordering: .relaxed) == 0)
        #expect(tally.threads.load(ordering: .relaxed) == 0)
    }

    @Test func sourceLossIsTypedFaultAndPipelineRestarts() async throws {
        let camera = SimulatedCamera.make(pattern: .ball, mode: Self.small)
        let events = camera.events()
        let previews = camera.previewFrames()
        try await camera.start()
        _ = try await first(2, of: previews, within: .seconds(5))
        await camera.injectSourceDisconnect()
        var fault: CameraFault?
        var restarted = false
        var seen: [CameraEvent] = []
        let deadline = ContinuousClock.now + .seconds(10)
        for await event in events {
            seen.append(event)
            if case .fault(let reported) = event, fault == nil { fault = reported }
            if case .restarted = event {
                restarted = true
                break
            }
            if ContinuousClock.now > deadline { break }
        }
        #expect(restarted, "events: \(seen)")
        guard case .streamFailed(let element, _, _, let message) = try #require(fault) else {
            Issue.record("expected a stream failure, got \(String(describing: fault))")
            return
        }
        #expect(element == "source")
        #expect(message.contains("not-linked"))
        // Frames flow again after the restart.
        let before = try await first(1, of: previews, within: .seconds(5))
        #expect(!before.isEmpty)
        #expect(await camera.isRunning)
        await camera.stop()
    }

    @Test func missingDeviceFailsStartWithTypedError() async {
        let camera = CameraPipeline(
            configuration: CameraConfiguration(
                source: .v4l2(device: "/dev/video-absent", format: .mjpeg, mode: Self.small)
            )
        )
        do {
            try await camera.start()
            Issue.record("start should fail")
            await camera.stop()
        } catch {
            guard case .startFailed(.sourceUnavailable(let element, let message)) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(element == "source")
            #expect(message.contains("/dev/video-absent"))
        }
        #expect(await camera.isRunning == false)
    }

    @Test func bandwidthChangeRenegotiatesLiveStream() async throws {
        let camera = SimulatedCamera.make(pattern: .ball, mode: Self.hd)
        let events = camera.events()
        let encoded = camera.encodedVideo()
        try await camera.start()
        let initial = try await first(3, of: encoded, within: .seconds(5))
        #expect(initial.allSatisfy { $0.width == 960 && $0.height == 540 })
        try await camera.setAvailableBandwidth(kbps: 400)
        #expect(await camera.rung.mode == VideoMode(width: 640, height: 360, framesPerSecond: 15))
        #expect(await camera.encoderTargetKbps == 320)
        var adapted: EncodedVideoChunk?
        let deadline = ContinuousClock.now + .seconds(5)
        for await chunk in encoded where ContinuousClock.now < deadline || adapted != nil {
            if chunk.width == 640 && chunk.height == 360 {
                adapted = chunk
                break
            }
            if ContinuousClock.now > deadline { break }
        }
        await camera.stop()
        #expect(adapted?.isKeyframe == true)
        var sawRung = false
        for await event in events {
            if case .rungChanged(let rung) = event { sawRung = rung.mode.width == 640 }
            if case .stopped = event { break }
        }
        #expect(sawRung)
        await #expect(throws: CameraError.self) { try await camera.setAvailableBandwidth(kbps: 0) }
    }
}

struct Timeout: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

/// The first `count` elements of a stream, or a Timeout error.
func first<T: Sendable>(_ count: Int, of stream: AsyncStream<T>, within limit: Duration) async throws -> [T] {
    try await withThrowingTaskGroup(of: [T]?.self) { group in
        group.addTask {
            var values: [T] = []
            for await value in stream {
                values.append(value)
                if values.count == count { break }
            }
            return values
        }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let values = try await group.next() ?? nil, values.count == count else {
            throw Timeout(what: "\(count) \(T.self)")
        }
        return values
    }
}
