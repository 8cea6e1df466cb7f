import BoothCore
import CBoothShim
import CGStreamer
import Synchronization

typealias ElementPointer = UnsafeMutablePointer<GstElement>

/// Called by GObject when a tracked element is finalized.
private let elementFinalized: GWeakNotify = { _, _ in
    MediaDiagnostics.liveElements.subtract(1, ordering: .relaxed)
}

/// Called by GObject when an element counted in a `MediaTally` is finalized; releases the tally.
private let tallyFinalized: GWeakNotify = { data, _ in
    guard let data else { return }
    Unmanaged<MediaTally>.fromOpaque(data).takeRetainedValue().elements.subtract(1, ordering: .relaxed)
}

/// Counts a new element (or pipeline) in the diagnostics, and in the task's tally when one is set.
func trackElement(_ element: ElementPointer) {
    MediaDiagnostics.liveElements.add(1, ordering: .relaxed)
    g_object_weak_ref(booth_g_object(element), elementFinalized, nil)
    if let tally = MediaDiagnostics.tally {
        tally.elements.add(1, ordering: .relaxed)
        g_object_weak_ref(booth_g_object(element), tallyFinalized, Unmanaged.passRetained(tally).toOpaque())
    }
}

/// Creates an element, mapping a missing factory to the Debian package that provides it.
func makeElement(_ factory: String, name: String) throws(CameraError) -> ElementPointer {
    MediaRuntime.initialize()
    guard let element = gst_element_factory_make(factory, name) else {
        throw .missingElement(factory, package: MediaRuntime.package(providing: factory))
    }
    trackElement(element)
    return element
}

func makeCaps(_ text: String) -> UnsafeMutablePointer<GstCaps>? {
    gst_caps_from_string(text)
}

func setCaps(_ element: ElementPointer, _ property: String, _ text: String) throws(CameraError) {
    guard let caps = makeCaps(text) else { throw .invalidConfiguration("caps '\(text)' do not parse") }
    booth_g_object_set_caps(element, property, caps)
    gst_mini_object_unref(UnsafeMutableRawPointer(caps).assumingMemoryBound(to: GstMiniObject.self))
}

func setArg(_ element: ElementPointer, _ property: String, _ value: String) {
    booth_gst_util_set_object_arg(element, property, value)
}

func elementName(_ object: UnsafeMutablePointer<GstObject>?) -> String {
    guard let object, let name = gst_object_get_name(object) else { return "?" }
    defer { g_free(name) }
    return String(cString: name)
}

/// Raw caps for a mode, e.g. `video/x-raw,width=640,height=360,framerate=30/1`.
func rawCaps(_ mode: VideoMode, format: String? = nil) -> String {
    var caps = "video/x-raw"
    if let format { caps += ",format=\(format)" }
    return caps + ",width=\(mode.width),height=\(mode.height),framerate=\(mode.framesPerSecond)/1"
}

/// One built GStreamer pipeline (source → tee → live / preview / still branches) and the elements boothd drives.
///
/// Owns one reference to the pipeline; element pointers stay valid while it lives. GStreamer objects are
/// thread-safe reference-counted objects, so the instance is shared with its pull and bus threads.
final class PipelineGraph: @unchecked Sendable {
    let pipeline: ElementPointer
    let source: ElementPointer
    let sourceNext: ElementPointer
    let sourceOutput: ElementPointer
    let tee: ElementPointer
    let liveCaps: ElementPointer
    let encoder: ElementPointer
    /// Which H.264 encoder the live branch runs (and how its bit rate is set).
    let encoderSpec: H264EncoderSpec
    let liveSink: ElementPointer
    let previewSink: ElementPointer
    let stillValve: ElementPointer
    let stillSink: ElementPointer
    let bus: UnsafeMutablePointer<GstBus>
    /// The factory of every element added, in order (`factories(for:)` must list the same).
    let factories: [String]

