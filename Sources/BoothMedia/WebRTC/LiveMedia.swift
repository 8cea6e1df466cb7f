import BoothCore
import Foundation
import Logging
import Synchronization

/// A live Opus source for WebRTC peers (the stethoscope's live branch).
public protocol LiveAudioSource: Sendable {
    /// The Opus bit rate (bit/s) and frame duration (ms) the source sends: the bandwidth manager's input.
    var bitrate: Int { get }
    var frameMilliseconds: Int { get }
    /// Starts capture and returns its Opus packets (the stream ends when the source stops or fails).
    func startLive() async throws(StethoscopeError) -> AsyncStream<OpusPacket>
    func stopLive() async
}

/// The stethoscope as a live audio source: a `StethoscopePipeline` created when the first peer wants audio and
/// stopped when the last one leaves — its own (the simulator's tone), or, for a real device, the capture its
/// `StethoscopeCaptureOwner` shares with recordings and the level meter (the device opens once).
public actor StethoscopeLiveSource: LiveAudioSource {
    public nonisolated let configuration: StethoscopeConfiguration
    /// The device's capture owner; nil: the source opens a pipeline of its own.
    public nonisolated let owner: StethoscopeCaptureOwner?
    private var pipeline: StethoscopePipeline?
    private var lease: StethoscopeLease?
    /// The doctor's choice (`setMode`), kept for the next start.
    private var mode: StethoscopeMode
    private var observer: LiveAudioObserver?

    public init(configuration: StethoscopeConfiguration) {
        self.configuration = configuration
        self.owner = nil
        self.mode = configuration.mode
    }

    /// Live audio borrowed from the device's capture owner.
    public init(owner: StethoscopeCaptureOwner) {
        self.configuration = owner.configuration
        self.owner = owner
        self.mode = owner.configuration.mode
    }

    /// Who follows the live pipeline (the level meter): told before the device is opened, so it can let go of it
    /// (an ALSA device opens once), then of the running pipeline, and nil when it stops. A source with an owner
    /// shares the device, so the meter keeps its capture until the live pipeline runs.
    public func observe(_ observer: LiveAudioObserver?) {
        self.observer = observer
    }

    /// The filter mode the live audio uses (the configuration's until the doctor changes it).
    public var currentMode: StethoscopeMode { mode }

    /// Changes the live audio's filter mode, at once when it runs (no gap) and for every later start. Returns
    /// whether a running pipeline applied it (with an owner: not while a recording holds its own mode).
    @discardableResult
    public func setMode(_ mode: StethoscopeMode) async -> Bool {
        self.mode = mode
        guard let pipeline else { return false }
        if let owner { return await owner.setMode(mode) }
        await pipeline.setMode(mode)
        return true
    }

    public nonisolated var bitrate: Int { configuration.opusBitrate }
    public nonisolated var frameMilliseconds: Int { configuration.opusFrameMilliseconds }

    public func startLive() async throws(StethoscopeError) -> AsyncStream<OpusPacket> {
        await stopLive()
        if let owner {
            let lease = try await owner.acquire(mode: mode)
            self.lease = lease
            pipeline = lease.pipeline
            let packets = lease.pipeline.livePackets()
            await observer?.running(lease.pipeline)
            return packets
        }
        var configuration = configuration
        configuration.mode = mode
        let pipeline = StethoscopePipeline(configuration: configuration)
        await observer?.opening()
        do {
            try await pipeline.start()
        } catch {
            await observer?.running(nil)
            throw error
        }
        self.pipeline = pipeline
        await observer?.running(pipeline)
        return pipeline.opusPackets
    }

    public func stopLive() async {
        guard let pipeline else { return }
        self.pipeline = nil
        if let owner, let lease {
            self.lease = nil
            // The meter borrows the capture before the live audio gives it back: the device stays open.
            await observer?.running(nil)
            await owner.release(lease)
            return
        }
        await pipeline.stop()
        await observer?.running(nil)
    }
}

