import CBoothShim
import CGStreamer
import Foundation
import Synchronization

/// A GStreamer object pointer that may cross threads. GStreamer objects are reference-counted with atomic
/// operations and their element API is thread-safe; the pointer itself never changes after the graph is built,
/// and state changes are made only by the pipeline's owning actor.
struct GstPointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
    var raw: UnsafeMutableRawPointer { UnsafeMutableRawPointer(pointer) }
}

typealias AudioElementPointer = GstPointer<GstElement>

/// Element-by-element construction of audio pipelines (no gst_parse_launch).
enum AudioGst {
    /// Debian package of each element the audio pipelines use, for error messages.
    static let packages: [String: String] = [
        "alsasrc": "gstreamer1.0-alsa",
        "audiotestsrc": "gstreamer1.0-plugins-base",
        "audioconvert": "gstreamer1.0-plugins-base",
        "audioresample": "gstreamer1.0-plugins-base",
        "appsrc": "gstreamer1.0-plugins-base",
        "appsink": "gstreamer1.0-plugins-base",
        "opusenc": "gstreamer1.0-plugins-base",
        "level": "gstreamer1.0-plugins-good",
        "audiocheblimit": "gstreamer1.0-plugins-good",
        "flacenc": "gstreamer1.0-plugins-good",
        "flacdec": "gstreamer1.0-plugins-good",
        "flacparse": "gstreamer1.0-plugins-good",
    ]

    static func make(_ factory: String, _ name: String) throws(StethoscopeError) -> AudioElementPointer {
        MediaRuntime.initialize()
        guard let element = gst_element_factory_make(factory, name) else {
            throw .missingElement(element: factory, package: packages[factory] ?? "libgstreamer1.0-0")
        }
        return AudioElementPointer(element)
    }

    static func capsFilter(_ name: String, _ caps: String) throws(StethoscopeError) -> AudioElementPointer {
        let element = try make("capsfilter", name)
        try setCaps(element, "caps", caps)
        return element
    }

    /// An `appsrc` that boothd pushes timestamped buffers into, with fixed caps.
    static func appSource(_ name: String, caps: String) throws(StethoscopeError) -> AudioElementPointer {
        let source = try make("appsrc", name)
        try setCaps(source, "caps", caps)
        booth_gst_util_set_object_arg(source.raw, "format", "time")
        return source
    }

    static func setCaps(_ element: AudioElementPointer, _ property: String, _ caps: String) throws(StethoscopeError) {
        guard let parsed = gst_caps_from_string(caps) else {
            throw .invalidArgument(name: "caps", reason: "GStreamer cannot parse '\(caps)'")
        }
        booth_audio_set_caps(element.raw, property, parsed)
        gst_caps_unref(parsed)
    }

    /// Adds the elements to the bin (which takes ownership) and links them in order.
    static func addAndLink(_ bin: AudioElementPointer, _ chain: [AudioElementPointer]) throws(StethoscopeError) {
        for element in chain {
            gst_bin_add(booth_gst_bin(bin.pointer), element.pointer)
        }
        try link(chain)
    }

    static func link(_ chain: [AudioElementPointer]) throws(StethoscopeError) {
        for (from, to) in zip(chain, chain.dropFirst()) where gst_element_link(from.pointer, to.pointer) == 0 {
            throw .linkFailed(from: name(of: from), to: name(of: to))
        }
    }

    static func name(of element: AudioElementPointer) -> String {
        guard
            let text = gst_object_get_name(UnsafeMutableRawPointer(element.raw).assumingMemoryBound(to: GstObject.self))
        else { return "?" }
        defer { g_free(text) }
        return String(cString: text)
    }

    /// The pipeline's current running time (clock time minus base time), or nil before PLAYING.
    static func runningTime(_ pipeline: AudioElementPointer) -> UInt64? {
        guard let clock = gst_element_get_clock(pipeline.pointer) else { return nil }
        defer { gst_object_unref(UnsafeMutableRawPointer(clock)) }
        let now = gst_clock_get_time(clock)
        let base = gst_element_get_base_time(pipeline.pointer)
        return now >= base ? UInt64(now - base) : nil
    }
}

/// A parsed bus message, copied out of GStreamer so it can cross to async code.
enum AudioBusMessage: Sendable {
    case level(element: String, endTime: UInt64, rms: [Double], peak: [Double])
    case error(element: String, message: String, debug: String)
    case warning(element: String, message: String)
    case endOfStream
}

extension AudioBusMessage {
    static func parse(_ message: UnsafeMutablePointer<GstMessage>) -> AudioBusMessage? {
        let source = sourceName(message)
        switch booth_gst_message_type(message) {
        case GST_MESSAGE_EOS:
            return .endOfStream
        case GST_MESSAGE_ERROR, GST_MESSAGE_WARNING:
            var error: UnsafeMutablePointer<GError>?
            var debug: UnsafeMutablePointer<gchar>?
            let isError = booth_gst_message_type(message) == GST_MESSAGE_ERROR
            if isError {
                gst_message_parse_error(message, &error, &debug)
            } else {
                gst_message_parse_warning(message, &error, &debug)
            }
            let text = error.flatMap { $0.pointee.message.map { String(cString: $0) } } ?? "unknown error"
            let detail = debug.map { String(cString: $0) } ?? ""
            if let error { g_error_free(error) }
            g_free(debug)
            return isError
                ? .error(element: source, message: text, debug: detail) : .warning(element: source, message: text)
        case GST_MESSAGE_ELEMENT:
            guard let structure = gst_message_get_structure(message), gst_structure_has_name(structure, "level") != 0
            else { return nil }
            var endTime: guint64 = 0
            _ = gst_structure_get_uint64(structure, "endtime", &endTime)
            return .level(
                element: source,
                endTime: UInt64(endTime),
                rms: doubles(structure, "rms"),
                peak: doubles(structure, "peak")
            )
        default:
            return nil
        }
    }

    private static func doubles(_ structure: UnsafePointer<GstStructure>, _ field: String) -> [Double] {
        var values = [Double](repeating: 0, count: 16)
        let count = values.withUnsafeMutableBufferPointer {
            booth_audio_structure_doubles(structure, field, $0.baseAddress, Int32($0.count))
        }
        return count <= 0 ? [] : Array(values.prefix(Int(count)))
    }

    private static func sourceName(_ message: UnsafeMutablePointer<GstMessage>) -> String {
        guard let source = message.pointee.src, let text = gst_object_get_name(source) else { return "pipeline" }
        defer { g_free(text) }
        return String(cString: text)
    }
}

/// A loop on a dedicated OS thread (blocking GStreamer calls must not occupy the 2-thread cooperative pool).
/// The body is called repeatedly until it returns false or `stop()` is called; each call should block at most
/// ~100 ms so that stopping is prompt.
final class AudioWorkerThread: Sendable {
    private let stopping = Atomic<Bool>(false)
    private let finished = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    init(name: String, body: @escaping @Sendable () -> Bool) {
        let thread = Thread { [self] in
            while !self.stopping.load(ordering: .acquiring), body() {}
            let waiters = self.finished.withLock { state in
                state.done = true
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
        thread.name = name
        thread.start()
    }

    var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// Asks the loop to end and waits until it has.
    func stop() async {
        stopping.store(true, ordering: .releasing)
        await join()
    }

    /// Waits until the loop has ended by itself.
    func join() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = finished.withLock { state in
                if state.done { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }
}