    init(configuration: CameraConfiguration, rung: VideoRung, encoderKbps: Int) throws(CameraError) {
        MediaRuntime.initialize()
        guard let pipeline = gst_pipeline_new("booth-camera") else {
            throw .missingElement("pipeline", package: "libgstreamer1.0-0")
        }
        trackElement(pipeline)
        _ = gst_object_ref_sink(UnsafeMutableRawPointer(pipeline))
        self.pipeline = pipeline
        let bin = booth_gst_bin(pipeline)
        var chain: [ElementPointer] = []
        var factories: [String] = []
        func add(_ factory: String, _ name: String) throws(CameraError) -> ElementPointer {
            factories.append(factory)
            let element = try makeElement(factory, name: name)
            gst_bin_add(bin, element)
            return element
        }
        func link(_ elements: [ElementPointer]) throws(CameraError) {
            for (from, to) in zip(elements, elements.dropFirst()) where gst_element_link(from, to) == 0 {
                throw .linkFailed(
                    elementName(UnsafeMutableRawPointer(from).assumingMemoryBound(to: GstObject.self)),
                    elementName(UnsafeMutableRawPointer(to).assumingMemoryBound(to: GstObject.self))
                )
            }
        }
        do {
            // Source: frames at the source's full resolution, decoded/converted to raw video.
            let mode = configuration.source.mode
            switch configuration.source {
            case .simulated(let pattern, _):
                let source = try add("videotestsrc", "source")
                booth_g_object_set_bool(source, "is-live", 1)
                setArg(source, "pattern", pattern.rawValue)
                let caps = try add("capsfilter", "source-caps")
                try setCaps(caps, "caps", rawCaps(mode))
                // The simulator's picture controls (brightness, contrast, saturation) act here.
                chain = [source, caps, try add("videobalance", PictureAdjustment.elementName)]
            case .v4l2(let device, let format, _):
                let source = try add("v4l2src", "source")
                booth_g_object_set_string(source, "device", device)
                let caps = try add("capsfilter", "source-caps")
                switch format {
                case .mjpeg:
                    try setCaps(
                        caps,
                        "caps",
                        "image/jpeg,width=\(mode.width),height=\(mode.height),framerate=\(mode.framesPerSecond)/1"
                    )
                    chain = [source, caps, try add("jpegdec", "decode")]
                case .raw:
                    try setCaps(caps, "caps", rawCaps(mode))
                    chain = [source, caps]
                }
            }
            self.source = chain[0]
            if let limit = configuration.sourceFrameLimit {
                booth_g_object_set_int(chain[0], "num-buffers", gint(clamping: limit))
            }
            self.sourceNext = chain[1]
            let convert = try add("videoconvert", "convert")
            chain.append(convert)
            self.sourceOutput = convert
            let tee = try add("tee", "split")
            chain.append(tee)
            self.tee = tee
            try link(chain)

            // (a) live H.264: scaled and paced to the rung, a low-latency CBR encoder (media.encoder) under the budget.
            let liveQueue = try add("queue", "live-queue")
            Self.configureLeakyQueue(liveQueue, buffers: 2)
            let liveScale = try add("videoscale", "live-scale")
            let liveRate = try add("videorate", "live-rate")
            booth_g_object_set_bool(liveRate, "drop-only", 1)
            let encoderSpec = try LiveEncoder.resolve(configuration.encoder)
            let liveCaps = try add("capsfilter", "live-caps")
            try setCaps(liveCaps, "caps", rawCaps(rung.mode, format: encoderSpec.inputFormat))
            let encoder = try add(encoderSpec.element, "encoder")
            LiveEncoder.configure(
                encoder,
                encoderSpec,
                H264EncoderParameters(
                    targetKbps: encoderKbps,
                    keyframeInterval: rung.mode.framesPerSecond * configuration.ladder.keyframeIntervalSeconds,
                    x264Preset: configuration.encoderPreset,
                    vbvMilliseconds: configuration.ladder.vbvMilliseconds
                )
            )
            // Constrained baseline: the profile every WebRTC receiver (browsers included) decodes.
            let h264Caps = try add("capsfilter", "live-h264-caps")
            try setCaps(
                h264Caps,
                "caps",
                "video/x-h264,stream-format=byte-stream,alignment=au,profile=constrained-baseline"
            )
            let liveSink = try add("appsink", "live-sink")
            Self.configureAppSink(liveSink, maxBuffers: 60, drop: true)
            try link([tee, liveQueue, liveScale, liveRate, liveCaps, encoder, h264Caps, liveSink])
            self.liveCaps = liveCaps
            self.encoder = encoder
            self.encoderSpec = encoderSpec
            self.liveSink = liveSink

            // (b) preview: small JPEG frames, a leaky queue so a slow consumer never delays the live branch.
            let preview = configuration.previewMode
            let previewQueue = try add("queue", "preview-queue")
            Self.configureLeakyQueue(previewQueue, buffers: 1)
            let previewScale = try add("videoscale", "preview-scale")
            let previewRate = try add("videorate", "preview-rate")
            booth_g_object_set_bool(previewRate, "drop-only", 1)
            let previewCaps = try add("capsfilter", "preview-caps")
            try setCaps(previewCaps, "caps", rawCaps(preview))
            let previewEncoder = try add("jpegenc", "preview-jpeg")
            booth_g_object_set_int(previewEncoder, "quality", gint(configuration.previewQuality))
            let previewSink = try add("appsink", "preview-sink")
            Self.configureAppSink(previewSink, maxBuffers: 2, drop: true)
            try link([tee, previewQueue, previewScale, previewRate, previewCaps, previewEncoder, previewSink])
            self.previewSink = previewSink

            // (c) still: full resolution; the valve opens on command so idle stills cost no JPEG encoding.
            let stillQueue = try add("queue", "still-queue")
            Self.configureLeakyQueue(stillQueue, buffers: 1)
            let valve = try add("valve", "still-valve")
            setArg(valve, "drop-mode", "forward-sticky-events")
            booth_g_object_set_bool(valve, "drop", 1)
            let stillEncoder = try add("jpegenc", "still-jpeg")
            booth_g_object_set_int(stillEncoder, "quality", gint(configuration.snapshotQuality))
            let stillSink = try add("appsink", "still-sink")
            Self.configureAppSink(stillSink, maxBuffers: 1, drop: true)
            // The closed valve passes no buffer, so this sink must not hold the pipeline's state change.
            booth_g_object_set_bool(stillSink, "async", 0)
            try link([tee, stillQueue, valve, stillEncoder, stillSink])
            self.stillValve = valve
            self.stillSink = stillSink
        } catch {
            gst_object_unref(UnsafeMutableRawPointer(pipeline))
            throw error
        }
        guard let bus = gst_pipeline_get_bus(booth_gst_pipeline(pipeline)) else {
            gst_object_unref(UnsafeMutableRawPointer(pipeline))
            throw .missingElement("bus", package: "libgstreamer1.0-0")
        }
        self.bus = bus
        self.factories = factories
    }

