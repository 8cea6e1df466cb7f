import BoothCore
import Foundation
import HummingbirdWebSocket
import Synchronization

/// Where the session API finds live media (set once by boothd; nil when it has no camera/stethoscope).
public final class LiveMediaSlot: Sendable {
    private let media = Mutex<(any LiveMediaControlling)?>(nil)

    public init() {}

    public func attach(_ liveMedia: (any LiveMediaControlling)?) { media.withLock { $0 = liveMedia } }

    var current: (any LiveMediaControlling)? { media.withLock { $0 } }
}

/// One connection's WebRTC peer (at most one) and the task that forwards its signals to the client.
actor SessionWebRTC {
    private var peer: (any WebRTCPeerControlling)?
    private var media: (any LiveMediaControlling)?
    private var pump: Task<Void, Never>?

    /// Replaces any running peer with a new one and returns its offer.
    func start(
        media: any LiveMediaControlling,
        tracks: WebRTCTracks,
        send: @escaping @Sendable (String) async -> Bool
    ) async throws(WebRTCError) -> (peer: any WebRTCPeerControlling, offer: String) {
        await stop(reason: "replaced by a new webrtc.start", send: send)
        let (peer, offer) = try await media.openSessionPeer(tracks: tracks)
        self.peer = peer
        self.media = media
        return (peer, offer)
    }

    /// Forwards the peer's signals once the offer has been sent (candidates must follow the offer).
    func forward(_ peer: any WebRTCPeerControlling, send: @escaping @Sendable (String) async -> Bool) {
        pump = Task { [weak self] in
            for await signal in peer.signals {
                let (frame, failure) = WebRTCWire.frame(for: signal, peerID: peer.id)
                guard await send(frame) else { break }
                if let failure {
                    _ = await send(WebRTCWire.stopped(peerID: peer.id, reason: failure.description))
                    await self?.forget(peer)
                    return
                }
            }
        }
    }

    func current(_ peerID: String?) throws(WebRTCError) -> any WebRTCPeerControlling {
        guard let peer else { throw .wrongState("no WebRTC peer: send webrtc.start first") }
        if let peerID, peerID != peer.id {
            throw .wrongState("peer \(peerID.prefix(64)) is not this connection's peer")
        }
        return peer
    }

    /// Stops the peer (client request, disconnect, replacement); tells the client when `send` is given.
    func stop(reason: String, send: (@Sendable (String) async -> Bool)?) async {
        guard let peer else { return }
        pump?.cancel()
        pump = nil
        self.peer = nil
        await media?.closeSessionPeer(peer)
        if let send { _ = await send(WebRTCWire.stopped(peerID: peer.id, reason: reason)) }
    }

    private func forget(_ failed: any WebRTCPeerControlling) async {
        guard let peer, peer === failed else { return }
        self.peer = nil
        pump = nil
        await media?.closeSessionPeer(failed)
    }

    func setMeasuredBandwidth(kbps: Int?) async throws(WebRTCError) {
        guard let media else { throw .wrongState("no WebRTC peer: send webrtc.start first") }
        await media.setMeasuredBandwidth(kbps: kbps)
    }
}

extension SessionConnection {
    /// webrtc.start / webrtc.answer / webrtc.ice / webrtc.bandwidth / webrtc.stop (docs/api/README.md).
    func handleWebRTC(_ type: String, _ body: [String: JSONValue]) async {
        let requestID = body["id"]?.string
        let send: @Sendable (String) async -> Bool = { [outbound] text in
            do {
                try await outbound.write(.text(text))
                return true
            } catch {
                return false
            }
        }
        do {
            switch type {
            case "webrtc.start":
                guard let media = hub.liveMedia.current else {
                    throw WebRTCError.trackUnavailable(track: "video or audio", reason: "this boothd has no live media")
                }
                let available = media.available
                let tracks = WebRTCTracks(
                    video: try Self.flag(body, "video") ?? available.video,
                    audio: try Self.flag(body, "audio") ?? available.audio
                )
                let (peer, offer) = try await webrtc.start(media: media, tracks: tracks, send: send)
                _ = await send(WebRTCWire.offer(requestID: requestID, peer: peer, sdp: offer))
                await webrtc.forward(peer, send: send)
            case "webrtc.answer":
                guard let sdp = body["sdp"]?.string else {
                    throw WebRTCError.invalidAnswer("webrtc.answer needs \"sdp\": the answer's SDP text")
                }
                try await webrtc.current(body["peerId"]?.string).applyAnswer(sdp)
            case "webrtc.ice":
                guard let candidate = body["candidate"]?.string,
                    let mline = body["sdpMLineIndex"]?.int64, (0...16).contains(mline)
                else {
                    throw WebRTCError.invalidCandidate(
                        "webrtc.ice needs \"candidate\" (string) and \"sdpMLineIndex\" (integer)"
                    )
                }
                try await webrtc.current(body["peerId"]?.string).addRemoteCandidate(
                    mline: Int(mline),
                    candidate: candidate
                )
            case "webrtc.bandwidth":
                let kbps: Int?
                switch body["kbps"] {
                case nil, .null: kbps = nil
                case .some(let value):
                    guard let number = value.int64, (1...1_000_000).contains(number) else {
                        throw WebRTCError.invalidConfiguration("webrtc.bandwidth \"kbps\" must be 1-1000000 or null")
                    }
                    kbps = Int(number)
                }
                try await webrtc.setMeasuredBandwidth(kbps: kbps)
            case "webrtc.stop":
                await webrtc.stop(reason: "stopped by the client", send: send)
            default:
                _ = await send(
                    Wire.error(
                        WireError(
                            "unknown_type",
                            "unknown message type \"\(type.prefix(64))\" (known: "
                                + "\(WebRTCWire.clientTypes.joined(separator: ", ")))"
                        )
                    )
                )
            }
        } catch let error as WebRTCError {
            _ = await send(WebRTCWire.error(requestID: requestID, error))
        } catch {
            _ = await send(WebRTCWire.error(requestID: requestID, .wrongState("\(error)")))
        }
    }

