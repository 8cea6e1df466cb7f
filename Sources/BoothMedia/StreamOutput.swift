import CBoothShim
import CGStreamer
import Foundation
import Synchronization

/// Where the live H.264 stream is also sent, besides WebRTC: RTP over UDP or MPEG-TS over SRT.
///
/// Written as a URL: `rtp://127.0.0.1:5004` (RTP/H.264, payload type 96, to that host and port),
/// `srt://127.0.0.1:7001?mode=listener` (boothd waits for a receiver) or `srt://host:7001?mode=caller` (boothd
/// connects to a listening receiver), with an optional `latency=<ms>` (SRT's retransmission window, default 120).
public enum StreamOutputTarget: Sendable, Hashable, CustomStringConvertible {
    case rtp(host: String, port: Int)
    case srt(host: String, port: Int, mode: SRTMode, latencyMilliseconds: Int)

    public enum SRTMode: String, Sendable, Hashable, CaseIterable {
        case listener, caller
    }

    /// Parses an output URL; the error names the URL and what is wrong with it.
    public static func parse(_ text: String) throws(CameraError) -> StreamOutputTarget {
        func invalid(_ why: String) -> CameraError {
            .invalidConfiguration("stream output \"\(text.prefix(200))\": \(why)")
        }
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased() else {
            throw invalid("expected rtp://HOST:PORT or srt://HOST:PORT?mode=listener|caller")
        }
        guard let host = url.host, !host.isEmpty else { throw invalid("no host") }
        guard let port = url.port, (1...65535).contains(port) else { throw invalid("no port (1-65535)") }
        guard url.path.isEmpty || url.path == "/" else { throw invalid("unexpected path \(url.path)") }
        let query = Dictionary((url.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        switch scheme {
        case "rtp":
            guard query.isEmpty else { throw invalid("rtp outputs take no parameters") }
            return .rtp(host: host, port: port)
        case "srt":
            let unknown = Set(query.keys).subtracting(["mode", "latency"])
            guard unknown.isEmpty else {
                throw invalid("unknown parameter \(unknown.sorted().joined(separator: ", "))")
            }
            guard let mode = SRTMode(rawValue: query["mode"] ?? "listener") else {
                throw invalid("mode must be listener or caller")
            }
            var latency = 120
            if let text = query["latency"] {
                guard let value = Int(text), (20...8000).contains(value) else {
                    throw invalid("latency must be 20...8000 ms")
                }
                latency = value
            }
            return .srt(host: host, port: port, mode: mode, latencyMilliseconds: latency)
        default:
            throw invalid("unknown scheme \(scheme) (rtp or srt)")
        }
    }

    public var description: String {
        switch self {
        case .rtp(let host, let port): "rtp://\(host):\(port)"
        case .srt(let host, let port, let mode, let latency):
            "srt://\(host):\(port)?mode=\(mode.rawValue)&latency=\(latency)"
        }
    }

    /// srtsink/srtsrc's `uri`.
    var srtURI: String? {
        guard case .srt(let host, let port, let mode, let latency) = self else { return nil }
        return "srt://\(host):\(port)?mode=\(mode.rawValue)&latency=\(latency)"
    }
}

/// Elements of the optional outputs and receivers, with their Debian packages (not required by the doctor:
/// only a configured output needs them).
enum StreamOutputElements {
    static let packages: [String: String] = [
        "udpsink": "gstreamer1.0-plugins-good",
        "udpsrc": "gstreamer1.0-plugins-good",
        "rtph264depay": "gstreamer1.0-plugins-good",
        "srtsink": "gstreamer1.0-plugins-bad",
        "srtsrc": "gstreamer1.0-plugins-bad",
        "mpegtsmux": "gstreamer1.0-plugins-bad",
        "tsdemux": "gstreamer1.0-plugins-bad",
        "decodebin": "gstreamer1.0-plugins-base",
        "openh264dec": "gstreamer1.0-plugins-bad",
        "appsrc": "gstreamer1.0-plugins-base",
    ]

    static func make(_ factory: String, _ name: String) throws(CameraError) -> ElementPointer {
        MediaRuntime.initialize()
        guard let element = gst_element_factory_make(factory, name) else {
            throw .missingElement(factory, package: packages[factory] ?? MediaRuntime.package(providing: factory))
        }
        trackElement(element)
        return element
    }
}

/// One output's pipeline, fed with the camera's already-encoded access units (no second encoder: the output
/// carries exactly the live stream, under the same bit-rate budget):
///
///     appsrc(H.264 AUs) → h264parse → rtph264pay → udpsink         (rtp)
///     appsrc(H.264 AUs) → h264parse → mpegtsmux → srtsink          (srt)
public final class StreamOutput: @unchecked Sendable {
    public let target: StreamOutputTarget
    private let pipeline: ElementPointer
    private let source: ElementPointer
    private let state = Mutex(FeedState())
    private let released = Atomic<Bool>(false)

    private struct FeedState {
        var open = true
        var awaitingKeyframe = true
        var bytes = 0
        var chunks = 0
        var clock = TimestampMap()
    }

    /// Builds the pipeline (not started). A missing element is `missingElement` naming its Debian package.
    public init(target: StreamOutputTarget) throws(CameraError) {
        self.target = target
        MediaRuntime.initialize()
        guard let pipeline = gst_pipeline_new("booth-output") else {
            throw .invalidConfiguration("cannot create a pipeline")
        }
        trackElement(pipeline)
        self.pipeline = pipeline
        var elements: [ElementPointer] = []
        do {
            let source = try StreamOutputElements.make("appsrc", "output-src")
            try setCaps(source, "caps", "video/x-h264,stream-format=byte-stream,alignment=au")
            booth_g_object_set_bool(source, "is-live", 1)
            setArg(source, "format", "time")
            // A stalled network must not grow memory: drop old access units beyond ~2 s at 1 Mbit/s.
            booth_g_object_set_uint(source, "max-bytes", 256 * 1024)
            setArg(source, "leaky-type", "downstream")
            elements.append(source)
            let parse = try StreamOutputElements.make("h264parse", "output-parse")
            booth_g_object_set_int(parse, "config-interval", -1)
            elements.append(parse)
            switch target {
            case .rtp(let host, let port):
                let pay = try StreamOutputElements.make("rtph264pay", "output-pay")
                booth_g_object_set_int(pay, "config-interval", -1)
                booth_g_object_set_uint(pay, "pt", 96)
                booth_g_object_set_uint(pay, "mtu", 1200)
                let sink = try StreamOutputElements.make("udpsink", "output-sink")
                booth_g_object_set_string(sink, "host", host)
                booth_g_object_set_int(sink, "port", Int32(port))
                booth_g_object_set_bool(sink, "sync", 0)
                booth_g_object_set_bool(sink, "async", 0)
                elements += [pay, sink]
            case .srt(_, _, _, let latency):
                let mux = try StreamOutputElements.make("mpegtsmux", "output-mux")
                // SRT live mode sends one message per buffer and refuses those over 1316 bytes: 7 TS packets each
                // (otherwise every keyframe is dropped and the receiver never decodes).
                booth_g_object_set_int(mux, "alignment", 7)
                let sink = try StreamOutputElements.make("srtsink", "output-sink")
                booth_g_object_set_string(sink, "uri", target.srtURI ?? "")
                booth_g_object_set_int(sink, "latency", Int32(latency))
                // Listener without a receiver yet: keep playing, send nothing (not block the pipeline).
                booth_g_object_set_bool(sink, "wait-for-connection", 0)
                booth_g_object_set_bool(sink, "sync", 0)
                booth_g_object_set_bool(sink, "async", 0)
                elements += [mux, sink]
            }
        } catch {
            for element in elements { gst_object_unref(UnsafeMutableRawPointer(element)) }
            gst_object_unref(UnsafeMutableRawPointer(pipeline))
            throw error
        }
        for element in elements { _ = gst_bin_add(booth_gst_bin(pipeline), element) }
        for (from, to) in zip(elements, elements.dropFirst()) where gst_element_link(from, to) == 0 {
            let names = (
                elementName(UnsafeMutableRawPointer(from).assumingMemoryBound(to: GstObject.self)),
                elementName(UnsafeMutableRawPointer(to).assumingMemoryBound(to: GstObject.self))
            )
            gst_object_unref(UnsafeMutableRawPointer(pipeline))
            throw .linkFailed(names.0, names.1)
        }
        source = elements[0]
    }

    deinit { release() }

    /// Sets PLAYING; a sink that cannot open (address in use, unresolvable host) fails here with its error.
    public func start(timeout: Duration = .seconds(5)) async throws(CameraError) {
        let result: Result<Void, CameraError> = await runBlocking(name: "booth-output-start") { [self] in
            let change = gst_element_set_state(pipeline, GST_STATE_PLAYING)
            var state = GST_STATE_NULL
            var pending = GST_STATE_NULL
            let settled = gst_element_get_state(pipeline, &state, &pending, GstClockTime(timeout.nanoseconds))
            if change == GST_STATE_CHANGE_FAILURE || settled == GST_STATE_CHANGE_FAILURE {
                return .failure(
                    .startFailed(
                        Self.busFault(pipeline)
                            ?? .streamFailed(
                                element: "output",
                                domain: "",
                                code: 0,
                                message: "state change to PLAYING failed"
                            )
                    )
                )
            }
            return .success(())
        }
        if case .failure(let error) = result {
            release()
            throw error
        }
    }

    /// Pushes one access unit (from `CameraPipeline.encodedVideo()`); starts at the first keyframe.
    public func push(_ chunk: EncodedVideoChunk) {
        state.withLock { state in
            guard state.open else { return }
            if state.awaitingKeyframe, !chunk.isKeyframe { return }
            guard let now = runningTime(), !chunk.data.isEmpty,
                let buffer = gst_buffer_new_allocate(nil, gsize(chunk.data.count), nil)
            else { return }
            let pts = state.clock.map(chunk.presentationTime?.nanoseconds, now: now)
            _ = chunk.data.withUnsafeBytes { gst_buffer_fill(buffer, 0, $0.baseAddress, gsize($0.count)) }
            booth_webrtc_buffer_set_timing(buffer, GstClockTime(max(0, pts)), 0)
            guard gst_app_src_push_buffer(booth_gst_app_src(source), buffer) == GST_FLOW_OK else { return }
            state.awaitingKeyframe = false
            state.bytes += chunk.data.count
            state.chunks += 1
        }
    }

    /// Access units and payload bytes sent so far.
    public var sent: (chunks: Int, bytes: Int) { state.withLock { ($0.chunks, $0.bytes) } }

    /// An error the output's bus reported since the last call (a sink that lost its socket), if any.
    public func pendingFault() -> CameraFault? { Self.busFault(pipeline) }

    /// Stops the pipeline and releases every element.
    public func release() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        state.withLock { $0.open = false }
        gst_element_set_state(pipeline, GST_STATE_NULL)
        gst_object_unref(UnsafeMutableRawPointer(pipeline))
    }

    private func runningTime() -> Int64? {
        guard let clock = gst_element_get_clock(pipeline) else { return nil }
        defer { gst_object_unref(UnsafeMutableRawPointer(clock)) }
        let now = gst_clock_get_time(clock)
        let base = gst_element_get_base_time(pipeline)
        return now >= base ? Int64(now - base) : nil
    }

    private static func busFault(_ pipeline: ElementPointer) -> CameraFault? {
        guard let bus = gst_element_get_bus(pipeline) else { return nil }
        defer { gst_object_unref(UnsafeMutableRawPointer(bus)) }
        guard let message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR) else { return nil }
        defer { gst_mini_object_unref(UnsafeMutableRawPointer(message).assumingMemoryBound(to: GstMiniObject.self)) }
        return BusWatcher.fault(from: message)
    }
}

