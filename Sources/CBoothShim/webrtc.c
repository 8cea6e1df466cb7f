#include "CBoothShimWebRTC.h"

#define GST_USE_UNSTABLE_API 1
#include <dlfcn.h>
#include <string.h>
#include <gst/sdp/sdp.h>
#include <gst/video/video.h>
#include <gst/webrtc/webrtc.h>

// The webrtc, SDP and libnice libraries are not linked: they pull gnutls, libsoup, krb5, libxml2, ICU and
// gupnp into every boothd process and cost ~3 MB resident at start whether a WebRTC session ever runs or not
// (docs/reliability.md, "Memory"). webrtcbin's plugin loads them when the first peer is built; the few functions
// used here are looked up then.

typedef struct _NiceAgent NiceAgent;
typedef struct _NiceAddress NiceAddress;

typedef struct {
    __typeof__(&gst_sdp_message_new_from_text) sdp_message_new_from_text;
    __typeof__(&gst_sdp_message_medias_len) sdp_message_medias_len;
    __typeof__(&gst_sdp_message_as_text) sdp_message_as_text;
    __typeof__(&gst_sdp_message_free) sdp_message_free;
    __typeof__(&gst_webrtc_session_description_new) session_description_new;
    __typeof__(&gst_webrtc_session_description_free) session_description_free;
    __typeof__(&gst_webrtc_session_description_get_type) session_description_get_type;
    __typeof__(&gst_webrtc_stats_type_get_type) stats_type_get_type;
    NiceAddress *(*nice_address_new)(void);
    gboolean (*nice_address_set_from_string)(NiceAddress *address, const gchar *text);
    gboolean (*nice_agent_add_local_address)(NiceAgent *agent, const NiceAddress *address);
    void (*nice_address_free)(NiceAddress *address);
} BoothWebRTCLibraries;

static gboolean resolve(const char *library, void **handle, const char *symbol, void *out) {
    if (*handle == NULL) *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    void *address = *handle != NULL ? dlsym(*handle, symbol) : NULL;
    if (address == NULL) {
        g_warning("boothd WebRTC: %s from %s not found: %s", symbol, library, dlerror());
        return FALSE;
    }
    memcpy(out, &address, sizeof address);
    return TRUE;
}

static gpointer load_libraries(gpointer unused) {
    static BoothWebRTCLibraries table;
    void *sdp = NULL, *webrtc = NULL, *nice = NULL;
    gboolean ok = TRUE;
#define BOOTH_RESOLVE(handle, library, field, symbol) ok = resolve(library, &handle, symbol, &table.field) && ok
    BOOTH_RESOLVE(sdp, "libgstsdp-1.0.so.0", sdp_message_new_from_text, "gst_sdp_message_new_from_text");
    BOOTH_RESOLVE(sdp, "libgstsdp-1.0.so.0", sdp_message_medias_len, "gst_sdp_message_medias_len");
    BOOTH_RESOLVE(sdp, "libgstsdp-1.0.so.0", sdp_message_as_text, "gst_sdp_message_as_text");
    BOOTH_RESOLVE(sdp, "libgstsdp-1.0.so.0", sdp_message_free, "gst_sdp_message_free");
    BOOTH_RESOLVE(webrtc, "libgstwebrtc-1.0.so.0", session_description_new, "gst_webrtc_session_description_new");
    BOOTH_RESOLVE(webrtc, "libgstwebrtc-1.0.so.0", session_description_free, "gst_webrtc_session_description_free");
    BOOTH_RESOLVE(webrtc, "libgstwebrtc-1.0.so.0", session_description_get_type,
                  "gst_webrtc_session_description_get_type");
    BOOTH_RESOLVE(webrtc, "libgstwebrtc-1.0.so.0", stats_type_get_type, "gst_webrtc_stats_type_get_type");
    BOOTH_RESOLVE(nice, "libnice.so.10", nice_address_new, "nice_address_new");
    BOOTH_RESOLVE(nice, "libnice.so.10", nice_address_set_from_string, "nice_address_set_from_string");
    BOOTH_RESOLVE(nice, "libnice.so.10", nice_agent_add_local_address, "nice_agent_add_local_address");
    BOOTH_RESOLVE(nice, "libnice.so.10", nice_address_free, "nice_address_free");
#undef BOOTH_RESOLVE
    // The handles stay open: the plugin holds the same libraries for the life of the process anyway.
    return ok ? &table : NULL;
}

/// The looked-up functions, or NULL when a library is missing (then webrtcbin could not be created either).
static const BoothWebRTCLibraries *libraries(void) {
    static GOnce once = G_ONCE_INIT;
    return g_once(&once, load_libraries, NULL);
}

