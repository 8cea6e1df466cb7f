import BoothCore
import Foundation
import Synchronization
import Testing

@testable import BoothMedia

/// The on-demand camera with a real videotestsrc pipeline: it runs only while leased, stops (every element and
/// thread released) the idle delay after the last lease, restarts for the next, and users share one pipeline.
/// Elements and threads are counted in a task-local tally (other suites run pipelines at the same time).
@Suite(.serialized, .timeLimit(.minutes(1)))
struct CameraOnDemandTests {
    static let small = VideoMode(width: 640, height: 360, framesPerSecond: 30)
    static let delay = Duration.milliseconds(600)

    @Test func pipelineRunsOnlyWhileLeasedAndLeasesShareIt() async throws {
        let tally = MediaTally()
        try await MediaDiagnostics.$tally.withValue(tally) {
            let camera = SimulatedCamera.make(pattern: .ball, mode: Self.small, idleStopDelay: Self.delay)
            let events = camera.events()
            // start() checks the camera streams, then lets it go idle: available, nothing running.
            try await camera.start()
            #expect(await camera.isRunning)
            let oneElements = tally.elements.load(ordering: .relaxed)
            let oneThreads = tally.threads.load(ordering: .relaxed)
            #expect(oneElements > 20)
            #expect(oneThreads == 4)
            try await Self.waitReleased(camera, tally)
            #expect(await camera.isAvailable)

            // Two users: one pipeline (same element and thread count as one user).
            let first = camera.acquire("first")
            try await Self.waitRunning(camera)
            let second = camera.acquire("second")
            try await Task.sleep(for: .milliseconds(100))
            #expect(camera.leaseHolders == ["first", "second"])
            #expect(tally.elements.load(ordering: .relaxed) == oneElements)
            #expect(tally.threads.load(ordering: .relaxed) == oneThreads)
            // The first leaves: the second keeps it running well past the delay.
            first.release()
            try await Task.sleep(for: Self.delay * 2)
            #expect(await camera.isRunning)
            #expect(tally.threads.load(ordering: .relaxed) == oneThreads)
            // The last leaves: it stops after the delay, not before.
            let released = ContinuousClock.now
            second.release()
            try await Task.sleep(for: Self.delay / 2)
            #expect(await camera.isRunning)
            try await Self.waitReleased(camera, tally)
            let stoppedAfter = ContinuousClock.now - released
            #expect(stoppedAfter >= Self.delay)
            print("on-demand camera: stopped \(stoppedAfter) after the last lease (delay \(Self.delay))")

            // A stream subscriber is a lease: the preview starts it, and ending the stream lets it stop.
            let consumer = Task {
                var frames = 0
                for await _ in camera.previewFrames() { frames += 1 }
                return frames
            }
            try await Self.waitRunning(camera)
            try await Task.sleep(for: .milliseconds(300))
            #expect(camera.leaseHolders == ["preview"])
            consumer.cancel()
            #expect(await consumer.value > 0)
            try await Self.waitReleased(camera, tally)
            #expect(camera.leaseHolders.isEmpty)

            await camera.close()
            var started = 0
            var idled = 0
            for await event in events {
                if case .started = event { started += 1 }
                if case .idle = event { idled += 1 }
            }
            // start(), the two leases, the preview.
            #expect(started == 3)
            #expect(idled == 3)
        }
    }

    /// An idle camera still takes a full-resolution snapshot (started for it, stopped after); a snapshot while
    /// it runs shares the running pipeline. Prints both latencies.
    @Test func snapshotStartsAnIdleCameraAndLetsItStopAgain() async throws {
        let tally = MediaTally()
        try await MediaDiagnostics.$tally.withValue(tally) {
            let camera = SimulatedCamera.make(
                pattern: .smpte,
                mode: SimulatedCamera.defaultMode,
                idleStopDelay: Self.delay
            )
            await #expect(throws: CameraError.notRunning) { try await camera.snapshot() }
            try await camera.start()
            try await Self.waitReleased(camera, tally)
            let cold = try await camera.snapshot()
            #expect(cold.width == 1280 && cold.height == 720)
            #expect(try JPEGProbe.decode(cold.jpeg).width == 1280)
            try await Self.waitReleased(camera, tally)
            let lease = camera.acquire("live view")
            try await Self.waitRunning(camera)
            try await Task.sleep(for: .milliseconds(200))
            let warm = try await camera.snapshot()
            #expect(warm.width == 1280 && !warm.jpeg.isEmpty)
            #expect(await camera.isRunning)
            lease.release()
            try await Self.waitReleased(camera, tally)
            print("snapshot latency: cold (idle camera) \(cold.latency), warm (running) \(warm.latency)")
            await camera.close()
        }
    }