/// Sends a camera's live stream to configured outputs for as long as it runs: subscribes to the encoded stream,
/// asks for a keyframe (a receiver cannot start without one) and feeds every output.
public actor StreamOutputRelay {
    public nonisolated let targets: [StreamOutputTarget]
    private var outputs: [StreamOutput] = []
    private var task: Task<Void, Never>?

    public init(targets: [StreamOutputTarget]) {
        self.targets = targets
    }

    /// Starts every output and feeds it from `camera`; on any failure nothing is left running.
    public func start(camera: CameraPipeline) async throws(CameraError) {
        await stop()
        var started: [StreamOutput] = []
        for target in targets {
            do {
                let output = try StreamOutput(target: target)
                try await output.start()
                started.append(output)
            } catch {
                for output in started { output.release() }
                throw error
            }
        }
        outputs = started
        let stream = camera.encodedVideo()
        task = Task {
            for await chunk in stream {
                if Task.isCancelled { return }
                for output in started { output.push(chunk) }
            }
        }
        await camera.requestKeyframe()
    }

    /// Access units and bytes each output sent.
    public var sent: [(target: StreamOutputTarget, chunks: Int, bytes: Int)] {
        outputs.map { ($0.target, $0.sent.chunks, $0.sent.bytes) }
    }

    public func stop() async {
        task?.cancel()
        task = nil
        for output in outputs { output.release() }
        outputs = []
    }
}

