import BoothCore
import CBoothShim
import CGStreamer
import Foundation
import Synchronization

/// One receiving client's WebRTC connection: its own small pipeline, fed with already-encoded media.
///
///     appsrc(H.264 AUs from the camera's live branch) → h264parse → rtph264pay → webrtcbin
///     appsrc(Opus packets from the stethoscope's live branch) → rtpopuspay ─────────┘
///
/// The camera encodes once for every client (x264 zerolatency, constrained baseline, under the budget); a peer
/// only packetizes. webrtcbin's signals and promises arrive on GStreamer's threads and are handed to the actor
/// through an AsyncStream; every wait has a timeout. `stop()` sets the pipeline to NULL and drops it: webrtcbin
/// and its ICE/DTLS elements are finalized and the C callback context released.
public actor WebRTCPeer {
    public nonisolated let id: String
    public nonisolated let tracks: WebRTCTracks
    /// Candidates, state changes, video availability, failure. Single consumer (the session).
    public nonisolated let signals: AsyncStream<WebRTCPeerSignal>
    /// The connection's state as last reported.
    public private(set) var connectionState = WebRTCConnectionState.new

    private let configuration: WebRTCConfiguration
    private let opusBitrate: Int
    private let signalSink: AsyncStream<WebRTCPeerSignal>.Continuation
    let graph: WebRTCGraph
    private let link = WebRTCLinkContext()
    private let threads = ThreadGroup()
    private let onKeyframeNeeded: @Sendable () -> Void
    private var pump: Task<Void, Never>?
    private var connectTimer: Task<Void, Never>?
    private var offer: Completion<Result<String, WebRTCError>>?
    private var answer: Completion<String?>?
    private var localOffer: String?
    private var phase = Phase.idle
    private var lastKeyframeRequest: ContinuousClock.Instant?
    /// Keyframe requests (PLI/FIR) received from the remote side and forwarded to the camera.
    public private(set) var keyframeRequests = 0

    private enum Phase { case idle, offering, offered, answering, answered, stopped }

    /// Builds the peer's pipeline (not started). `onKeyframeNeeded` runs when the pipeline starts (webrtcbin
    /// offers only once the H.264 caps are known, i.e. after a keyframe with its SPS/PPS) and when the connection
    /// reaches `connected` (frames sent before DTLS is up are lost): the owner asks the camera for a keyframe.
    public init(
        id: String,
        tracks: WebRTCTracks,
        configuration: WebRTCConfiguration = WebRTCConfiguration(),
        opusBitrate: Int = 64_000,
        onKeyframeNeeded: @escaping @Sendable () -> Void = {}
    ) throws(WebRTCError) {
        try configuration.validate()
        guard tracks.video || tracks.audio else {
            throw .trackUnavailable(track: "video or audio", reason: "a peer needs at least one track")
        }
        self.id = id
        self.tracks = tracks
        self.configuration = configuration
        self.opusBitrate = opusBitrate
        self.onKeyframeNeeded = onKeyframeNeeded
        (signals, signalSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(256))
        graph = try WebRTCGraph(tracks: tracks, configuration: configuration)
        link.connect(to: graph.webrtc)
        if let video = graph.feed.videoInput { _ = booth_webrtc_watch_keyframe_requests(graph.webrtc, video) }
        let transceivers = booth_webrtc_set_sendonly(graph.webrtc)
        guard transceivers == (tracks.video ? 1 : 0) + (tracks.audio ? 1 : 0) else {
            graph.release()
            throw .linkFailed("payloaders", "webrtcbin (\(transceivers) transceivers)")
        }
        if configuration.loopbackOnly, booth_webrtc_restrict_ice(graph.webrtc, "127.0.0.1") == 0 {
            graph.release()
            throw .missingElement("webrtcbin ICE agent (libnice)", package: "gstreamer1.0-nice")
        }
    }

    // MARK: signaling

    /// Starts the pipeline and returns webrtcbin's offer (SDP, Opus parameters set for body sounds).
    public func start() async throws(WebRTCError) -> String {
        guard phase == .idle else { throw .wrongState("this peer was already started") }
        phase = .offering
        let offer = Completion<Result<String, WebRTCError>>()
        self.offer = offer
        let events = link.events
        pump = Task { [weak self] in
            for await event in events {
                guard let self else { return }
                await self.handle(event)
            }
        }
        let graph = self.graph
        let report: @Sendable (String) -> Void = { [weak self] message in
            guard let self else { return }
            Task { await self.fail(.connectionFailed(message)) }
        }
        threads.spawn(name: "booth-webrtc-bus") { graph.watchBus(report: report) }
        let change = await runBlocking(name: "booth-webrtc-start") {
            gst_element_set_state(graph.pipeline, GST_STATE_PLAYING)
        }
        guard change != GST_STATE_CHANGE_FAILURE else {
            await stop()
            throw .connectionFailed("the WebRTC pipeline did not start")
        }
        if tracks.video { onKeyframeNeeded() }
        guard let result = await offer.wait(timeout: configuration.offerTimeout) else {
            await stop()
            throw .offerTimedOut(seconds: configuration.offerTimeout.seconds)
        }
        switch result {
        case .success(let sdp):
            phase = .offered
            return sdp
        case .failure(let error):
            await stop()
            throw error
        }
    }

    /// Applies the client's answer; the connection must then reach `connected` within the connect timeout.
    public func applyAnswer(_ sdp: String) async throws(WebRTCError) {
        guard phase == .offered else { throw .wrongState("an answer is only accepted once, after the offer") }
        guard sdp.count <= 64 * 1024, sdp.hasPrefix("v=0") else {
            throw .invalidAnswer("not an SDP description (it must start with v=0, at most 64 KiB)")
        }
        phase = .answering
        let answer = Completion<String?>()
        self.answer = answer
        guard booth_webrtc_set_description(graph.webrtc, 1, sdp) == 1 else {
            phase = .offered
            throw .invalidAnswer("the SDP does not parse or has no media section")
        }
        guard let outcome = await answer.wait(timeout: configuration.answerTimeout) else {
            throw .answerTimedOut(seconds: configuration.answerTimeout.seconds)
        }
        if let error = outcome {
            phase = .offered
            throw .invalidAnswer(error)
        }
        phase = .answered
        let timeout = configuration.connectTimeout
        connectTimer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            guard !Task.isCancelled, let self else { return }
            await self.checkConnected(timeout: timeout)
        }
    }

    /// Adds a candidate from the client (`candidate:...`, with or without `a=`). An empty candidate (end of
    /// candidates) and mDNS candidates (`.local`, which libnice cannot resolve) are ignored.
    public func addRemoteCandidate(mline: Int, candidate: String) throws(WebRTCError) {
        guard phase != .stopped else { throw .wrongState("the peer is stopped") }
        let text = candidate.hasPrefix("a=") ? String(candidate.dropFirst(2)) : candidate
        if text.isEmpty { return }
        let trackCount = (tracks.video ? 1 : 0) + (tracks.audio ? 1 : 0)
        guard (0..<trackCount).contains(mline) else {
            throw .invalidCandidate("sdpMLineIndex \(mline) is outside 0..<\(trackCount)")
        }
        guard text.count <= 1024, text.hasPrefix("candidate:"), !text.contains("\n"), !text.contains("\r") else {
            throw .invalidCandidate("expected one line starting with candidate: (at most 1024 characters)")
        }
        let fields = text.split(separator: " ")
        if fields.count > 4, fields[4].hasSuffix(".local") { return }
        booth_webrtc_add_ice_candidate(graph.webrtc, guint(mline), text)
    }

    /// Tears the connection down; every element is released when this returns. Idempotent.
    public func stop() async {
        guard phase != .stopped else { return }
        phase = .stopped
        connectTimer?.cancel()
        pump?.cancel()
        offer?.complete(.failure(.wrongState("the peer was stopped")))
        answer?.complete("the peer was stopped")
        graph.feed.close()
        graph.stopping.store(true, ordering: .releasing)
        await threads.join()
        // Bounded: a session must never hang on a peer whose elements do not reach NULL (the release then
        // finishes in the background and the peer reports the late teardown).
        let graph = self.graph
        let released = Completion<Bool>()
        let thread = Thread {
            graph.release()
            released.complete(true)
        }
        thread.name = "booth-webrtc-stop"
        thread.start()
        if await released.wait(timeout: .seconds(5)) == nil {
            signalSink.yield(
                .failed(.connectionFailed("the pipeline did not stop within 5 s; released in the background"))
            )
        }
        signalSink.yield(.state(.closed))
        signalSink.finish()
    }

    // MARK: media (called by the owner's fan-out tasks; thread-safe, never blocks)

    /// Sends one H.264 access unit. Until the first keyframe after (re)connection, delta frames are skipped.
    public nonisolated func send(video chunk: EncodedVideoChunk) { graph.feed.pushVideo(chunk) }

    /// Sends one Opus packet.
    public nonisolated func send(audio packet: OpusPacket) { graph.feed.pushAudio(packet) }

    /// Skips video until the next keyframe (after video was suspended).
    public nonisolated func restartVideo() { graph.feed.awaitKeyframe() }

    /// Tells the session something from the owner (video paused/resumed).
    public nonisolated func notify(_ signal: WebRTCPeerSignal) { signalSink.yield(signal) }

    /// Bytes handed to the pipeline so far (video, audio).
    public nonisolated var sentBytes: (video: Int, audio: Int) { graph.feed.sentBytes }

    // MARK: internals

    private func handle(_ event: WebRTCRawEvent) {
        switch event {
        case .negotiationNeeded:
            // Only the first negotiation: the tracks never change during a peer's life.
            if phase == .offering, localOffer == nil { booth_webrtc_create_offer(graph.webrtc) }
        case .offer(let sdp, let error):
            guard phase == .offering, localOffer == nil else { return }
            guard let sdp else {
                offer?.complete(.failure(.offerFailed(error ?? "no reply")))
                return
            }
            let munged = WebRTCSDP.mungeOffer(WebRTCSDP.completeH264(sdp), opusBitrate: opusBitrate)
            localOffer = munged
            if booth_webrtc_set_description(graph.webrtc, 0, munged) == 0 {
                offer?.complete(.failure(.offerFailed("the rewritten offer does not parse")))
            }
        case .descriptionSet(let error):
            switch phase {
            case .offering:
                if let error {
                    offer?.complete(.failure(.offerFailed(error)))
                } else if let localOffer {
                    offer?.complete(.success(localOffer))
                }
            case .answering: answer?.complete(error)
            default: break
            }
        case .candidate(let mline, let candidate):
            signalSink.yield(.candidate(mline: mline, candidate: candidate))
        case .connectionState(let value):
            let state = WebRTCConnectionState(gstValue: value)
            guard state != connectionState else { return }
            connectionState = state
            signalSink.yield(.state(state))
            if state == .connected {
                connectTimer?.cancel()
                graph.feed.awaitKeyframe()
                onKeyframeNeeded()
            } else if state == .failed {
                fail(.connectionFailed("ICE or DTLS failed"))
            }
        case .iceState:
            break
        case .keyframeRequested:
            // The receiver lost a picture (PLI/FIR): ask the camera, at most twice a second.
            let now = ContinuousClock.now
            if let last = lastKeyframeRequest, now - last < .milliseconds(500) { return }
            lastKeyframeRequest = now
            keyframeRequests += 1
            onKeyframeNeeded()
        }
    }

    private func checkConnected(timeout: Duration) {
        guard phase == .answered, connectionState != .connected else { return }
        fail(.connectTimedOut(seconds: timeout.seconds))
    }

    private func fail(_ error: WebRTCError) {
        guard phase != .stopped else { return }
        signalSink.yield(.failed(error))
        Task { await self.stop() }
    }
}