// One per webrtcbin: the Swift callback and its context, shared by the signal handlers and pending promises.
// Each holder of a reference (a connected signal, a pending promise) drops it when done; the last one releases
// the Swift context.
typedef struct {
    booth_webrtc_callback callback;
    gpointer context;
    GDestroyNotify release;
    gint references;
} BoothWebRTCLink;

static const char *const link_key = "booth-webrtc-link";

static BoothWebRTCLink *link_ref(BoothWebRTCLink *link) {
    g_atomic_int_inc(&link->references);
    return link;
}

static void link_unref(gpointer data, GClosure *closure) {
    BoothWebRTCLink *link = data;
    if (g_atomic_int_dec_and_test(&link->references)) {
        link->release(link->context);
        g_free(link);
    }
}

static void link_unref_notify(gpointer data) { link_unref(data, NULL); }

static void on_negotiation_needed(GstElement *webrtc, gpointer data) {
    BoothWebRTCLink *link = data;
    link->callback(link->context, BOOTH_WEBRTC_NEGOTIATION_NEEDED, 0, NULL);
}

static void on_ice_candidate(GstElement *webrtc, guint mline, gchar *candidate, gpointer data) {
    BoothWebRTCLink *link = data;
    link->callback(link->context, BOOTH_WEBRTC_ICE_CANDIDATE, mline, candidate);
}

static void on_state(GObject *webrtc, GParamSpec *spec, gpointer data) {
    BoothWebRTCLink *link = data;
    gint state = 0;
    g_object_get(webrtc, g_param_spec_get_name(spec), &state, NULL);
    int event = g_str_equal(g_param_spec_get_name(spec), "connection-state") ? BOOTH_WEBRTC_CONNECTION_STATE
                                                                              : BOOTH_WEBRTC_ICE_STATE;
    link->callback(link->context, event, (guint)state, NULL);
}

void booth_webrtc_connect(GstElement *webrtc, booth_webrtc_callback callback, gpointer context,
                          GDestroyNotify release) {
    BoothWebRTCLink *link = g_new0(BoothWebRTCLink, 1);
    link->callback = callback;
    link->context = context;
    link->release = release;
    link->references = 1;  // held by the element's data until it is finalized
    g_object_set_data_full(G_OBJECT(webrtc), link_key, link, link_unref_notify);
    g_signal_connect_data(webrtc, "on-negotiation-needed", G_CALLBACK(on_negotiation_needed), link_ref(link),
                          link_unref, 0);
    g_signal_connect_data(webrtc, "on-ice-candidate", G_CALLBACK(on_ice_candidate), link_ref(link), link_unref, 0);
    g_signal_connect_data(webrtc, "notify::connection-state", G_CALLBACK(on_state), link_ref(link), link_unref, 0);
    g_signal_connect_data(webrtc, "notify::ice-connection-state", G_CALLBACK(on_state), link_ref(link), link_unref,
                          0);
}

static void report_promise_error(BoothWebRTCLink *link, int event, GstPromise *promise, const char *what) {
    const GstStructure *reply = gst_promise_get_reply(promise);
    GError *error = NULL;
    if (reply != NULL && gst_structure_has_field(reply, "error")) {
        gst_structure_get(reply, "error", G_TYPE_ERROR, &error, NULL);
    }
    gchar *text = g_strdup_printf("%s: %s", what, error != NULL ? error->message : "no reply");
    link->callback(link->context, event, 0, text);
    g_free(text);
    g_clear_error(&error);
}

static void on_offer_created(GstPromise *promise, gpointer data) {
    BoothWebRTCLink *link = data;
    if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED) {
        report_promise_error(link, BOOTH_WEBRTC_OFFER, promise, "create-offer was interrupted");
        gst_promise_unref(promise);
        return;
    }
    const GstStructure *reply = gst_promise_get_reply(promise);
    const BoothWebRTCLibraries *lib = libraries();
    GstWebRTCSessionDescription *offer = NULL;
    if (reply != NULL && lib != NULL) {
        gst_structure_get(reply, "offer", lib->session_description_get_type(), &offer, NULL);
    }
    if (offer == NULL) {
        report_promise_error(link, BOOTH_WEBRTC_OFFER, promise, "create-offer failed");
    } else {
        gchar *text = lib->sdp_message_as_text(offer->sdp);
        link->callback(link->context, BOOTH_WEBRTC_OFFER, 1, text);
        g_free(text);
        lib->session_description_free(offer);
    }
    gst_promise_unref(promise);
}

