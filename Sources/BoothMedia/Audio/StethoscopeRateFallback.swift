import CBoothShim
import CGStreamer

/// Negotiated fallback for a device that does not support the profile's rate: with the source opened (READY),
/// its caps are asked and the first rate of `StethoscopeConfiguration.preferredRates` it offers is fixed in the
/// `device-caps` filter. Fixing it explicitly keeps our order of preference (left to caps negotiation, the
/// device's own order could win even when it supports the profile's rate).
enum StethoscopeRateFallback {
    /// The rate chosen, or nil when the source could not be asked (busy, missing): PLAYING then reports why.
    static func apply(pipeline: AudioElementPointer, configuration: StethoscopeConfiguration) -> Int? {
        guard let rate = configuration.sampleRate, configuration.source != .pushed else { return nil }
        guard gst_element_set_state(pipeline.pointer, GST_STATE_READY) != GST_STATE_CHANGE_FAILURE,
            let filter = gst_bin_get_by_name(booth_gst_bin(pipeline.pointer), "device-caps")
        else { return nil }
        defer { gst_object_unref(UnsafeMutableRawPointer(filter)) }
        guard let sinkPad = gst_element_get_static_pad(filter, "sink") else { return nil }
        defer { gst_object_unref(UnsafeMutableRawPointer(sinkPad)) }
        guard let offered = gst_pad_peer_query_caps(sinkPad, nil) else { return nil }
        defer { gst_caps_unref(offered) }
        for candidate in StethoscopeConfiguration.preferredRates(for: rate) {
            guard let probe = gst_caps_from_string("audio/x-raw,rate=\(candidate)") else { continue }
            defer { gst_caps_unref(probe) }
            if gst_caps_can_intersect(offered, probe) != 0 {
                var caps = "audio/x-raw,rate=\(candidate)"
                if let channels = configuration.channels { caps += ",channels=\(channels)" }
                guard let fixed = gst_caps_from_string(caps) else { return nil }
                booth_audio_set_caps(UnsafeMutableRawPointer(filter), "caps", fixed)
                gst_caps_unref(fixed)
                return candidate
            }
        }
        return nil
    }
}
