import BoothCore
import Foundation
import Synchronization
import Testing

@testable import BoothMedia

/// webrtcbin peers on real pipelines (offer, candidates, teardown) and the bandwidth manager. The media path to a
/// real receiver is checked in headless Chromium (scripts/test.d/44-webrtc-chromium.sh).
///
/// Nested in `CameraPipelineTests` (serialized): these tests run camera pipelines too, and the camera suite's leak
/// check counts every live GStreamer element in the process, so the two must never run at the same time.
extension CameraPipelineTests {
    @Suite(.serialized)
    struct WebRTCTests {
        static let tone = StethoscopeConfiguration(
            source: .testTone(frequency: 100, volume: 0.5, live: true, seconds: nil),
            sampleRate: 48000,
            channels: 1,
            mode: .wide
        )

        @Test func offerIsSendOnlyH264AndOpusWithLoopbackCandidatesOnly() async throws {
            let camera = SimulatedCamera.make(
                pattern: .ball,
                mode: VideoMode(width: 640, height: 360, framesPerSecond: 15)
            )
            try await camera.start()
            let media = LiveMedia(camera: camera, audio: StethoscopeLiveSource(configuration: Self.tone))
            let (peer, offer) = try await media.openPeer(tracks: WebRTCTracks(video: true, audio: true))
            #expect(offer.hasPrefix("v=0"))
            #expect(offer.contains("m=video") && offer.contains("a=rtpmap:96 H264/90000"))
            #expect(offer.contains("m=audio") && offer.contains("a=rtpmap:111 OPUS/48000/2"))
            #expect(offer.contains("usedtx=0") && offer.contains("maxplaybackrate=48000"))
            #expect(offer.contains("profile-level-id=") && offer.contains("packetization-mode=1"))
            #expect(!offer.contains("a=sendrecv") && offer.contains("a=sendonly"))
            var candidates: [String] = []
            let deadline = ContinuousClock.now + .seconds(5)
            for await signal in peer.signals {
                if case .candidate(_, let candidate) = signal { candidates.append(candidate) }
                if !candidates.isEmpty || ContinuousClock.now > deadline { break }
            }
            await media.close()
            await camera.close()
            #expect(!candidates.isEmpty)
            for candidate in candidates {
                #expect(candidate.contains(" 127.0.0.1 ") && candidate.contains(" UDP "), "\(candidate)")
            }
        }

        /// get-stats on a peer nobody answered: webrtcbin replies (bounded), with no receiver report yet, so the
        /// monitor changes nothing; a stopped peer gives nil at once.
        @Test func statisticsBeforeAnyReceiverReportLeaveTheBudgetAlone() async throws {
            let camera = SimulatedCamera.make(
                pattern: .ball,
                mode: VideoMode(width: 640, height: 360, framesPerSecond: 15)
            )
            try await camera.start()
            let media = LiveMedia(camera: camera, audio: nil)
            let (peer, _) = try await media.openPeer(tracks: WebRTCTracks(video: true, audio: false))
            let started = ContinuousClock.now
            let stats = await peer.statistics()
            #expect(ContinuousClock.now - started < .seconds(1))
            #expect(stats?.remoteReports == 0)
            #expect(stats?.pathReport == nil)
            let monitor = BandwidthMonitor(media: media)
            await monitor.step()
            #expect(await monitor.history.isEmpty)
            #expect(await media.plan.videoKbps == BandwidthPolicy().plan(audioBitrate: nil).videoKbps)
            await media.close()
            #expect(await peer.statistics() == nil)
            await camera.close()
        }

