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

/// The tracks a peer sends.
public struct WebRTCTracks: Sendable, Hashable, CustomStringConvertible {
    public var video: Bool
    public var audio: Bool

    public init(video: Bool, audio: Bool) {
        self.video = video
        self.audio = audio
    }

    public var description: String { [video ? "video" : nil, audio ? "audio" : nil].compactMap { $0 }.joined(by: "+") }
}

extension Array where Element == String {
    fileprivate func joined(by separator: String) -> String { isEmpty ? "none" : joined(separator: separator) }
}

/// RTCPeerConnectionState as webrtcbin reports it.
public enum WebRTCConnectionState: String, Sendable, Hashable {
    case new, connecting, connected, disconnected, failed, closed

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

/// Whether the live video track carries pictures, and why not.
public enum VideoAvailability: Sendable, Hashable {
    /// Video flows at this budget (kbit/s for the video stream).
    case active(videoKbps: Int)
    /// The bandwidth left for video is below the floor: the track is paused, use snapshots instead.
    case suspended(availableKbps: Int, floorKbps: Int)
}

/// What a peer tells its session (signaling and state), in order.
public enum WebRTCPeerSignal: Sendable, Hashable {
    /// A local ICE candidate for the remote side (`a=candidate` line without the `a=`).
    case candidate(mline: Int, candidate: String)
    /// Peer-connection state changes.
    case state(WebRTCConnectionState)
    /// The bandwidth manager paused or resumed the video.
    case video(VideoAvailability)
    /// The peer failed and stopped (the session should tell its client and forget it).
    case failed(WebRTCError)
}

/// Why a WebRTC peer could not start or stopped; each description is one line naming the cause.
public enum WebRTCError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A GStreamer element (webrtcbin, nicesrc, a payloader) is not installed.
    case missingElement(String, package: String)
    case linkFailed(String, String)
    /// The camera or the audio source is not available for this track.
    case trackUnavailable(track: String, reason: String)
    /// webrtcbin did not produce an offer (or refused it) in time.
    case offerFailed(String)
    case offerTimedOut(seconds: Double)
    /// The client's answer is not valid SDP or webrtcbin refused it.
    case invalidAnswer(String)
    case answerTimedOut(seconds: Double)
    /// An ICE candidate from the client is malformed.
    case invalidCandidate(String)
    /// The peer connection did not reach `connected` in time.
    case connectTimedOut(seconds: Double)
    /// ICE or DTLS failed, or an element posted an error.
    case connectionFailed(String)
    /// The operation needs a peer in another state (e.g. an answer before the offer).
    case wrongState(String)
    case invalidConfiguration(String)

    /// Stable machine-readable code for the session API.
    public var code: String {
        switch self {
        case .missingElement: "webrtc_missing_element"
        case .linkFailed: "webrtc_internal"
        case .trackUnavailable: "webrtc_track_unavailable"
        case .offerFailed, .offerTimedOut: "webrtc_offer_failed"
        case .invalidAnswer: "webrtc_invalid_answer"
        case .answerTimedOut: "webrtc_answer_timeout"
        case .invalidCandidate: "webrtc_invalid_candidate"
        case .connectTimedOut: "webrtc_connect_timeout"
        case .connectionFailed: "webrtc_connection_failed"
        case .wrongState: "webrtc_wrong_state"
        case .invalidConfiguration: "webrtc_invalid_configuration"
        }
    }

    public var description: String {
        switch self {
        case .missingElement(let element, let package):
            "GStreamer element '\(element)' is missing: install the Debian package \(package)"
        case .linkFailed(let from, let to): "cannot link GStreamer element \(from) to \(to)"
        case .trackUnavailable(let track, let reason): "no \(track) track: \(reason)"
        case .offerFailed(let why): "webrtcbin could not create the offer: \(why)"
        case .offerTimedOut(let seconds): "webrtcbin produced no offer within \(seconds) s"
        case .invalidAnswer(let why): "the answer was refused: \(why)"
        case .answerTimedOut(let seconds): "the answer was not applied within \(seconds) s"
        case .invalidCandidate(let why): "invalid ICE candidate: \(why)"
        case .connectTimedOut(let seconds): "the peer connection did not connect within \(seconds) s"
        case .connectionFailed(let why): "the peer connection failed: \(why)"
        case .wrongState(let why): why
        case .invalidConfiguration(let why): "invalid WebRTC configuration: \(why)"
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
