import CGStreamer

extension PipelineGraph {
    /// Sends a force-key-unit event into the encoder (as a receiver's picture-loss request would).
    func requestKeyframe() {
        // GST_CLOCK_TIME_NONE: as soon as possible; all-headers: SPS/PPS go with the keyframe.
        guard let event = gst_video_event_new_upstream_force_key_unit(GstClockTime.max, 1, 0) else { return }
        _ = gst_element_send_event(encoder, event)
    }
}
