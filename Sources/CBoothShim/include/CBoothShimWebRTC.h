#ifndef BOOTHD_CBOOTHSHIM_WEBRTC_H
#define BOOTHD_CBOOTHSHIM_WEBRTC_H
// webrtcbin: its signals and promises, bridged to one C callback. The callback runs on GStreamer's threads
// (webrtcbin's own thread, streaming threads); the Swift side only hands the values to an AsyncStream.
#include <gst/gst.h>

/// What a callback reports (the `event` argument).
typedef enum {
    /// on-negotiation-needed: an offer should be created.
    BOOTH_WEBRTC_NEGOTIATION_NEEDED = 1,
    /// on-ice-candidate: `number` is the m-line index, `text` the candidate line.
    BOOTH_WEBRTC_ICE_CANDIDATE = 2,
    /// notify::connection-state: `number` is a GstWebRTCPeerConnectionState.
    BOOTH_WEBRTC_CONNECTION_STATE = 3,
    /// notify::ice-connection-state: `number` is a GstWebRTCICEConnectionState.
    BOOTH_WEBRTC_ICE_STATE = 4,
    /// create-offer answered: `text` is the offer's SDP, or the error when `number` is 0.
    BOOTH_WEBRTC_OFFER = 5,
    /// set-local/remote-description answered: `number` is 1 on success, `text` the error otherwise.
    BOOTH_WEBRTC_DESCRIPTION_SET = 6,
    /// A force-key-unit event came upstream to the video input (the receiver sent PLI/FIR).
    BOOTH_WEBRTC_KEYFRAME_REQUEST = 7,
} BoothWebRTCEvent;

typedef void (*booth_webrtc_callback)(gpointer context, int event, guint number, const char *text);

/// Connects webrtcbin's signals to `callback`. `release` is called with `context` once webrtcbin is finalized
/// and no promise is pending (the context outlives every callback).
void booth_webrtc_connect(GstElement *webrtc, booth_webrtc_callback callback, gpointer context,
                          GDestroyNotify release);
/// Emits create-offer; the answer comes as BOOTH_WEBRTC_OFFER.
void booth_webrtc_create_offer(GstElement *webrtc);
/// Parses `sdp` and emits set-local-description (remote = 0, an offer) or set-remote-description (remote = 1,
/// an answer). Returns 0 when the SDP does not parse (nothing emitted); the outcome comes as
/// BOOTH_WEBRTC_DESCRIPTION_SET.
int booth_webrtc_set_description(GstElement *webrtc, int remote, const char *sdp);
/// Emits add-ice-candidate.
void booth_webrtc_add_ice_candidate(GstElement *webrtc, guint mline, const char *candidate);
/// Sets every transceiver's direction to sendonly. Returns the number of transceivers.
int booth_webrtc_set_sendonly(GstElement *webrtc);
/// Makes the ICE agent gather on `address` only (e.g. 127.0.0.1) and UDP only. Returns 0 on failure.
int booth_webrtc_restrict_ice(GstElement *webrtc, const char *address);

/// Reports force-key-unit events reaching `source`'s src pad from downstream as BOOTH_WEBRTC_KEYFRAME_REQUEST
/// (the encoder is in another pipeline: the request must be forwarded). Returns 0 without a link or pad.
int booth_webrtc_watch_keyframe_requests(GstElement *webrtc, GstElement *source);
/// Sets GST_BUFFER_PTS, GST_BUFFER_DTS (= PTS) and GST_BUFFER_DURATION (GST_CLOCK_TIME_NONE when 0).
void booth_webrtc_buffer_set_timing(GstBuffer *buffer, GstClockTime pts, GstClockTime duration);

/// What webrtcbin's get-stats says about the sending side: the worst of the receiver's RTCP reports
/// (remote-inbound-rtp) and the totals sent (outbound-rtp).
typedef struct {
    /// Largest fraction-lost of the remote-inbound-rtp entries (0...1), -1 when none.
    double fraction_lost;
    /// Largest round-trip-time (seconds), -1 when none.
    double round_trip;
    /// Sum of packets-lost over the remote-inbound-rtp entries.
    gint64 packets_lost;
    /// Sums over the outbound-rtp entries.
    guint64 packets_sent;
    guint64 bytes_sent;
    /// Number of remote-inbound-rtp entries (0 before the first receiver report).
    int remote_reports;
} BoothWebRTCStats;

/// Emits get-stats and waits at most `timeout_ms` for the reply. Returns 1 with `out` filled, 0 on timeout or
/// without a reply (the element shutting down).
int booth_webrtc_get_stats(GstElement *webrtc, guint timeout_ms, BoothWebRTCStats *out);

#endif
