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
