import CBoothShim
import CGStreamer

/// Decodes JPEG bytes with GStreamer's `jpegdec` to prove they are a complete, decodable image.
public enum JPEGProbe {
    /// Errors of `decode`.
    public enum ProbeError: Error, Sendable, Hashable, CustomStringConvertible {
        case notDecodable(String)
        case missingElement(String, package: String)

        public var description: String {
            switch self {
            case .notDecodable(let why): "JPEG does not decode: \(why)"
            case .missingElement(let element, let package):
                "GStreamer element '\(element)' is missing: install the Debian package \(package)"
            }
        }
    }

    /// Decodes the image (bounded by `timeout`) and returns its size as decoded.
    public static func decode(
        _ jpeg: [UInt8],
        timeout: Duration = .seconds(5)
    ) throws(ProbeError) -> (width: Int, height: Int) {
        MediaRuntime.initialize()
        guard let pipeline = gst_pipeline_new("booth-jpeg-probe") else { throw .notDecodable("no pipeline") }
        _ = gst_object_ref_sink(UnsafeMutableRawPointer(pipeline))
        defer {
            gst_element_set_state(pipeline, GST_STATE_NULL)
            gst_object_unref(UnsafeMutableRawPointer(pipeline))
        }
        var elements: [ElementPointer] = []
        for factory in ["appsrc", "jpegdec", "appsink"] {
            guard let element = gst_element_factory_make(factory, nil) else {
                throw .missingElement(factory, package: MediaRuntime.package(providing: factory))
            }
            gst_bin_add(booth_gst_bin(pipeline), element)
            elements.append(element)
        }
        let source = elements[0]
        let sink = elements[2]
        if let caps = gst_caps_from_string("image/jpeg") {
            booth_g_object_set_caps(source, "caps", caps)
            gst_mini_object_unref(UnsafeMutableRawPointer(caps).assumingMemoryBound(to: GstMiniObject.self))
        }
        booth_gst_util_set_object_arg(source, "format", "time")
        booth_g_object_set_bool(sink, "sync", 0)
        guard gst_element_link(elements[0], elements[1]) != 0, gst_element_link(elements[1], elements[2]) != 0 else {
            throw .notDecodable("cannot link appsrc ! jpegdec ! appsink")
        }
        gst_element_set_state(pipeline, GST_STATE_PLAYING)
        guard let buffer = jpeg.withUnsafeBytes({ gst_buffer_new_memdup($0.baseAddress, gsize($0.count)) }) else {
            throw .notDecodable("empty input")
        }
        _ = gst_app_src_push_buffer(booth_gst_app_src(source), buffer)
        _ = gst_app_src_end_of_stream(booth_gst_app_src(source))
        guard let sample = gst_app_sink_try_pull_sample(booth_gst_app_sink(sink), GstClockTime(timeout.nanoseconds))
        else {
            let mask = GstMessageType(rawValue: GST_MESSAGE_ERROR.rawValue)
            if let bus = gst_element_get_bus(pipeline) {
                defer { gst_object_unref(UnsafeMutableRawPointer(bus)) }
                if let message = gst_bus_pop_filtered(bus, mask) {
                    defer {
                        gst_mini_object_unref(
                            UnsafeMutableRawPointer(message).assumingMemoryBound(to: GstMiniObject.self)
                        )
                    }
                    throw .notDecodable(BusWatcher.fault(from: message).map { "\($0)" } ?? "error")
                }
            }
            throw .notDecodable("no decoded frame")
        }
        defer { gst_mini_object_unref(UnsafeMutableRawPointer(sample).assumingMemoryBound(to: GstMiniObject.self)) }
        guard let decoded = SampleData(sample), decoded.width > 0, decoded.height > 0, !decoded.bytes.isEmpty else {
            throw .notDecodable("decoded frame has no size")
        }
        return (decoded.width, decoded.height)
    }
}