    /// An optional boolean field; anything else than true/false/absent is refused.
    static func flag(_ body: [String: JSONValue], _ key: String) throws(WebRTCError) -> Bool? {
        switch body[key] {
        case nil, .null: return nil
        case .bool(let value): return value
        default: throw .invalidConfiguration("webrtc.start \"\(key)\" must be true or false")
        }
    }
}

/// The WebRTC frames boothd sends (docs/api/server-messages.schema.json).
enum WebRTCWire {
    static let clientTypes = ["webrtc.start", "webrtc.answer", "webrtc.ice", "webrtc.bandwidth", "webrtc.stop"]

    static func offer(requestID: String?, peer: any WebRTCPeerControlling, sdp: String) -> String {
        Wire.object([
            ("type", Wire.string("webrtc.offer")), ("id", Wire.string(requestID)), ("peerId", Wire.string(peer.id)),
            ("sdp", Wire.string(sdp)),
            (
                "tracks",
                Wire.object([
                    ("video", peer.tracks.video ? "true" : "false"), ("audio", peer.tracks.audio ? "true" : "false"),
                ])
            ),
        ])
    }

    static func stopped(peerID: String, reason: String) -> String {
        Wire.object([
            ("type", Wire.string("webrtc.stopped")), ("peerId", Wire.string(peerID)), ("reason", Wire.string(reason)),
        ])
    }

    static func error(requestID: String?, _ error: WebRTCError) -> String {
        Wire.object([
            ("type", Wire.string("webrtc.error")), ("id", Wire.string(requestID)), ("code", Wire.string(error.code)),
            ("message", Wire.string(error.description)),
        ])
    }

    /// The frame for a peer signal, and the failure that ends the peer if it is one.
    static func frame(for signal: WebRTCPeerSignal, peerID: String) -> (String, WebRTCError?) {
        let peer = ("peerId", Wire.string(peerID))
        switch signal {
        case .candidate(let mline, let candidate):
            return (
                Wire.object([
                    ("type", Wire.string("webrtc.ice")), peer, ("sdpMLineIndex", "\(mline)"),
                    ("candidate", Wire.string(candidate)),
                ]),
                nil
            )
        case .state(let state):
            return (
                Wire.object([("type", Wire.string("webrtc.state")), peer, ("state", Wire.string(state.rawValue))]), nil
            )
        case .video(.active(let kbps)):
            return (
                Wire.object([
                    ("type", Wire.string("webrtc.video")), peer, ("state", Wire.string("active")),
                    ("videoKbps", "\(kbps)"),
                ]),
                nil
            )
        case .video(.suspended(let available, let floor)):
            return (
                Wire.object([
                    ("type", Wire.string("webrtc.video")), peer, ("state", Wire.string("suspended")),
                    ("availableKbps", "\(available)"), ("floorKbps", "\(floor)"),
                    ("reason", Wire.string("bandwidth below the video floor: use snapshots (snapshot.take)")),
                ]),
                nil
            )
        case .failed(let error):
            return (
                Wire.object([
                    ("type", Wire.string("webrtc.error")), ("id", "null"), ("code", Wire.string(error.code)),
                    ("message", Wire.string(error.description)), peer,
                ]),
                error
            )
        }
    }
}