        @Test func badSignalingGivesTypedErrors() async throws {
            let peer = try WebRTCPeer(id: "t", tracks: WebRTCTracks(video: false, audio: true))
            await #expect(throws: WebRTCError.wrongState("an answer is only accepted once, after the offer")) {
                try await peer.applyAnswer("v=0\r\n")
            }
            _ = try await peer.start()
            await #expect(
                throws: WebRTCError.invalidAnswer("not an SDP description (it must start with v=0, at most 64 KiB)")
            ) {
                try await peer.applyAnswer("hello")
            }
            await #expect(throws: WebRTCError.invalidAnswer("the SDP does not parse or has no media section")) {
                try await peer.applyAnswer("v=0\r\n")
            }
            await #expect(throws: WebRTCError.invalidCandidate("sdpMLineIndex 3 is outside 0..<1")) {
                try await peer.addRemoteCandidate(mline: 3, candidate: "candidate:1 1 UDP 1 127.0.0.1 9 typ host")
            }
            await #expect(throws: WebRTCError.self) { try await peer.addRemoteCandidate(mline: 0, candidate: "x\ny") }
            // End of candidates and mDNS names are accepted and ignored.
            try await peer.addRemoteCandidate(mline: 0, candidate: "")
            try await peer.addRemoteCandidate(mline: 0, candidate: "candidate:1 1 udp 1 abc.local 9 typ host")
            await peer.stop()
            await #expect(throws: WebRTCError.wrongState("this peer was already started")) {
                _ = try await peer.start()
            }
            #expect(throws: WebRTCError.self) {
                _ = try WebRTCPeer(id: "x", tracks: WebRTCTracks(video: false, audio: false))
            }
            #expect(throws: WebRTCError.self) {
                _ = try WebRTCPeer(
                    id: "x",
                    tracks: WebRTCTracks(video: true, audio: false),
                    configuration: WebRTCConfiguration(stunServer: "example.org")
                )
            }
        }

        @Test func repeatedStartStopLeavesNothingAndReplansAudio() async throws {
            let pipelinesBefore = WebRTCGraph.livePipelines.load(ordering: .relaxed)
            let contextsBefore = WebRTCLinkContext.alive.load(ordering: .relaxed)
            let camera = SimulatedCamera.make(
                pattern: .ball,
                mode: VideoMode(width: 640, height: 360, framesPerSecond: 15)
            )
            try await camera.start()
            let media = LiveMedia(camera: camera, audio: StethoscopeLiveSource(configuration: Self.tone))
            let idle = await media.plan
            #expect(idle.audioKbps == 0 && idle.videoKbps > 900)
            for round in 0..<5 {
                let (peer, offer) = try await media.openPeer(tracks: WebRTCTracks(video: true, audio: round % 2 == 0))
                #expect(offer.contains("m=video"))
                let plan = await media.plan
                #expect((plan.audioKbps > 0) == (round % 2 == 0), "\(plan)")
                // Media reaches the peer's pipeline (it is dropped there until a receiver connects).
                let deadline = ContinuousClock.now + .seconds(5)
                while peer.sentBytes.video == 0 || (round % 2 == 0 && peer.sentBytes.audio == 0),
                    ContinuousClock.now < deadline
                {
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(peer.sentBytes.video > 0)
                #expect(round % 2 == 1 || peer.sentBytes.audio > 0)
                await media.closePeer(peer)
                #expect(await media.plan.audioKbps == 0)
            }
            #expect(await media.peerCount == 0)
            await camera.close()
            let deadline = ContinuousClock.now + .seconds(5)
            while WebRTCGraph.livePipelines.load(ordering: .relaxed) != pipelinesBefore
                || WebRTCLinkContext.alive.load(ordering: .relaxed) != contextsBefore, ContinuousClock.now < deadline
            {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(WebRTCGraph.livePipelines.load(ordering: .relaxed) == pipelinesBefore)
            #expect(WebRTCLinkContext.alive.load(ordering: .relaxed) == contextsBefore)
        }

        @Test func aReplacedCameraKeepsThePeerFed() async throws {
            let mode = VideoMode(width: 640, height: 360, framesPerSecond: 15)
            let first = SimulatedCamera.make(pattern: .ball, mode: mode)
            try await first.start()
            let media = LiveMedia(camera: first, audio: nil)
            let (peer, _) = try await media.openPeer(tracks: WebRTCTracks(video: true, audio: false))
            // The camera is unplugged, then another one appears: the peer stays and is fed by the new one.
            await first.close()
            await media.setCamera(nil)
            #expect(!media.available.video)
            let second = SimulatedCamera.make(pattern: .smpte, mode: mode)
            try await second.start()
            let before = peer.sentBytes.video
            await media.setCamera(second)
            #expect(media.available.video)
            let deadline = ContinuousClock.now + .seconds(5)
            while peer.sentBytes.video == before, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(peer.sentBytes.video > before)
            await media.close()
            await second.close()
        }

        /// An answer that webrtcbin accepts but that can never connect (no candidates ever come from this "client").
        static func unreachableAnswer(to offer: String) -> String {
            offer.components(separatedBy: "\r\n").compactMap { line -> String? in
                if line.hasPrefix("a=candidate") || line.hasPrefix("a=end-of-candidates") { return nil }
                if line.hasPrefix("a=ice-ufrag:") { return "a=ice-ufrag:unreachable" }
                if line.hasPrefix("a=ice-pwd:") { return "a=ice-pwd:unreachableunreachable00" }
                if line == "a=setup:actpass" { return "a=setup:active" }
                if line == "a=sendonly" { return "a=recvonly" }
                return line
            }.joined(separator: "\r\n")
        }

        @Test func aPeerThatNeverConnectsFailsWithinItsTimeoutAndIsReleased() async throws {
            let pipelinesBefore = WebRTCGraph.livePipelines.load(ordering: .relaxed)
            let peer = try WebRTCPeer(
                id: "t",
                tracks: WebRTCTracks(video: false, audio: true),
                configuration: WebRTCConfiguration(connectTimeout: .seconds(1))
            )
            let offer = try await peer.start()
            try await peer.applyAnswer(Self.unreachableAnswer(to: offer))
            var failure: WebRTCError?
            var states: [WebRTCConnectionState] = []
            for await signal in peer.signals {
                if case .failed(let error) = signal { failure = error }
                if case .state(let state) = signal { states.append(state) }
            }
            // The signal stream ends when the failed peer has stopped itself.
            let error = try #require(failure)
            #expect(
                error == .connectTimedOut(seconds: 1) || error.code == "webrtc_connection_failed",
                "\(error)"
            )
            #expect(states.last == .closed)
            await #expect(throws: WebRTCError.self) {
                try await peer.addRemoteCandidate(mline: 0, candidate: "candidate:x")
            }
            let deadline = ContinuousClock.now + .seconds(3)
            while WebRTCGraph.livePipelines.load(ordering: .relaxed) != pipelinesBefore, ContinuousClock.now < deadline
            {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(WebRTCGraph.livePipelines.load(ordering: .relaxed) == pipelinesBefore)
        }

        @Test func aCameraThatSendsNothingIsNamedInTheError() async throws {
            let pipelinesBefore = WebRTCGraph.livePipelines.load(ordering: .relaxed)
            // Never started: no frame, so webrtcbin cannot learn the H.264 caps and offer.
            let camera = SimulatedCamera.make(mode: VideoMode(width: 640, height: 360, framesPerSecond: 15))
            let media = LiveMedia(camera: camera, audio: nil, webrtc: WebRTCConfiguration(offerTimeout: .seconds(1)))
            await #expect(
                throws: WebRTCError.trackUnavailable(track: "video", reason: "the camera sent no keyframe within 1.0 s")
            ) {
                _ = try await media.openPeer(tracks: WebRTCTracks(video: true, audio: false))
            }
            #expect(await media.peerCount == 0)
            let deadline = ContinuousClock.now + .seconds(3)
            while WebRTCGraph.livePipelines.load(ordering: .relaxed) != pipelinesBefore, ContinuousClock.now < deadline
            {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(WebRTCGraph.livePipelines.load(ordering: .relaxed) == pipelinesBefore)
            await camera.close()
        }

        @Test func budgetIsSharedAndVideoSuspendsBelowTheFloor() {
            let policy = BandwidthPolicy()
            let video = policy.plan(audioBitrate: nil)
            #expect(video == BandwidthPlan(availableKbps: 1000, audioKbps: 0, videoKbps: 950, videoSuspended: false))
            // 64 kbit/s Opus in 10 ms packets: 100 packets/s × 62 bytes of headers = 49.6 kbit/s more.
            let both = policy.plan(audioBitrate: 64_000, audioFrameMilliseconds: 10)
            #expect(both.audioKbps == 114)
            #expect(both.videoKbps == 842)
            #expect(both.audioKbps + Int((Double(both.videoKbps) * 1262 / 1200).rounded(.up)) <= 1000)
            // A measured link above the budget does not raise it; below it, it lowers it.
            #expect(policy.plan(measuredKbps: 5000, audioBitrate: nil).availableKbps == 1000)
            let poor = policy.plan(measuredKbps: 250, audioBitrate: 64_000)
            #expect(poor.videoSuspended && poor.videoKbps == 129)
            #expect(!policy.plan(measuredKbps: 300, audioBitrate: 64_000).videoSuspended)
        }

        @Test func opusAndH264FormatParametersAreRewritten() {
            let sdp =
                "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 OPUS/48000/2\r\n"
                + "a=fmtp:111 sprop-stereo=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\n"
            let munged = WebRTCSDP.mungeOffer(WebRTCSDP.completeH264(sdp), opusBitrate: 64000)
            #expect(
                munged.contains(
                    "a=fmtp:111 minptime=10;useinbandfec=0;usedtx=0;stereo=0;sprop-stereo=0;"
                        + "maxplaybackrate=48000;sprop-maxcapturerate=48000;maxaveragebitrate=64000\r\n"
                )
            )
            #expect(!munged.contains("a=fmtp:111 sprop-stereo=0\r\n"))
            #expect(
                munged.contains("a=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1;profile-level-id=42e01f;")
            )
            #expect(munged.hasSuffix("\r\n") && !munged.contains("\r\n\r\n"))
            let complete = "v=0\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1;profile-level-id=42c016\r\n"
            #expect(WebRTCSDP.completeH264(complete) == complete)
        }

        @Test func sourceTimestampsKeepTheirSpacingAndReAnchorOnRestart() {
            var map = TimestampMap()
            // First buffer anchors: source 1.000 s arrives at peer time 5.000 s.
            #expect(map.map(1_000_000_000, now: 5_000_000_000) == 5_000_000_000)
            // Later buffers keep the source spacing (10 ms) whatever their arrival jitter.
            #expect(map.map(1_010_000_000, now: 5_031_000_000) == 5_010_000_000)
            #expect(map.map(1_020_000_000, now: 5_022_000_000) == 5_020_000_000)
            // A restarted source (timestamps back to 0) is re-anchored on arrival.
            #expect(map.map(0, now: 6_000_000_000) == 6_000_000_000)
            #expect(map.map(10_000_000, now: 6_012_000_000) == 6_010_000_000)
            #expect(map.map(nil, now: 7_000_000_000) == 7_000_000_000)
        }
    }
}
