import CBoothShim
import CGStreamer
import Foundation

/// A block of captured PCM, 32-bit float interleaved, after the mode filter.
public struct AudioChunk: Sendable {
    /// Presentation time of the first frame (pipeline running time, ns).
    public var pts: UInt64
    public var sampleRate: Int
    public var channels: Int
    /// Interleaved samples, full scale ±1.
    public var samples: [Float]

    public var frames: Int { channels > 0 ? samples.count / channels : 0 }
}

/// One Opus packet from the live encode branch (one frame, 10 ms by default).
public struct OpusPacket: Sendable {
    /// Presentation time of the packet's first sample (pipeline running time, ns).
    public var pts: UInt64
    public var duration: UInt64
    public var data: [UInt8]
    /// Running time when the packet left the encoder minus the capture time of its first sample (ns).
    public var captureToEncodedNanoseconds: UInt64?
}

enum AppSinkPull {
    enum Result {
        case sample(pts: UInt64, duration: UInt64, bytes: [UInt8], rate: Int, channels: Int)
        case timeout
        case endOfStream
    }

    /// Pulls one sample, waiting at most `timeout` ns, and copies its bytes out.
    static func pull(_ sink: AudioElementPointer, timeout: UInt64) -> Result {
        let appSink = booth_gst_app_sink(sink.pointer)
        guard let sample = gst_app_sink_try_pull_sample(appSink, GstClockTime(timeout)) else {
            // appsink also says "EOS" (and returns at once) while it is not yet PAUSED or PLAYING: only a
            // running sink's EOS is the end of the stream.
            var state = GST_STATE_NULL
            _ = gst_element_get_state(sink.pointer, &state, nil, 0)
            if state.rawValue < GST_STATE_PAUSED.rawValue {
                Thread.sleep(forTimeInterval: 0.01)
                return .timeout
            }
            return gst_app_sink_is_eos(appSink) != 0 ? .endOfStream : .timeout
        }
        defer { gst_sample_unref(sample) }
        var rate: gint = 0
        var channels: gint = 0
        if let caps = gst_sample_get_caps(sample), let structure = gst_caps_get_structure(caps, 0) {
            _ = gst_structure_get_int(structure, "rate", &rate)
            _ = gst_structure_get_int(structure, "channels", &channels)
        }
        guard let buffer = gst_sample_get_buffer(sample) else { return .timeout }
        var map = GstMapInfo()
        guard gst_buffer_map(buffer, &map, GST_MAP_READ) != 0 else { return .timeout }
        defer { gst_buffer_unmap(buffer, &map) }
        let bytes = map.data.map { Array(UnsafeBufferPointer(start: $0, count: Int(map.size))) } ?? []
        return .sample(
            pts: UInt64(booth_gst_buffer_pts(buffer)),
            duration: UInt64(buffer.pointee.duration),
            bytes: bytes,
            rate: Int(rate),
            channels: Int(channels)
        )
    }

    static func floats(_ bytes: [UInt8]) -> [Float] {
        let count = bytes.count / MemoryLayout<Float>.size
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                for index in 0..<count {
                    buffer[index] = raw.loadUnaligned(fromByteOffset: index * 4, as: Float.self)
                }
            }
            initialized = count
        }
    }
}

/// Pushes float samples into an appsrc.
enum AppSrcPush {
    static func push(_ source: AudioElementPointer, samples: [Float], pts: UInt64, duration: UInt64) -> Bool {
        let size = samples.count * MemoryLayout<Float>.size
        guard let buffer = gst_buffer_new_allocate(nil, gsize(size), nil) else { return false }
        _ = samples.withUnsafeBytes { gst_buffer_fill(buffer, 0, $0.baseAddress, gsize(size)) }
        buffer.pointee.pts = GstClockTime(pts)
        buffer.pointee.duration = GstClockTime(duration)
        return booth_audio_app_src_push(source.pointer, buffer) == GST_FLOW_OK
    }
}
