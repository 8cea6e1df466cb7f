// What the session API needs of live media, as protocols: BoothAPI holds these existentials and boothd attaches
// the GStreamer implementations (BoothMedia's `LiveMedia` and `WebRTCPeer`), so BoothAPI does not import BoothMedia.

/// One WebRTC peer (one client's send-only connection) as a session drives it.
///
/// Implementations are reference types: a session compares peers by identity.
public protocol WebRTCPeerControlling: AnyObject, Sendable {
    /// Unique among the peers of one live-media service (`peer-N`).
    var id: String { get }
    /// The tracks this peer sends.
    var tracks: WebRTCTracks { get }
    /// Candidates, state changes, video pauses and the failure that ends the peer, in order; finishes when the
    /// peer stops.
    var signals: AsyncStream<WebRTCPeerSignal> { get }
    /// Applies the client's SDP answer to the peer's offer.
    func applyAnswer(_ sdp: String) async throws(WebRTCError)
    /// Adds one of the client's ICE candidates for media line `mline`.
    func addRemoteCandidate(mline: Int, candidate: String) async throws(WebRTCError)
}

/// The live camera/stethoscope service that opens WebRTC peers for session clients.
public protocol LiveMediaControlling: AnyObject, Sendable {
    /// Which tracks can be sent now (a camera is running, a stethoscope is present).
    var available: WebRTCTracks { get }
    /// Creates a peer sending `tracks` and returns it with its SDP offer.
    func openSessionPeer(
        tracks: WebRTCTracks
    ) async throws(WebRTCError) -> (
        peer: any WebRTCPeerControlling, offer: String
    )
    /// Stops a peer this service opened and releases what only it used; other peers are ignored.
    func closeSessionPeer(_ peer: any WebRTCPeerControlling) async
    /// The bandwidth the client measured (kbit/s); nil returns to the configured budget.
    func setMeasuredBandwidth(kbps: Int?) async
}
