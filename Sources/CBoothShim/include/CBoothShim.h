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

#endif