void booth_webrtc_create_offer(GstElement *webrtc) {
    BoothWebRTCLink *link = g_object_get_data(G_OBJECT(webrtc), link_key);
    if (link == NULL) return;
    GstPromise *promise = gst_promise_new_with_change_func(on_offer_created, link_ref(link), link_unref_notify);
    g_signal_emit_by_name(webrtc, "create-offer", NULL, promise);
}

static void on_description_set(GstPromise *promise, gpointer data) {
    BoothWebRTCLink *link = data;
    const GstStructure *reply =
        gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED ? gst_promise_get_reply(promise) : NULL;
    if (reply != NULL && gst_structure_has_field(reply, "error")) {
        report_promise_error(link, BOOTH_WEBRTC_DESCRIPTION_SET, promise, "webrtcbin refused the description");
    } else if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED) {
        report_promise_error(link, BOOTH_WEBRTC_DESCRIPTION_SET, promise, "setting the description was interrupted");
    } else {
        link->callback(link->context, BOOTH_WEBRTC_DESCRIPTION_SET, 1, NULL);
    }
    gst_promise_unref(promise);
}

int booth_webrtc_set_description(GstElement *webrtc, int remote, const char *sdp) {
    BoothWebRTCLink *link = g_object_get_data(G_OBJECT(webrtc), link_key);
    const BoothWebRTCLibraries *lib = libraries();
    if (link == NULL || lib == NULL) return 0;
    GstSDPMessage *message = NULL;
    if (lib->sdp_message_new_from_text(sdp, &message) != GST_SDP_OK || message == NULL) return 0;
    if (lib->sdp_message_medias_len(message) == 0) {
        lib->sdp_message_free(message);
        return 0;
    }
    GstWebRTCSessionDescription *description =
        lib->session_description_new(remote ? GST_WEBRTC_SDP_TYPE_ANSWER : GST_WEBRTC_SDP_TYPE_OFFER, message);
    GstPromise *promise = gst_promise_new_with_change_func(on_description_set, link_ref(link), link_unref_notify);
    g_signal_emit_by_name(webrtc, remote ? "set-remote-description" : "set-local-description", description, promise);
    lib->session_description_free(description);
    return 1;
}

void booth_webrtc_add_ice_candidate(GstElement *webrtc, guint mline, const char *candidate) {
    g_signal_emit_by_name(webrtc, "add-ice-candidate", mline, candidate);
}

int booth_webrtc_set_sendonly(GstElement *webrtc) {
    GArray *transceivers = NULL;
    g_signal_emit_by_name(webrtc, "get-transceivers", &transceivers);
    if (transceivers == NULL) return 0;
    int count = (int)transceivers->len;
    for (guint i = 0; i < transceivers->len; i++) {
        GstWebRTCRTPTransceiver *transceiver = g_array_index(transceivers, GstWebRTCRTPTransceiver *, i);
        g_object_set(transceiver, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, NULL);
    }
    g_array_unref(transceivers);
    return count;
}

int booth_webrtc_restrict_ice(GstElement *webrtc, const char *address) {
    const BoothWebRTCLibraries *lib = libraries();
    if (lib == NULL) return 0;
    GObject *ice = NULL;
    g_object_get(webrtc, "ice-agent", &ice, NULL);
    if (ice == NULL) return 0;
    int done = 0;
    GParamSpec *agent_spec = g_object_class_find_property(G_OBJECT_GET_CLASS(ice), "agent");
    if (agent_spec != NULL && g_object_class_find_property(G_OBJECT_GET_CLASS(ice), "ice-tcp") != NULL) {
        g_object_set(ice, "ice-tcp", FALSE, NULL);
        NiceAgent *agent = NULL;
        g_object_get(ice, "agent", &agent, NULL);
        if (agent != NULL) {
            NiceAddress *local = lib->nice_address_new();
            if (lib->nice_address_set_from_string(local, address)) {
                done = lib->nice_agent_add_local_address(agent, local) ? 1 : 0;
            }
            lib->nice_address_free(local);
            g_object_unref(agent);
        }
    }
    g_object_unref(ice);
    return done;
}

void booth_webrtc_buffer_set_timing(GstBuffer *buffer, GstClockTime pts, GstClockTime duration) {
    GST_BUFFER_PTS(buffer) = pts;
    GST_BUFFER_DTS(buffer) = pts;
    GST_BUFFER_DURATION(buffer) = duration == 0 ? GST_CLOCK_TIME_NONE : duration;
}

static GstPadProbeReturn on_upstream_event(GstPad *pad, GstPadProbeInfo *info, gpointer data) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info);
    if (event != NULL && gst_video_event_is_force_key_unit(event)) {
        BoothWebRTCLink *link = data;
        link->callback(link->context, BOOTH_WEBRTC_KEYFRAME_REQUEST, 0, NULL);
    }
    return GST_PAD_PROBE_OK;
}

