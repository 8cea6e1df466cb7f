import BoothCore
import Foundation

/// How boothd's WebRTC senders connect.
public struct WebRTCConfiguration: Sendable, Hashable {
    /// `stun://host:port`, or nil for none (the default: the kiosk page is on the same machine).
    public var stunServer: String?
    /// `turn(s)://user:password@host:port`, or nil for none.
    public var turnServer: String?
    /// Gather ICE candidates on 127.0.0.1 only (UDP). The default: the receiving page runs on this machine.
    public var loopbackOnly: Bool
    /// Longest wait for webrtcbin to produce the offer.
    public var offerTimeout: Duration
    /// Longest wait for the answer to be applied.
    public var answerTimeout: Duration
    /// Longest wait, after the answer, for the peer connection to reach `connected`.
    public var connectTimeout: Duration
    /// Receiver jitter-buffer latency webrtcbin uses (ms); irrelevant for a send-only peer, kept small.
    public var latencyMilliseconds: Int
    /// Fault injection for tests: the fraction of video RTP packets dropped before webrtcbin (an `identity`
    /// with `drop-probability`), which the receiver reports as loss. 0 (the default) inserts nothing.
    public var injectedVideoLoss: Double = 0

    public init(
        stunServer: String? = nil,
        turnServer: String? = nil,
        loopbackOnly: Bool = true,
        offerTimeout: Duration = .seconds(5),
        answerTimeout: Duration = .seconds(5),
        connectTimeout: Duration = .seconds(15),
        latencyMilliseconds: Int = 50
    ) {
        self.stunServer = stunServer
        self.turnServer = turnServer
        self.loopbackOnly = loopbackOnly
        self.offerTimeout = offerTimeout
        self.answerTimeout = answerTimeout
        self.connectTimeout = connectTimeout
        self.latencyMilliseconds = latencyMilliseconds
    }

    /// The first unacceptable value, as an error.
    public func validate() throws(WebRTCError) {
        if let stunServer, !stunServer.hasPrefix("stun://") {
            throw .invalidConfiguration("webrtc.stun_server must look like stun://host:port, got \(stunServer)")
        }
        if let turnServer, !(turnServer.hasPrefix("turn://") || turnServer.hasPrefix("turns://")) {
            throw .invalidConfiguration("webrtc.turn_server must look like turn(s)://user:password@host:port")
        }
    }
}

extension WebRTCConnectionState {
    /// GstWebRTCPeerConnectionState's value as webrtcbin's `connection-state` property reads.
    init(gstValue: UInt32) {
        switch gstValue {
        case 1: self = .connecting
        case 2: self = .connected
        case 3: self = .disconnected
        case 4: self = .failed
        case 5: self = .closed
        default: self = .new
        }
    }
}

/// SDP rewriting applied to webrtcbin's offer before it is used.
public enum WebRTCSDP {
    /// The Opus parameters that keep body sounds: no DTX (the quiet diastole is sent), mono, fullband.
    public static func opusFormatParameters(bitrate: Int) -> String {
        "minptime=10;useinbandfec=0;usedtx=0;stereo=0;sprop-stereo=0;maxplaybackrate=48000;"
            + "sprop-maxcapturerate=48000;maxaveragebitrate=\(bitrate)"
    }

    /// Replaces (or adds) the `a=fmtp` line of the Opus payload type with `opusFormatParameters`.
    public static func mungeOffer(_ sdp: String, opusPayloadType: Int = 111, opusBitrate: Int) -> String {
        let newline = sdp.contains("\r\n") ? "\r\n" : "\n"
        var lines = sdp.components(separatedBy: newline)
        if lines.last == "" { lines.removeLast() }
        let fmtp = "a=fmtp:\(opusPayloadType) " + opusFormatParameters(bitrate: opusBitrate)
        if let index = lines.firstIndex(where: { $0.hasPrefix("a=fmtp:\(opusPayloadType) ") }) {
            lines[index] = fmtp
        } else if let index = lines.firstIndex(where: { $0.hasPrefix("a=rtpmap:\(opusPayloadType) ") }) {
            lines.insert(fmtp, at: index + 1)
        }
        return lines.joined(separator: newline) + newline
    }
}

extension WebRTCSDP {
    /// webrtcbin may offer H.264 before the first frame told the payloader its profile: then the `a=fmtp` line
    /// lacks `profile-level-id`, and browsers would assume baseline level 1. Adds constrained baseline 3.1.
    public static func completeH264(_ sdp: String, payloadType: Int = 96) -> String {
        let newline = sdp.contains("\r\n") ? "\r\n" : "\n"
        var lines = sdp.components(separatedBy: newline)
        if lines.last == "" { lines.removeLast() }
        guard lines.contains(where: { $0.hasPrefix("a=rtpmap:\(payloadType) H264/") }) else { return sdp }
        let defaults = "packetization-mode=1;profile-level-id=42e01f;level-asymmetry-allowed=1"
        if let index = lines.firstIndex(where: { $0.hasPrefix("a=fmtp:\(payloadType) ") }) {
            if !lines[index].contains("profile-level-id=") { lines[index] += ";profile-level-id=42e01f" }
            if !lines[index].contains("packetization-mode=") { lines[index] += ";packetization-mode=1" }
        } else if let index = lines.firstIndex(where: { $0.hasPrefix("a=rtpmap:\(payloadType) ") }) {
            lines.insert("a=fmtp:\(payloadType) \(defaults)", at: index + 1)
        }
        return lines.joined(separator: newline) + newline
    }
}
