import BoothCore
import Foundation
import Synchronization
import Testing

@testable import BoothAPI

/// A connection's WebRTC peer lifecycle against a fake live-media service: the session layer needs only
/// BoothCore's `LiveMediaControlling` / `WebRTCPeerControlling` (the real GStreamer peers are exercised by
/// BoothMediaTests.WebRTCTests and scripts/test.d/44-webrtc-chromium.sh).
@Suite struct SessionWebRTCTests {
    final class FakePeer: WebRTCPeerControlling {
        let id: String
        let tracks: WebRTCTracks
        let signals: AsyncStream<WebRTCPeerSignal>
        let sink: AsyncStream<WebRTCPeerSignal>.Continuation
        let answers = Mutex<[String]>([])

        init(id: String, tracks: WebRTCTracks) {
            self.id = id
            self.tracks = tracks
            (signals, sink) = AsyncStream.makeStream()
        }

        func applyAnswer(_ sdp: String) async throws(WebRTCError) { answers.withLock { $0.append(sdp) } }

        func addRemoteCandidate(mline: Int, candidate: String) async throws(WebRTCError) {
            throw .invalidCandidate("line \(mline): \(candidate)")
        }
    }

    final class FakeMedia: LiveMediaControlling {
        let available = WebRTCTracks(video: true, audio: false)
        let opened = Mutex<[FakePeer]>([])
        let closed = Mutex<[String]>([])
        let bandwidth = Mutex<[Int?]>([])

        func openSessionPeer(
            tracks: WebRTCTracks
        ) async throws(WebRTCError) -> (
            peer: any WebRTCPeerControlling, offer: String
        ) {
            let peer = opened.withLock { opened in
                let peer = FakePeer(id: "peer-\(opened.count + 1)", tracks: tracks)
                opened.append(peer)
                return peer
            }
            return (peer, "v=0 offer of \(peer.id)")
        }

        func closeSessionPeer(_ peer: any WebRTCPeerControlling) async {
            closed.withLock { $0.append(peer.id) }
            (peer as? FakePeer)?.sink.finish()
        }

        func setMeasuredBandwidth(kbps: Int?) async { bandwidth.withLock { $0.append(kbps) } }
    }

    /// What the session sent to its client.
    final class Sent: Sendable {
        private let texts = Mutex<[String]>([])

        var send: @Sendable (String) async -> Bool {
            { [self] text in
                self.texts.withLock { $0.append(text) }
                return true
            }
        }

        private func frames() -> [[String: Any]] {
            texts.withLock { $0 }.compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }

        func types() -> [String] { frames().compactMap { $0["type"] as? String } }

        func last(_ type: String) -> [String: Any]? { frames().last { $0["type"] as? String == type } }

        /// Waits (at most 5 s) until a frame of `type` has been sent.
        func await(_ type: String) async throws {
            for _ in 0..<500 {
                if last(type) != nil { return }
                try await Task.sleep(for: .milliseconds(10))
            }
            Issue.record("no \(type) frame within 5 s; sent: \(types())")
        }
    }

    @Test func aFailedPeerIsReportedStoppedAndReleased() async throws {
        let media = FakeMedia()
        let sent = Sent()
        let session = SessionWebRTC()
        let video = WebRTCTracks(video: true, audio: false)
        let (peer, offer) = try await session.start(media: media, tracks: video, send: sent.send)
        #expect(offer == "v=0 offer of peer-1" && peer.tracks == video)
        await session.forward(peer, send: sent.send)

        try await session.current("peer-1").applyAnswer("v=0 answer")
        #expect(media.opened.withLock { $0.first?.answers.withLock { $0 } } == ["v=0 answer"])
        await #expect(throws: WebRTCError.invalidCandidate("line 0: x")) {
            try await session.current(nil).addRemoteCandidate(mline: 0, candidate: "x")
        }
        await #expect(throws: WebRTCError.self) { try await session.current("peer-9") }

        let fake = try #require(media.opened.withLock { $0.first })
        fake.sink.yield(.candidate(mline: 0, candidate: "candidate:1 1 UDP 1 127.0.0.1 9 typ host"))
        fake.sink.yield(.failed(.connectionFailed("ICE failed")))
        try await sent.await("webrtc.stopped")
        #expect(sent.types() == ["webrtc.ice", "webrtc.error", "webrtc.stopped"])
        #expect(sent.last("webrtc.error")?["code"] as? String == "webrtc_connection_failed")
        #expect(sent.last("webrtc.stopped")?["reason"] as? String == "the peer connection failed: ICE failed")
        #expect(media.closed.withLock { $0 } == ["peer-1"])
        await #expect(throws: WebRTCError.wrongState("no WebRTC peer: send webrtc.start first")) {
            try await session.current(nil)
        }
    }

    @Test func aNewStartReplacesThePeerAndStopReleasesIt() async throws {
        let media = FakeMedia()
        let sent = Sent()
        let session = SessionWebRTC()
        let tracks = WebRTCTracks(video: true, audio: true)
        await #expect(throws: WebRTCError.self) { try await session.setMeasuredBandwidth(kbps: 300) }

        _ = try await session.start(media: media, tracks: tracks, send: sent.send)
        let (second, _) = try await session.start(media: media, tracks: tracks, send: sent.send)
        #expect(second.id == "peer-2" && media.closed.withLock { $0 } == ["peer-1"])
        #expect(sent.last("webrtc.stopped")?["reason"] as? String == "replaced by a new webrtc.start")

        try await session.setMeasuredBandwidth(kbps: 300)
        try await session.setMeasuredBandwidth(kbps: nil)
        #expect(media.bandwidth.withLock { $0 } == [300, nil])

        await session.stop(reason: "stopped by the client", send: sent.send)
        #expect(media.closed.withLock { $0 } == ["peer-1", "peer-2"])
        #expect(sent.last("webrtc.stopped")?["peerId"] as? String == "peer-2")
        // A second stop has no peer to stop: nothing more is sent or closed.
        await session.stop(reason: "again", send: sent.send)
        #expect(sent.types() == ["webrtc.stopped", "webrtc.stopped"])
    }
}
