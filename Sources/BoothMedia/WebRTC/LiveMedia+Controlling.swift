import BoothCore

// The session API drives live media through BoothCore's protocols (it does not import BoothMedia).

extension WebRTCPeer: WebRTCPeerControlling {}

extension LiveMedia: LiveMediaControlling {
    public func openSessionPeer(
        tracks: WebRTCTracks
    ) async throws(WebRTCError) -> (
        peer: any WebRTCPeerControlling, offer: String
    ) {
        let (peer, offer) = try await openPeer(tracks: tracks)
        return (peer, offer)
    }

    public func closeSessionPeer(_ peer: any WebRTCPeerControlling) async {
        // Only this service's peers are WebRTCPeer actors it knows; anything else was never opened here.
        guard let peer = peer as? WebRTCPeer else { return }
        await closePeer(peer)
    }
}
