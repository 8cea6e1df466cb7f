#ifndef BOOTHD_CBOOTHSHIM_H
#define BOOTHD_CBOOTHSHIM_H
// The one C shim: GObject cast macros, variadic setters and ioctl request numbers that Swift cannot
// import. Every function here is a thin, behaviour-free wrapper.
#include <gst/gst.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <linux/videodev2.h>
#include "CBoothShimWebRTC.h"

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

/// UVCIOC_CTRL_QUERY (uvcvideo's extension-unit request) on an open V4L2 node: `query` is a UVC request code
/// (0x01 SET_CUR, 0x81 GET_CUR ... 0x87 GET_DEF), `data` holds `size` bytes (sent for SET, filled for GET).
/// Returns 0, or -errno (ENOTTY when the node's driver is not uvcvideo).
int booth_uvc_xu_query(int fd, unsigned char unit, unsigned char selector, unsigned char query, unsigned short size,
                       unsigned char *data);

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