private let webrtcPipelineFinalized: GWeakNotify = { _, _ in
    WebRTCGraph.livePipelines.subtract(1, ordering: .relaxed)
}

/// The peer's pipeline and its media inputs.
final class WebRTCGraph: @unchecked Sendable {
    /// Peer pipelines not yet finalized (a leak check for tests).
    static let livePipelines = Atomic<Int>(0)
    let pipeline: ElementPointer
    let webrtc: ElementPointer
    let feed: PeerFeed
    let stopping = Atomic<Bool>(false)
    private let released = Atomic<Bool>(false)

    init(tracks: WebRTCTracks, configuration: WebRTCConfiguration) throws(WebRTCError) {
        func make(_ factory: String, _ name: String) throws(WebRTCError) -> ElementPointer {
            do {
                return try makeElement(factory, name: name)
            } catch {
                throw .missingElement(factory, package: MediaRuntime.package(providing: factory))
            }
        }
        let pipeline = try make("pipeline", "booth-webrtc")
        _ = gst_object_ref_sink(UnsafeMutableRawPointer(pipeline))
        Self.livePipelines.add(1, ordering: .relaxed)
        g_object_weak_ref(booth_g_object(pipeline), webrtcPipelineFinalized, nil)
        let bin = booth_gst_bin(pipeline)
        var video: ElementPointer?
        var audio: ElementPointer?
        let webrtc: ElementPointer
        do {
            func add(_ factory: String, _ name: String) throws(WebRTCError) -> ElementPointer {
                let element = try make(factory, name)
                gst_bin_add(bin, element)
                return element
            }
            func link(_ elements: [ElementPointer]) throws(WebRTCError) {
                for (from, to) in zip(elements, elements.dropFirst()) where gst_element_link(from, to) == 0 {
                    throw .linkFailed(
                        elementName(UnsafeMutableRawPointer(from).assumingMemoryBound(to: GstObject.self)),
                        elementName(UnsafeMutableRawPointer(to).assumingMemoryBound(to: GstObject.self))
                    )
                }
            }
            func caps(_ element: ElementPointer, _ text: String) throws(WebRTCError) {
                do { try setCaps(element, "caps", text) } catch { throw .invalidConfiguration("caps \(text)") }
            }
            func source(_ name: String, caps text: String) throws(WebRTCError) -> ElementPointer {
                let source = try add("appsrc", name)
                try caps(source, text)
                booth_g_object_set_bool(source, "is-live", 1)
                // Timestamps come from the source pipelines (capture times), mapped onto this pipeline's running
                // time: stamping on arrival would carry the fan-out's scheduling jitter into RTP timestamps, and
                // a receiver conceals audio wherever timestamps advance faster than samples.
                booth_g_object_set_bool(source, "do-timestamp", 0)
                booth_g_object_set_bool(source, "block", 0)
                setArg(source, "format", "time")
                // Bounded: a stalled connection drops the oldest media instead of growing memory.
                booth_g_object_set_uint(source, "max-buffers", 64)
                setArg(source, "leaky-type", "downstream")
                return source
            }
            webrtc = try add("webrtcbin", "webrtc")
            setArg(webrtc, "bundle-policy", "max-bundle")
            booth_g_object_set_uint(webrtc, "latency", guint(configuration.latencyMilliseconds))
            if let stun = configuration.stunServer { booth_g_object_set_string(webrtc, "stun-server", stun) }
            if let turn = configuration.turnServer { booth_g_object_set_string(webrtc, "turn-server", turn) }
            if tracks.video {
                let input = try source("video-in", caps: "video/x-h264,stream-format=byte-stream,alignment=au")
                let parse = try add("h264parse", "video-parse")
                let pay = try add("rtph264pay", "video-pay")
                booth_g_object_set_int(pay, "config-interval", -1)
                setArg(pay, "aggregate-mode", "zero-latency")
                booth_g_object_set_uint(pay, "pt", 96)
                let rtp = try add("capsfilter", "video-rtp")
                try caps(rtp, "application/x-rtp,media=video,encoding-name=H264,payload=96,clock-rate=90000")
                var chain = [input, parse, pay, rtp, webrtc]
                if configuration.injectedVideoLoss > 0 {
                    let drop = try add("identity", "video-loss")
                    booth_g_object_set_double(drop, "drop-probability", min(1, configuration.injectedVideoLoss))
                    chain.insert(drop, at: 3)
                }
                try link(chain)
                video = input
            }
            if tracks.audio {
                let input = try source(
                    "audio-in",
                    caps: "audio/x-opus,channel-mapping-family=(int)0,channels=(int)1,rate=(int)48000"
                )
                let pay = try add("rtpopuspay", "audio-pay")
                booth_g_object_set_uint(pay, "pt", 111)
                let rtp = try add("capsfilter", "audio-rtp")
                try caps(rtp, "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000")
                try link([input, pay, rtp, webrtc])
                audio = input
            }
        } catch {
            gst_object_unref(UnsafeMutableRawPointer(pipeline))
            throw error
        }
        self.pipeline = pipeline
        self.webrtc = webrtc
        self.feed = PeerFeed(pipeline: pipeline, video: video, audio: audio)
    }

