#ifndef BOOTHD_CBOOTHSHIM_H
#define BOOTHD_CBOOTHSHIM_H
// The one C shim: GObject cast macros, variadic setters and ioctl request numbers that Swift cannot
// import. Every function here is a thin, behaviour-free wrapper.
#include <gst/gst.h>
#include <gst/app/gstappsink.h>

GstAppSink *booth_gst_app_sink(GstElement *element);
GstBin *booth_gst_bin(GstElement *element);
GstPipeline *booth_gst_pipeline(GstElement *element);

void booth_g_object_set_int(gpointer object, const char *name, gint value);
void booth_g_object_set_uint(gpointer object, const char *name, guint value);
void booth_g_object_set_bool(gpointer object, const char *name, gboolean value);
void booth_g_object_set_string(gpointer object, const char *name, const char *value);
void booth_g_object_set_double(gpointer object, const char *name, gdouble value);
/// Sets an enum or flags property from its nickname ("zerolatency", "ultrafast").
void booth_gst_util_set_object_arg(gpointer object, const char *name, const char *value);

/// The message's type (GST_MESSAGE_TYPE is a macro).
GstMessageType booth_gst_message_type(GstMessage *message);
/// GST_BUFFER_PTS, GST_BUFFER_DURATION.
GstClockTime booth_gst_buffer_pts(GstBuffer *buffer);

// Audio
// Stethoscope pipeline helpers (Sources/BoothMedia/Audio). Prefixed booth_audio_ to stay clear of the video side.
/// g_object_set for guint64 properties (level's interval).
void booth_audio_set_uint64(gpointer object, const char *name, guint64 value);
/// g_object_set for gint64 properties (alsasrc's latency-time and buffer-time, in µs).
void booth_audio_set_int64(gpointer object, const char *name, gint64 value);
/// g_object_set for a GstCaps property (capsfilter's and appsrc's "caps"); the object takes its own reference.
void booth_audio_set_caps(gpointer object, const char *name, GstCaps *caps);
/// gst_app_src_push_buffer on an appsrc element; takes ownership of buffer.
GstFlowReturn booth_audio_app_src_push(GstElement *appsrc, GstBuffer *buffer);
/// gst_app_src_end_of_stream on an appsrc element.
GstFlowReturn booth_audio_app_src_end_of_stream(GstElement *appsrc);
/// Copies a GValueArray-of-doubles field (the level message's rms/peak/decay, one per channel) into out.
/// Returns the number of values in the field (may exceed capacity; only capacity are copied), or -1 when absent.
int booth_audio_structure_doubles(const GstStructure *structure, const char *field, double *out, int capacity);

#endif
