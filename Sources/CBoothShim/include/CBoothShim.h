#ifndef BOOTHD_CBOOTHSHIM_H
#define BOOTHD_CBOOTHSHIM_H
// The one C shim: GObject cast macros, variadic setters and ioctl request numbers that Swift cannot
// import. Every function here is a thin, behaviour-free wrapper.
#include <gst/gst.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <linux/videodev2.h>

GstAppSink *booth_gst_app_sink(GstElement *element);
GstAppSrc *booth_gst_app_src(GstElement *element);
GstBin *booth_gst_bin(GstElement *element);
GstPipeline *booth_gst_pipeline(GstElement *element);
GObject *booth_g_object(gpointer object);

void booth_g_object_set_int(gpointer object, const char *name, gint value);
void booth_g_object_set_uint(gpointer object, const char *name, guint value);
void booth_g_object_set_bool(gpointer object, const char *name, gboolean value);
void booth_g_object_set_string(gpointer object, const char *name, const char *value);
void booth_g_object_set_double(gpointer object, const char *name, gdouble value);
/// Sets a GstCaps-typed property (capsfilter "caps", appsink "caps").
void booth_g_object_set_caps(gpointer object, const char *name, GstCaps *value);
/// Sets an enum or flags property from its nickname ("zerolatency", "ultrafast").
void booth_gst_util_set_object_arg(gpointer object, const char *name, const char *value);
/// Reads an unsigned int property (e.g. x264enc "bitrate").
guint booth_g_object_get_uint(gpointer object, const char *name);

/// The message's type (GST_MESSAGE_TYPE is a macro).
GstMessageType booth_gst_message_type(GstMessage *message);
/// The object that posted the message (GST_MESSAGE_SRC).
GstObject *booth_gst_message_src(GstMessage *message);
/// GST_BUFFER_PTS, GST_BUFFER_DURATION, GST_BUFFER_FLAGS.
GstClockTime booth_gst_buffer_pts(GstBuffer *buffer);
GstClockTime booth_gst_buffer_duration(GstBuffer *buffer);
guint booth_gst_buffer_flags(GstBuffer *buffer);

/// libv4l2 entry points are variadic (open(2)/ioctl(2) style).
int booth_v4l2_open(const char *path, int flags);
int booth_v4l2_ioctl(int fd, unsigned long request, void *argument);

/// VIDIOC_* request numbers (_IOR/_IOWR macros with sizeof are not importable).
extern const unsigned long booth_VIDIOC_QUERYCAP;
extern const unsigned long booth_VIDIOC_ENUM_FMT;
extern const unsigned long booth_VIDIOC_G_FMT;
extern const unsigned long booth_VIDIOC_S_FMT;
extern const unsigned long booth_VIDIOC_ENUM_FRAMESIZES;
extern const unsigned long booth_VIDIOC_ENUM_FRAMEINTERVALS;
extern const unsigned long booth_VIDIOC_QUERYCTRL;
extern const unsigned long booth_VIDIOC_QUERY_EXT_CTRL;
extern const unsigned long booth_VIDIOC_QUERYMENU;
extern const unsigned long booth_VIDIOC_G_CTRL;
extern const unsigned long booth_VIDIOC_S_CTRL;
extern const unsigned long booth_VIDIOC_G_EXT_CTRLS;
extern const unsigned long booth_VIDIOC_S_EXT_CTRLS;
extern const unsigned long booth_VIDIOC_ENUMINPUT;

#endif