    /// Pops the bus until stopping; an element error is reported once and ends the watch.
    func watchBus(report: @Sendable (String) -> Void) {
        guard let bus = gst_element_get_bus(pipeline) else { return }
        defer { gst_object_unref(UnsafeMutableRawPointer(bus)) }
        while !stopping.load(ordering: .acquiring) {
            guard let message = gst_bus_timed_pop_filtered(bus, 100_000_000, GST_MESSAGE_ERROR) else { continue }
            var error: UnsafeMutablePointer<GError>?
            var debug: UnsafeMutablePointer<gchar>?
            gst_message_parse_error(message, &error, &debug)
            let source = elementName(booth_gst_message_src(message))
            let text = error.flatMap { $0.pointee.message.map { String(cString: $0) } } ?? "unknown error"
            if let error { g_error_free(error) }
            g_free(debug)
            gst_mini_object_unref(UnsafeMutableRawPointer(message).assumingMemoryBound(to: GstMiniObject.self))
            report("\(source): \(text)")
            return
        }
    }

    /// NULL state and the last reference: webrtcbin and everything inside it is finalized. Idempotent.
    func release() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        feed.close()
        gst_element_set_state(pipeline, GST_STATE_NULL)
        gst_object_unref(UnsafeMutableRawPointer(pipeline))
    }

    deinit { release() }
}