    /// A fault while someone uses the camera restarts it; a fault in the idle delay (nobody uses it) does not:
    /// the next lease starts it.
    @Test func faultRecoversOnlyWhileLeased() async throws {
        let tally = MediaTally()
        try await MediaDiagnostics.$tally.withValue(tally) {
            let camera = SimulatedCamera.make(pattern: .ball, mode: Self.small, idleStopDelay: .seconds(3))
            let events = camera.events()
            try await camera.start()
            let lease = camera.acquire("live view")
            await camera.injectSourceDisconnect()
            var restarted = false
            for await event in events {
                if case .restarted = event {
                    restarted = true
                    break
                }
            }
            #expect(restarted)
            #expect(await camera.isRunning)
            lease.release()
            try await Task.sleep(for: .milliseconds(100))
            await camera.injectSourceDisconnect()
            // The fault tears it down; no restart while unused, and it stays available.
            try await Self.waitReleased(camera, tally)
            try await Task.sleep(for: .seconds(1))
            #expect(await !camera.isRunning)
            #expect(await camera.isAvailable)
            let again = camera.acquire("preview")
            try await Self.waitRunning(camera)
            again.release()
            await camera.close()
        }
    }

    static func waitRunning(_ camera: CameraPipeline) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while await !camera.isRunning {
            guard ContinuousClock.now < deadline else { throw Timeout(what: "the camera to run") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Waits until the pipeline stopped and every element and thread it had is gone.
    static func waitReleased(_ camera: CameraPipeline, _ tally: MediaTally) async throws {
        let deadline = ContinuousClock.now + delay + .seconds(5)
        while await camera.isRunning || tally.elements.load(ordering: .relaxed) != 0
            || tally.threads.load(ordering: .relaxed) != 0
        {
            guard ContinuousClock.now < deadline else {
                throw Timeout(
                    what:
                        "release (running \(await camera.isRunning), elements \(tally.elements.load(ordering: .relaxed)), threads \(tally.threads.load(ordering: .relaxed)))"
                )
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// boothd's simulated camera does not run at start (`launchesAtStart: false`): `start()` only asks the registry for
/// its elements, so an idle booth holds no pipeline; the first lease runs it.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct CameraStartCheckTests {
    @Test func simulatedCameraStartsWithoutRunningAndRunsAtItsFirstLease() async throws {
        let tally = MediaTally()
        try await MediaDiagnostics.$tally.withValue(tally) {
            let camera = SimulatedCamera.make(
                pattern: .ball,
                mode: CameraOnDemandTests.small,
                idleStopDelay: CameraOnDemandTests.delay,
                launchesAtStart: false
            )
            let events = camera.events()
            try await camera.start()
            #expect(await camera.isAvailable)
            #expect(await !camera.isRunning)
            #expect(tally.elements.load(ordering: .relaxed) == 0)
            #expect(tally.threads.load(ordering: .relaxed) == 0)
            let snapshot = try await camera.snapshot()
            #expect(snapshot.width == 640 && !snapshot.jpeg.isEmpty)
            try await CameraOnDemandTests.waitReleased(camera, tally)
            await camera.close()
            var started = 0
            for await event in events {
                if case .started = event { started += 1 }
            }
            // Only the snapshot ran it.
            #expect(started == 1)
        }
    }

    /// The element check lists exactly what the pipeline builds, and names a missing element's package.
    @Test func elementCheckMatchesThePipelineAndNamesWhatIsMissing() throws {
        let configuration = SimulatedCamera.configuration(pattern: .ball, mode: CameraOnDemandTests.small)
        let graph = try PipelineGraph(
            configuration: configuration,
            rung: configuration.ladder.rung(budgetKbps: 1000, source: configuration.source.mode),
            encoderKbps: 900
        )
        #expect(graph.factories == (try PipelineGraph.factories(for: configuration)))
        try PipelineGraph.checkElements(configuration)
        var raw = configuration
        raw.source = .v4l2(device: "/dev/video-none", format: .raw, mode: CameraOnDemandTests.small)
        #expect(try PipelineGraph.factories(for: raw).prefix(2) == ["v4l2src", "capsfilter"])
        // No NVENC here: the explicit choice fails the check the way it fails a launch.
        var nvenc = configuration
        nvenc.encoder = .nvenc
        #expect(throws: CameraError.self) { try PipelineGraph.checkElements(nvenc) }
    }
}
