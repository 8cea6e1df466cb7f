#include "CBoothShim.h"

GstAppSink *booth_gst_app_sink(GstElement *element) { return GST_APP_SINK(element); }
GstBin *booth_gst_bin(GstElement *element) { return GST_BIN(element); }
GstPipeline *booth_gst_pipeline(GstElement *element) { return GST_PIPELINE(element); }

void booth_g_object_set_int(gpointer object, const char *name, gint value) { g_object_set(object, name, value, NULL); }
void booth_g_object_set_uint(gpointer object, const char *name, guint value) { g_object_set(object, name, value, NULL); }
void booth_g_object_set_bool(gpointer object, const char *name, gboolean value) { g_object_set(object, name, value, NULL); }
void booth_g_object_set_string(gpointer object, const char *name, const char *value) {
    g_object_set(object, name, value, NULL);
}
void booth_g_object_set_double(gpointer object, const char *name, gdouble value) {
    g_object_set(object, name, value, NULL);
}
void booth_gst_util_set_object_arg(gpointer object, const char *name, const char *value) {
    gst_util_set_object_arg(G_OBJECT(object), name, value);
}

GstMessageType booth_gst_message_type(GstMessage *message) { return GST_MESSAGE_TYPE(message); }
GstClockTime booth_gst_buffer_pts(GstBuffer *buffer) { return GST_BUFFER_PTS(buffer); }


// Audio
#include <gst/app/gstappsrc.h>

void booth_audio_set_uint64(gpointer object, const char *name, guint64 value) {
    g_object_set(object, name, value, NULL);
}
void booth_audio_set_int64(gpointer object, const char *name, gint64 value) {
    g_object_set(object, name, value, NULL);
}
void booth_audio_set_caps(gpointer object, const char *name, GstCaps *caps) { g_object_set(object, name, caps, NULL); }
GstFlowReturn booth_audio_app_src_push(GstElement *appsrc, GstBuffer *buffer) {
    return gst_app_src_push_buffer(GST_APP_SRC(appsrc), buffer);
}
GstFlowReturn booth_audio_app_src_end_of_stream(GstElement *appsrc) {
    return gst_app_src_end_of_stream(GST_APP_SRC(appsrc));
}
int booth_audio_structure_doubles(const GstStructure *structure, const char *field, double *out, int capacity) {
    const GValue *value = gst_structure_get_value(structure, field);
    if (value == NULL) return -1;
    // The level element still posts GValueArray (deprecated in GLib, but it is the message's documented type).
    G_GNUC_BEGIN_IGNORE_DEPRECATIONS
    if (!G_VALUE_HOLDS(value, g_value_array_get_type())) return -1;
    GValueArray *array = g_value_get_boxed(value);
    if (array == NULL) return 0;
    int count = (int)array->n_values;
    for (int i = 0; i < count && i < capacity; i++) {
        const GValue *item = g_value_array_get_nth(array, (guint)i);
        out[i] = G_VALUE_HOLDS_DOUBLE(item) ? g_value_get_double(item) : 0.0;
    }
    G_GNUC_END_IGNORE_DEPRECATIONS
    return count;
}