/// The peer's appsrc inputs. Pushes and the release of the pipeline are serialized by one lock, so no push
/// ever touches a released element.
final class PeerFeed: @unchecked Sendable {
    private struct State {
        var open = true
        var awaitingKeyframe = true
        var videoBytes = 0
        var audioBytes = 0
        var videoClock = TimestampMap()
        var audioClock = TimestampMap()
    }
    private let pipeline: ElementPointer
    private let video: ElementPointer?
    private let audio: ElementPointer?
    private let state = Mutex(State())

    var videoInput: ElementPointer? { video }

    init(pipeline: ElementPointer, video: ElementPointer?, audio: ElementPointer?) {
        self.pipeline = pipeline
        self.video = video
        self.audio = audio
    }

    /// This pipeline's running time (ns), nil before PLAYING.
    private func runningTime() -> Int64? {
        guard let clock = gst_element_get_clock(pipeline) else { return nil }
        defer { gst_object_unref(UnsafeMutableRawPointer(clock)) }
        let now = gst_clock_get_time(clock)
        let base = gst_element_get_base_time(pipeline)
        return now >= base ? Int64(now - base) : nil
    }

    func close() { state.withLock { $0.open = false } }

    /// Skips delta frames until the next keyframe (a decoder cannot start on them).
    func awaitKeyframe() { state.withLock { $0.awaitingKeyframe = true } }