/// A receiver for a stream output (tests, `boothctl camera stream-out --verify`): decodes what arrives and
/// reports frames and their size. Built with `gst_parse_launch` (decodebin's pads appear at run time); a missing
/// element is checked first and named with its Debian package.
///
///     udpsrc → rtph264depay → decodebin (h264parse, openh264dec) → appsink     (rtp)
///     srtsrc → decodebin (tsdemux, h264parse, openh264dec) → appsink            (srt)
///
/// decodebin waits for the SPS before it plugs the decoder: openh264dec refuses caps without a profile, which
/// an RTP depayloader sends before its first keyframe.
public final class StreamReceiver: @unchecked Sendable {
    private let pipeline: ElementPointer
    private let sink: ElementPointer
    private let isRTP: Bool
    private let released = Atomic<Bool>(false)

    /// What arrived: decoded frames, their size, bytes of the last frame's caps.
    public struct Received: Sendable, Hashable {
        public var frames: Int
        public var width: Int
        public var height: Int
    }

    /// `rtp`: listens on 127.0.0.1 at the target's port (0: an ephemeral port, see `port`). `srt`: the
    /// opposite side of the target's mode (caller for a listener output).
    public init(for target: StreamOutputTarget) throws(CameraError) {
        let head: String
        let factories: [String]
        switch target {
        case .rtp(let host, let port):
            head =
                "udpsrc name=src address=\(host) port=\(port) "
                + "caps=\"application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96\" "
                + "! rtph264depay"
            factories = ["udpsrc", "rtph264depay"]
        case .srt(let host, let port, let mode, let latency):
            let opposite: StreamOutputTarget.SRTMode = mode == .listener ? .caller : .listener
            head = "srtsrc name=src uri=\"srt://\(host):\(port)?mode=\(opposite.rawValue)&latency=\(latency)\""
            factories = ["srtsrc", "tsdemux"]
        }
        for factory in factories + ["decodebin", "h264parse", "openh264dec", "videoconvert", "appsink"]
        where !MediaRuntime.hasElement(factory) {
            throw .missingElement(
                factory,
                package: StreamOutputElements.packages[factory] ?? MediaRuntime.package(providing: factory)
            )
        }
        let description =
            head + " ! decodebin ! videoconvert ! video/x-raw,format=I420 "
            + "! appsink name=sink sync=false max-buffers=8 drop=true"
        var error: UnsafeMutablePointer<GError>?
        let parsed = gst_parse_launch(description, &error)
        if let error {
            let message = error.pointee.message.map { String(cString: $0) } ?? "?"
            g_error_free(error)
            if let parsed { gst_object_unref(UnsafeMutableRawPointer(parsed)) }
            throw .invalidConfiguration("receiver pipeline: \(message)")
        }
        guard let parsed, let sink = gst_bin_get_by_name(booth_gst_bin(parsed), "sink") else {
            throw .invalidConfiguration("receiver pipeline did not build")
        }
        trackElement(parsed)
        pipeline = parsed
        isRTP = factories[0] == "udpsrc"
        self.sink = sink
        gst_object_unref(UnsafeMutableRawPointer(sink))
    }

