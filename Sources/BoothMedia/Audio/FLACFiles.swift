import CBoothShim
import CGStreamer
import Foundation

/// Writes float PCM to a FLAC file (24-bit, at the capture rate) through appsrc → audioconvert → flacenc →
/// filesink. `write` and `finish` may be called from different threads, but not concurrently.
final class FLACFileWriter: @unchecked Sendable {
    let path: String
    let sampleRate: Int
    let channels: Int
    private let pipeline: AudioElementPointer
    private let source: AudioElementPointer
    private var framesWritten: UInt64 = 0

    init(path: String, sampleRate: Int, channels: Int) throws(StethoscopeError) {
        self.path = path
        self.sampleRate = sampleRate
        self.channels = channels
        guard
            FileManager.default.isWritableFile(
                atPath: (path as NSString).deletingLastPathComponent.isEmpty
                    ? "." : (path as NSString).deletingLastPathComponent
            )
        else { throw .writeFailed(path: path, detail: "directory does not exist or is not writable") }
        let pipeline = AudioElementPointer(gst_pipeline_new("flac-writer"))
        let source = try AudioGst.appSource(
            "pcm",
            caps: "audio/x-raw,format=F32LE,layout=interleaved,rate=\(sampleRate),channels=\(channels)"
        )
        let convert = try AudioGst.make("audioconvert", "convert")
        // 24-bit keeps the headroom of quiet body sounds after the filter; no dither noise at that depth.
        let depth = try AudioGst.capsFilter("depth", "audio/x-raw,format=S24_32LE")
        let encoder = try AudioGst.make("flacenc", "flac")
        let sink = try AudioGst.make("filesink", "file")
        booth_g_object_set_string(sink.raw, "location", path)
        try AudioGst.addAndLink(pipeline, [source, convert, depth, encoder, sink])
        self.pipeline = pipeline
        self.source = source
        if gst_element_set_state(pipeline.pointer, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE {
            gst_element_set_state(pipeline.pointer, GST_STATE_NULL)
            gst_object_unref(pipeline.raw)
            throw .writeFailed(path: path, detail: "the FLAC encoder pipeline did not start")
        }
    }

    func write(_ samples: [Float]) {
        let frames = UInt64(samples.count / max(channels, 1))
        let pts = framesWritten * 1_000_000_000 / UInt64(sampleRate)
        framesWritten += frames
        let end = framesWritten * 1_000_000_000 / UInt64(sampleRate)
        _ = AppSrcPush.push(source, samples: samples, pts: pts, duration: end - pts)
    }

    /// Ends the stream and blocks until the file is complete (EOS reached the sink) or an error.
    func finish(timeoutSeconds: Double = 10) throws(StethoscopeError) {
        defer {
            gst_element_set_state(pipeline.pointer, GST_STATE_NULL)
            gst_object_unref(pipeline.raw)
        }
        _ = booth_audio_app_src_end_of_stream(source.pointer)
        guard let bus = gst_element_get_bus(pipeline.pointer) else { return }
        defer { gst_object_unref(UnsafeMutableRawPointer(bus)) }
        let types = GstMessageType(GST_MESSAGE_EOS.rawValue | GST_MESSAGE_ERROR.rawValue)
        guard let message = gst_bus_timed_pop_filtered(bus, GstClockTime(timeoutSeconds * 1e9), types) else {
            throw .timedOut(what: "finishing \(path)", seconds: timeoutSeconds)
        }
        defer { gst_message_unref(message) }
        if case .error(let element, let text, let debug) = AudioBusMessage.parse(message) {
            throw .writeFailed(path: path, detail: "\(element): \(text) \(debug)")
        }
    }
}

/// Decoded contents of a FLAC file.
public struct DecodedAudio: Sendable {
    public var sampleRate: Int
    public var channels: Int
    /// Interleaved float samples.
    public var samples: [Float]
    public var frames: Int { channels > 0 ? samples.count / channels : 0 }
    public var duration: Double { sampleRate > 0 ? Double(frames) / Double(sampleRate) : 0 }
}

/// Reads FLAC files back (filesrc → flacparse → flacdec → audioconvert → appsink), for checks and analysis.
public enum FLACFileReader {
    public static func read(path: String, timeoutSeconds: Double = 30) throws(StethoscopeError) -> DecodedAudio {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw .writeFailed(path: path, detail: "no such readable file")
        }
        let pipeline = AudioElementPointer(gst_pipeline_new("flac-reader"))
        defer {
            gst_element_set_state(pipeline.pointer, GST_STATE_NULL)
            gst_object_unref(pipeline.raw)
        }
        let source = try AudioGst.make("filesrc", "file")
        booth_g_object_set_string(source.raw, "location", path)
        let parse = try AudioGst.make("flacparse", "parse")
        let decoder = try AudioGst.make("flacdec", "decode")
        let convert = try AudioGst.make("audioconvert", "convert")
        let format = try AudioGst.capsFilter("format", "audio/x-raw,format=F32LE,layout=interleaved")
        let sink = try AudioGst.make("appsink", "pcm")
        booth_g_object_set_bool(sink.raw, "sync", 0)
        try AudioGst.addAndLink(pipeline, [source, parse, decoder, convert, format, sink])
        gst_element_set_state(pipeline.pointer, GST_STATE_PLAYING)
        var result = DecodedAudio(sampleRate: 0, channels: 0, samples: [])
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while Date() < deadline {
            switch AppSinkPull.pull(sink, timeout: 100_000_000) {
            case .sample(_, _, let bytes, let rate, let channels):
                result.sampleRate = rate
                result.channels = channels
                result.samples += AppSinkPull.floats(bytes)
            case .endOfStream:
                return result
            case .timeout:
                if let error = popError(pipeline) { throw error }
            }
        }
        throw .timedOut(what: "decoding \(path)", seconds: timeoutSeconds)
    }

    private static func popError(_ pipeline: AudioElementPointer) -> StethoscopeError? {
        guard let bus = gst_element_get_bus(pipeline.pointer) else { return nil }
        defer { gst_object_unref(UnsafeMutableRawPointer(bus)) }
        guard let message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR) else { return nil }
        defer { gst_message_unref(message) }
        if case .error(let element, let text, let debug) = AudioBusMessage.parse(message) {
            return .pipelineError(element: element, message: text, debug: debug)
        }
        return nil
    }
}