    var sentBytes: (video: Int, audio: Int) { state.withLock { ($0.videoBytes, $0.audioBytes) } }

    func pushVideo(_ chunk: EncodedVideoChunk) {
        guard let video else { return }
        state.withLock { state in
            guard state.open else { return }
            if state.awaitingKeyframe, !chunk.isKeyframe { return }
            guard let now = runningTime() else { return }
            let pts = state.videoClock.map(chunk.presentationTime?.nanoseconds, now: now)
            // Before PLAYING appsrc refuses buffers (flushing): the gate stays closed until one is taken.
            guard Self.push(chunk.data, to: video, pts: pts, duration: 0) else { return }
            state.awaitingKeyframe = false
            state.videoBytes += chunk.data.count
        }
    }

    func pushAudio(_ packet: OpusPacket) {
        guard let audio else { return }
        state.withLock { state in
            guard state.open else { return }
            guard let now = runningTime() else { return }
            let pts = state.audioClock.map(Int64(clamping: packet.pts), now: now)
            if Self.push(packet.data, to: audio, pts: pts, duration: packet.duration) {
                state.audioBytes += packet.data.count
            }
        }
    }

    private static func push(_ bytes: [UInt8], to source: ElementPointer, pts: Int64, duration: UInt64) -> Bool {
        guard !bytes.isEmpty, let buffer = gst_buffer_new_allocate(nil, gsize(bytes.count), nil) else { return false }
        _ = bytes.withUnsafeBytes { gst_buffer_fill(buffer, 0, $0.baseAddress, gsize($0.count)) }
        booth_webrtc_buffer_set_timing(buffer, GstClockTime(max(0, pts)), GstClockTime(duration))
        return gst_app_src_push_buffer(booth_gst_app_src(source), buffer) == GST_FLOW_OK
    }
}

/// Maps a source pipeline's timestamps onto a peer pipeline's running time with a fixed offset, taken at the
/// first buffer: the spacing between buffers stays exactly the source's (sample-accurate RTP timestamps).
/// A source that restarts (timestamps jump back, or drift more than `tolerance` from arrival) is re-anchored.
struct TimestampMap {
    var offset: Int64?
    var tolerance: Int64 = 500_000_000

    /// The peer-pipeline timestamp for a source timestamp (`now` when the source has none).
    mutating func map(_ source: Int64?, now: Int64) -> Int64 {
        guard let source else { return now }
        if let offset, abs(source + offset - now) <= tolerance { return source + offset }
        offset = now - source
        return now
    }
}
