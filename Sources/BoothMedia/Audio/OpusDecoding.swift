import CBoothShim
import CGStreamer
import Foundation

/// Decodes the live branch's Opus packets back to PCM (appsrc → opusdec → audioconvert → appsink), to check
/// what a receiver hears (e.g. that a 100 Hz tone survives the encoder).
public enum OpusPacketDecoder {
    public static func decode(
        _ packets: [OpusPacket],
        channels: Int = 1,
        timeoutSeconds: Double = 30
    ) throws(StethoscopeError) -> DecodedAudio {
        MediaRuntime.initialize()
        let pipeline = AudioElementPointer(gst_pipeline_new("opus-decoder"))
        defer {
            gst_element_set_state(pipeline.pointer, GST_STATE_NULL)
            gst_object_unref(pipeline.raw)
        }
        let source = try AudioGst.appSource(
            "packets",
            caps: "audio/x-opus,channel-mapping-family=(int)0,channels=(int)\(channels),rate=(int)48000"
        )
        let decoder = try AudioGst.make("opusdec", "decode")
        let convert = try AudioGst.make("audioconvert", "convert")
        let format = try AudioGst.capsFilter("format", "audio/x-raw,format=F32LE,layout=interleaved")
        let sink = try AudioGst.make("appsink", "pcm")
        booth_g_object_set_bool(sink.raw, "sync", 0)
        try AudioGst.addAndLink(pipeline, [source, decoder, convert, format, sink])
        gst_element_set_state(pipeline.pointer, GST_STATE_PLAYING)
        let first = packets.first?.pts ?? 0
        for packet in packets {
            guard let buffer = gst_buffer_new_allocate(nil, gsize(packet.data.count), nil) else { continue }
            _ = packet.data.withUnsafeBytes { gst_buffer_fill(buffer, 0, $0.baseAddress, gsize(packet.data.count)) }
            buffer.pointee.pts = GstClockTime(packet.pts - first)
            buffer.pointee.duration = GstClockTime(packet.duration)
            _ = booth_audio_app_src_push(source.pointer, buffer)
        }
        _ = booth_audio_app_src_end_of_stream(source.pointer)
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
                continue
            }
        }
        throw .timedOut(what: "decoding \(packets.count) Opus packets", seconds: timeoutSeconds)
    }
}
