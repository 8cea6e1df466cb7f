// The WebRTC vocabulary shared by the GStreamer adapter (BoothMedia) and the session API (BoothAPI), so the API
// layer needs no GStreamer module. Plain values only: anything reading GStreamer values stays in BoothMedia.

/// The tracks a peer sends.
public struct WebRTCTracks: Sendable, Hashable, CustomStringConvertible {
    /// The camera's H.264 video.
    public var video: Bool
    /// The stethoscope's Opus audio.
    public var audio: Bool

    /// Tracks with video and/or audio.
    public init(video: Bool, audio: Bool) {
        self.video = video
        self.audio = audio
    }

    /// `video`, `audio`, `video+audio` or `none`.
    public var description: String { [video ? "video" : nil, audio ? "audio" : nil].compactMap { $0 }.joined(by: "+") }
}

extension Array where Element == String {
    fileprivate func joined(by separator: String) -> String { isEmpty ? "none" : joined(separator: separator) }
}

/// RTCPeerConnectionState as webrtcbin reports it.
public enum WebRTCConnectionState: String, Sendable, Hashable {
    /// Not started yet.
    case new
    /// ICE/DTLS under way.
    case connecting
    /// Media can flow.
    case connected
    /// Connectivity lost; may recover.
    case disconnected
    /// ICE or DTLS failed for good.
    case failed
    /// The peer was closed.
    case closed
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
    /// Two pipeline elements could not be linked (an internal error).
    case linkFailed(String, String)
    /// The camera or the audio source is not available for this track.
    case trackUnavailable(track: String, reason: String)
    /// webrtcbin did not produce an offer (or refused it) in time.
    case offerFailed(String)
    /// webrtcbin produced no offer within this many seconds.
    case offerTimedOut(seconds: Double)
    /// The client's answer is not valid SDP or webrtcbin refused it.
    case invalidAnswer(String)
    /// The answer was not applied within this many seconds.
    case answerTimedOut(seconds: Double)
    /// An ICE candidate from the client is malformed.
    case invalidCandidate(String)
    /// The peer connection did not reach `connected` in time.
    case connectTimedOut(seconds: Double)
    /// ICE or DTLS failed, or an element posted an error.
    case connectionFailed(String)
    /// The operation needs a peer in another state (e.g. an answer before the offer).
    case wrongState(String)
    /// A configuration value or a request field is out of range.
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

    /// One line naming the cause.
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