    deinit { release() }

    /// Starts receiving (PLAYING; a live source needs no preroll).
    public func start() throws(CameraError) {
        if gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE {
            throw .startFailed(.streamFailed(element: "receiver", domain: "", code: 0, message: "did not start"))
        }
    }

    /// The UDP port the RTP receiver is bound to (after `start()`), or nil for SRT.
    public var port: Int? {
        guard let source = gst_bin_get_by_name(booth_gst_bin(pipeline), "src") else { return nil }
        defer { gst_object_unref(UnsafeMutableRawPointer(source)) }
        guard isRTP else { return nil }
        return Int(booth_g_object_get_uint(source, "port"))
    }

    /// Pulls decoded frames until `frames` arrived or `timeout` passed.
    public func receive(frames wanted: Int, timeout: Duration) async -> Received {
        await runBlocking(name: "booth-output-recv") { [self] in
            var received = Received(frames: 0, width: 0, height: 0)
            let deadline = ContinuousClock.now + timeout
            let appSink = booth_gst_app_sink(sink)
            while received.frames < wanted, ContinuousClock.now < deadline {
                guard let sample = gst_app_sink_try_pull_sample(appSink, 100_000_000) else { continue }
                if let data = SampleData(sample) {
                    received.frames += 1
                    received.width = data.width
                    received.height = data.height
                }
                gst_mini_object_unref(UnsafeMutableRawPointer(sample).assumingMemoryBound(to: GstMiniObject.self))
            }
            return received
        }
    }

    public func release() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        gst_element_set_state(pipeline, GST_STATE_NULL)
        gst_object_unref(UnsafeMutableRawPointer(pipeline))
    }
}

extension StreamOutputElements {
    /// Removes an element factory from the registry while `body` runs (the "plugin not installed" case), for
    /// tests. Other pipelines must not need the element meanwhile.
    static func withoutFactory<T>(_ name: String, _ body: () async throws -> T) async rethrows -> T {
        MediaRuntime.initialize()
        let registry = gst_registry_get()
        guard let feature = gst_registry_lookup_feature(registry, name) else { return try await body() }
        gst_registry_remove_feature(registry, feature)
        defer {
            _ = gst_registry_add_feature(registry, feature)
            gst_object_unref(UnsafeMutableRawPointer(feature))
        }
        return try await body()
    }
}
