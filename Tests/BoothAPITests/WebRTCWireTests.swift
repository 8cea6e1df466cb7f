import BoothCore
import Foundation
import Testing

@testable import BoothAPI

/// `webrtc.*` frames: parsing, and what boothd sends for each peer signal (the end-to-end test validates them
/// against the JSON Schemas with a live boothd: scripts/test.d/44-webrtc-chromium.sh).
@Suite struct WebRTCWireTests {
    private func object(_ text: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func webrtcMessagesAreRoutedWithTheirBody() throws {
        guard
            case .webrtc(let type, let body) = try Wire.parse(
                #"{"type":"webrtc.ice","peerId":"peer-1","candidate":"candidate:1 1 UDP 1 127.0.0.1 9 typ host","sdpMLineIndex":0}"#
            )
        else {
            Issue.record("not routed to webrtc")
            return
        }
        #expect(type == "webrtc.ice")
        #expect(body["sdpMLineIndex"]?.int64 == 0)
        #expect(body["candidate"]?.string?.hasPrefix("candidate:") == true)
        #expect(throws: WireError.self) { try Wire.parse(#"{"type":"webrtcx"}"#) }
    }

    @Test func peerSignalsBecomeTypedFrames() throws {
        let (ice, iceFailure) = WebRTCWire.frame(for: .candidate(mline: 0, candidate: "candidate:1 x"), peerID: "p")
        #expect(iceFailure == nil)
        let iceFrame = try object(ice)
        #expect(iceFrame["type"] as? String == "webrtc.ice" && iceFrame["sdpMLineIndex"] as? Int == 0)
        let state = try object(WebRTCWire.frame(for: .state(.connected), peerID: "p").0)
        #expect(state["state"] as? String == "connected")
        let active = try object(WebRTCWire.frame(for: .video(.active(videoKbps: 842)), peerID: "p").0)
        #expect(active["state"] as? String == "active" && active["videoKbps"] as? Int == 842)
        let suspended = try object(
            WebRTCWire.frame(for: .video(.suspended(availableKbps: 200, floorKbps: 150)), peerID: "p").0
        )
        #expect(suspended["state"] as? String == "suspended" && suspended["floorKbps"] as? Int == 150)
        let (failed, failure) = WebRTCWire.frame(for: .failed(.connectTimedOut(seconds: 15)), peerID: "p")
        #expect(failure == .connectTimedOut(seconds: 15))
        let error = try object(failed)
        #expect(error["type"] as? String == "webrtc.error" && error["code"] as? String == "webrtc_connect_timeout")
        #expect(error["id"] is NSNull && error["peerId"] as? String == "p")
        let stopped = try object(WebRTCWire.stopped(peerID: "p", reason: "stopped by the client"))
        #expect(stopped["type"] as? String == "webrtc.stopped")
        let typed = try object(WebRTCWire.error(requestID: "r1", .trackUnavailable(track: "audio", reason: "none")))
        #expect(typed["id"] as? String == "r1" && typed["code"] as? String == "webrtc_track_unavailable")
    }
}