int booth_webrtc_watch_keyframe_requests(GstElement *webrtc, GstElement *source) {
    BoothWebRTCLink *link = g_object_get_data(G_OBJECT(webrtc), link_key);
    if (link == NULL) return 0;
    GstPad *pad = gst_element_get_static_pad(source, "src");
    if (pad == NULL) return 0;
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, on_upstream_event, link_ref(link), link_unref_notify);
    gst_object_unref(pad);
    return 1;
}

// get-stats: the promise and the waiter share this; whoever drops the last reference frees it, so a waiter that
// timed out leaves nothing dangling for a late reply.
typedef struct {
    GMutex lock;
    GCond ready;
    gboolean done;
    gint references;
} BoothStatsWait;

static void stats_wait_unref(gpointer data) {
    BoothStatsWait *wait = data;
    if (g_atomic_int_dec_and_test(&wait->references)) {
        g_mutex_clear(&wait->lock);
        g_cond_clear(&wait->ready);
        g_free(wait);
    }
}

static void stats_replied(GstPromise *promise, gpointer data) {
    BoothStatsWait *wait = data;
    g_mutex_lock(&wait->lock);
    wait->done = TRUE;
    g_cond_signal(&wait->ready);
    g_mutex_unlock(&wait->lock);
}

static gboolean stats_number(const GstStructure *entry, const char *field, double *out) {
    const GValue *value = gst_structure_get_value(entry, field);
    if (value == NULL) return FALSE;
    if (G_VALUE_HOLDS_DOUBLE(value)) *out = g_value_get_double(value);
    else if (G_VALUE_HOLDS_INT(value)) *out = g_value_get_int(value);
    else if (G_VALUE_HOLDS_UINT(value)) *out = g_value_get_uint(value);
    else if (G_VALUE_HOLDS_INT64(value)) *out = (double)g_value_get_int64(value);
    else if (G_VALUE_HOLDS_UINT64(value)) *out = (double)g_value_get_uint64(value);
    else return FALSE;
    return TRUE;
}

static gboolean stats_entry(GQuark field, const GValue *value, gpointer data) {
    BoothWebRTCStats *out = data;
    if (!GST_VALUE_HOLDS_STRUCTURE(value)) return TRUE;
    const GstStructure *entry = gst_value_get_structure(value);
    const BoothWebRTCLibraries *lib = libraries();
    GstWebRTCStatsType type = 0;
    if (lib == NULL || !gst_structure_get_enum(entry, "type", lib->stats_type_get_type(), (gint *)&type)) return TRUE;
    double number = 0;
    if (type == GST_WEBRTC_STATS_REMOTE_INBOUND_RTP) {
        out->remote_reports += 1;
        if (stats_number(entry, "fraction-lost", &number) && number > out->fraction_lost) out->fraction_lost = number;
        if (stats_number(entry, "round-trip-time", &number) && number > out->round_trip) out->round_trip = number;
        if (stats_number(entry, "packets-lost", &number)) out->packets_lost += (gint64)number;
    } else if (type == GST_WEBRTC_STATS_OUTBOUND_RTP) {
        if (stats_number(entry, "packets-sent", &number)) out->packets_sent += (guint64)number;
        if (stats_number(entry, "bytes-sent", &number)) out->bytes_sent += (guint64)number;
    }
    return TRUE;
}

int booth_webrtc_get_stats(GstElement *webrtc, guint timeout_ms, BoothWebRTCStats *out) {
    BoothStatsWait *wait = g_new0(BoothStatsWait, 1);
    g_mutex_init(&wait->lock);
    g_cond_init(&wait->ready);
    wait->references = 2;  // the waiter and the promise
    GstPromise *promise = gst_promise_new_with_change_func(stats_replied, wait, stats_wait_unref);
    g_signal_emit_by_name(webrtc, "get-stats", NULL, promise);
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    g_mutex_lock(&wait->lock);
    while (!wait->done) {
        if (!g_cond_wait_until(&wait->ready, &wait->lock, deadline)) break;
    }
    gboolean done = wait->done;
    g_mutex_unlock(&wait->lock);
    int result = 0;
    if (done && gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED) {
        const GstStructure *reply = gst_promise_get_reply(promise);
        if (reply != NULL) {
            out->fraction_lost = -1;
            out->round_trip = -1;
            out->packets_lost = 0;
            out->packets_sent = 0;
            out->bytes_sent = 0;
            out->remote_reports = 0;
            gst_structure_foreach(reply, stats_entry, out);
            result = 1;
        }
    }
    if (!done) gst_promise_interrupt(promise);
    gst_promise_unref(promise);
    stats_wait_unref(wait);
    return result;
}