    /// The element factories a camera's pipeline is built from, in the order `init` adds them.
    static func factories(for configuration: CameraConfiguration) throws(CameraError) -> [String] {
        let source: [String] =
            switch configuration.source {
            case .simulated: ["videotestsrc", "capsfilter", "videobalance"]
            case .v4l2(_, .mjpeg, _): ["v4l2src", "capsfilter", "jpegdec"]
            case .v4l2(_, .raw, _): ["v4l2src", "capsfilter"]
            }
        let encoder = try LiveEncoder.resolve(configuration.encoder).element
        let live = ["queue", "videoscale", "videorate", "capsfilter", encoder, "capsfilter", "appsink"]
        let preview = ["queue", "videoscale", "videorate", "capsfilter", "jpegenc", "appsink"]
        let still = ["queue", "valve", "jpegenc", "appsink"]
        return source + ["videoconvert", "tee"] + live + preview + still
    }

    /// Throws `missingElement` (with the package to install) for the first factory of the camera's pipeline that
    /// is not installed. Asks the registry only: no plugin is loaded, nothing is built.
    static func checkElements(_ configuration: CameraConfiguration) throws(CameraError) {
        for factory in try factories(for: configuration) where !MediaRuntime.hasElement(factory) {
            throw .missingElement(factory, package: MediaRuntime.package(providing: factory))
        }
    }

    deinit {
        gst_element_set_state(pipeline, GST_STATE_NULL)
        gst_object_unref(UnsafeMutableRawPointer(bus))
        gst_object_unref(UnsafeMutableRawPointer(pipeline))
    }

    /// Applies a ladder rung while playing: new caps renegotiate the scaler/rate, the encoder takes the new bit rate.
    func apply(rung: VideoRung, encoderKbps: Int) throws(CameraError) {
        if let setting = encoderSpec.bitrateSetting(kbps: encoderKbps) {
            setArg(encoder, setting.property, setting.value)
        }
        // Keyframe spacing is fixed once the encoder runs; a rebuilt pipeline (restart) picks up the rung's value.
        try setCaps(liveCaps, "caps", rawCaps(rung.mode, format: encoderSpec.inputFormat))
    }

    func setStillValveOpen(_ open: Bool) {
        booth_g_object_set_bool(stillValve, "drop", open ? 0 : 1)
    }

    /// Cuts the source off from the rest of the pipeline, as a pulled cable would (tests the fault path).
    func disconnectSource() {
        gst_element_unlink(source, sourceNext)
    }

    /// Pauses the source: a live source then sends nothing and reports nothing, like a wedged camera.
    func pauseSource() {
        gst_element_set_state(source, GST_STATE_PAUSED)
    }

    private static func configureLeakyQueue(_ queue: ElementPointer, buffers: Int) {
        booth_g_object_set_uint(queue, "max-size-buffers", guint(buffers))
        booth_g_object_set_uint(queue, "max-size-bytes", 0)
        setArg(queue, "max-size-time", "0")
        setArg(queue, "leaky", "downstream")
    }

    private static func configureAppSink(_ sink: ElementPointer, maxBuffers: Int, drop: Bool) {
        booth_g_object_set_bool(sink, "sync", 0)
        booth_g_object_set_uint(sink, "max-buffers", guint(maxBuffers))
        booth_g_object_set_bool(sink, "drop", drop ? 1 : 0)
        booth_g_object_set_bool(sink, "emit-signals", 0)
    }
}