/// Follows a `StethoscopeLiveSource`'s pipeline (the level meter does).
public struct LiveAudioObserver: Sendable {
    /// The source is about to open its device.
    public var opening: @Sendable () async -> Void
    /// The pipeline that now runs, or nil when it stopped (or failed to start).
    public var running: @Sendable (StethoscopePipeline?) async -> Void

    public init(
        opening: @escaping @Sendable () async -> Void,
        running: @escaping @Sendable (StethoscopePipeline?) async -> Void
    ) {
        self.opening = opening
        self.running = running
    }
}

/// Live media for session clients: one WebRTC peer per client, fed from the camera's encoded stream and the
/// live audio source, under one shared bandwidth budget.
///
/// The camera encodes once (its ladder follows the video share of the budget); audio starts with the first peer
/// that wants it and stops with the last, and every start/stop re-plans the budget. When the video share falls
/// below the floor, video peers are told (`.video(.suspended)`) and get no pictures until it recovers.
public actor LiveMedia {
    public nonisolated let policy: BandwidthPolicy
    public nonisolated let webrtc: WebRTCConfiguration
    private var camera: CameraPipeline?
    private var audio: (any LiveAudioSource)?
    private let hasCamera: Atomic<Bool>
    private let hasAudio: Atomic<Bool>
    private let logger: Logger
    private let fanout = Fanout()
    private var peers: [String: WebRTCPeer] = [:]
    /// Peers whose offer went out: they are told about video changes (earlier ones get the state with the offer).
    private var announced: Set<String> = []
    private var nextPeer = 0
    private var videoTask: Task<Void, Never>?
    private var audioTask: Task<Void, Never>?
    private var audioLive = false
    private var measuredKbps: Int?
    /// What `BandwidthMonitor` measured from the receivers' RTCP reports (nil: nothing below the budget).
    private var automaticKbps: Int?
    /// The plan in force.
    public private(set) var plan: BandwidthPlan

    public init(
        camera: CameraPipeline?,
        audio: (any LiveAudioSource)?,
        policy: BandwidthPolicy = BandwidthPolicy(),
        webrtc: WebRTCConfiguration = WebRTCConfiguration(),
        logger: Logger = Logger(label: "boothd.webrtc")
    ) {
        self.camera = camera
        self.audio = audio
        self.hasCamera = Atomic(camera != nil)
        self.hasAudio = Atomic(audio != nil)
        self.policy = policy
        self.webrtc = webrtc
        self.logger = logger
        self.plan = policy.plan(audioBitrate: nil)
    }

    /// Which tracks this booth can send now.
    public nonisolated var available: WebRTCTracks {
        WebRTCTracks(video: hasCamera.load(ordering: .relaxed), audio: hasAudio.load(ordering: .relaxed))
    }

    /// Switches the video source (a camera plugged in, re-plugged or removed). Peers keep their connection:
    /// the new camera's stream continues from its next keyframe; with no camera they get no pictures.
    public func setCamera(_ camera: CameraPipeline?) async {
        videoTask?.cancel()
        videoTask = nil
        self.camera = camera
        hasCamera.store(camera != nil, ordering: .relaxed)
        for peer in fanout.videoPeers { peer.restartVideo() }
        do {
            try await startFeeds()
        } catch {
            logger.warning("live video not restarted", metadata: ["error": "\(error)"])
        }
    }

    /// Switches the live audio source (a stethoscope plugged in or removed); peers already sending audio keep
    /// their track and get the new source's packets.
    public func setAudioSource(_ source: (any LiveAudioSource)?) async {
        audioTask?.cancel()
        audioTask = nil
        if audioLive { await audio?.stopLive() }
        audioLive = false
        audio = source
        hasAudio.store(source != nil, ordering: .relaxed)
        do {
            try await startFeeds()
        } catch {
            logger.warning("live audio not restarted", metadata: ["error": "\(error)"])
        }
        await replan()
    }

    public var peerCount: Int { peers.count }

    /// The live audio source in use (the stethoscope whose filter mode `stethoscope.mode` changes).
    public var audioSource: (any LiveAudioSource)? { audio }

    /// Creates a peer sending `tracks` and returns it with its offer. Starts the audio source if needed.
    public func openPeer(tracks: WebRTCTracks) async throws(WebRTCError) -> (peer: WebRTCPeer, offer: String) {
        if tracks.video, camera == nil { throw .trackUnavailable(track: "video", reason: "no camera is running") }
        if tracks.audio, audio == nil { throw .trackUnavailable(track: "audio", reason: "no stethoscope is available") }
        nextPeer += 1
        let peer = try WebRTCPeer(
            id: "peer-\(nextPeer)",
            tracks: tracks,
            configuration: webrtc,
            opusBitrate: audio?.bitrate ?? 64_000,
            onKeyframeNeeded: { [weak self] in if tracks.video { Task { await self?.requestKeyframe() } } }
        )
        // Fed before it starts: webrtcbin offers H.264 only once a keyframe has told it the stream's caps.
        peers[peer.id] = peer
        fanout.add(peer)
        let offer: String
        do {
            try await startFeeds()
            offer = try await peer.start()
        } catch {
            await closePeer(peer)
            // webrtcbin offers H.264 only after a keyframe: without one, name the camera, not webrtcbin.
            if case .offerTimedOut(let seconds) = error, tracks.video, peer.sentBytes.video == 0 {
                throw .trackUnavailable(track: "video", reason: "the camera sent no keyframe within \(seconds) s")
            }
            throw error
        }
        announced.insert(peer.id)
        if tracks.video {
            peer.notify(
                .video(
                    plan.videoSuspended
                        ? .suspended(availableKbps: plan.availableKbps, floorKbps: policy.videoFloorKbps)
                        : .active(videoKbps: plan.videoKbps)
                )
            )
        }
        logger.info("webrtc peer started", metadata: ["peer": "\(peer.id)", "tracks": "\(tracks)", "plan": "\(plan)"])
        return (peer, offer)
    }

    /// Stops a peer and releases its pipeline; stops the audio source when no peer needs it any more.
    public func closePeer(_ peer: WebRTCPeer) async {
        fanout.remove(peer)
        peers[peer.id] = nil
        announced.remove(peer.id)
        await peer.stop()
        await stopUnusedFeeds()
        let sent = peer.sentBytes
        let keyframeRequests = await peer.keyframeRequests
        logger.info(
            "webrtc peer stopped",
            metadata: [
                "peer": "\(peer.id)", "video_bytes": "\(sent.video)", "audio_bytes": "\(sent.audio)",
                "keyframe_requests": "\(keyframeRequests)",
            ]
        )
    }

    /// The bandwidth the transport or the client measured (kbit/s); nil returns to the configured budget.
    public func setMeasuredBandwidth(kbps: Int?) async {
        measuredKbps = kbps
        await replan()
    }

    /// The bandwidth measured from RTCP reports (`BandwidthMonitor`); the lower of it and the client's report
    /// is used. nil returns to the configured budget.
    public func setAutomaticBandwidth(kbps: Int?) async {
        automaticKbps = kbps
        await replan()
    }

    /// The peers that receive video now.
    public var videoPeers: [WebRTCPeer] { fanout.videoPeers }

    /// Asks the current camera for a keyframe (a peer connected, or its receiver lost a picture).
    func requestKeyframe() async {
        await camera?.requestKeyframe()
    }

    /// Stops every peer and the audio source.
    public func close() async {
        for peer in peers.values { await closePeer(peer) }
    }

    // MARK: feeds

    private func startFeeds() async throws(WebRTCError) {
        if fanout.wantsVideo, videoTask == nil, let camera {
            let fanout = self.fanout
            let stream = camera.encodedVideo()
            videoTask = Task {
                for await chunk in stream {
                    if Task.isCancelled { return }
                    if fanout.videoSuspended { continue }
                    for peer in fanout.videoPeers { peer.send(video: chunk) }
                }
            }
            await camera.requestKeyframe()
        }
        if fanout.wantsAudio, !audioLive, let audio {
            let packets: AsyncStream<OpusPacket>
            do {
                packets = try await audio.startLive()
            } catch {
                throw .trackUnavailable(track: "audio", reason: "\(error)")
            }
            audioLive = true
            let fanout = self.fanout
            audioTask = Task {
                for await packet in packets {
                    if Task.isCancelled { return }
                    for peer in fanout.audioPeers { peer.send(audio: packet) }
                }
            }
            await replan()
        } else if videoTask != nil {
            await replan()
        }
    }

    private func stopUnusedFeeds() async {
        if !fanout.wantsVideo {
            videoTask?.cancel()
            videoTask = nil
        }
        if !fanout.wantsAudio, audioLive {
            audioTask?.cancel()
            audioTask = nil
            audioLive = false
            await audio?.stopLive()
            await replan()
        }
    }

    /// Shares the budget again (audio started/stopped, bandwidth measured) and tells video peers when video
    /// is suspended or resumed.
    private func replan() async {
        let next = policy.plan(
            measuredKbps: [measuredKbps, automaticKbps].compactMap { $0 }.min(),
            audioBitrate: audioLive ? audio?.bitrate : nil,
            audioFrameMilliseconds: audio?.frameMilliseconds ?? 10
        )
        let previous = plan
        plan = next
        if let camera, !next.videoSuspended {
            do {
                try await camera.setAvailableBandwidth(kbps: next.videoKbps)
            } catch {
                logger.warning("camera bandwidth not applied", metadata: ["error": "\(error)"])
            }
        }
        fanout.videoSuspended = next.videoSuspended
        if next.videoSuspended != previous.videoSuspended || next.videoKbps != previous.videoKbps {
            logger.info("live media budget", metadata: ["plan": "\(next)"])
            let signal: WebRTCPeerSignal =
                next.videoSuspended
                ? .video(.suspended(availableKbps: next.availableKbps, floorKbps: policy.videoFloorKbps))
                : .video(.active(videoKbps: next.videoKbps))
            for peer in fanout.videoPeers where announced.contains(peer.id) { peer.notify(signal) }
            if previous.videoSuspended, !next.videoSuspended {
                for peer in fanout.videoPeers { peer.restartVideo() }
                await camera?.requestKeyframe()
            }
        }
    }
}

/// The peers each feed serves, read by the fan-out tasks without hopping onto the actor for every frame.
final class Fanout: Sendable {
    private struct State {
        var video: [String: WebRTCPeer] = [:]
        var audio: [String: WebRTCPeer] = [:]
        var videoSuspended = false
    }
    private let state = Mutex(State())

    func add(_ peer: WebRTCPeer) {
        state.withLock { state in
            if peer.tracks.video { state.video[peer.id] = peer }
            if peer.tracks.audio { state.audio[peer.id] = peer }
        }
    }

    func remove(_ peer: WebRTCPeer) {
        state.withLock { state in
            state.video[peer.id] = nil
            state.audio[peer.id] = nil
        }
    }

    var videoPeers: [WebRTCPeer] { state.withLock { Array($0.video.values) } }
    var audioPeers: [WebRTCPeer] { state.withLock { Array($0.audio.values) } }
    var wantsVideo: Bool { state.withLock { !$0.video.isEmpty } }
    var wantsAudio: Bool { state.withLock { !$0.audio.isEmpty } }
    var videoSuspended: Bool {
        get { state.withLock { $0.videoSuspended } }
        set { state.withLock { $0.videoSuspended = newValue } }
    }
}
