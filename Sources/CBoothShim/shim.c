#include "CBoothShim.h"

#include <errno.h>
#include <libv4l2.h>
#include <linux/uvcvideo.h>
#include <sys/ioctl.h>

GstAppSink *booth_gst_app_sink(GstElement *element) { return GST_APP_SINK(element); }
GstAppSrc *booth_gst_app_src(GstElement *element) { return GST_APP_SRC(element); }
GstBin *booth_gst_bin(GstElement *element) { return GST_BIN(element); }
GstPipeline *booth_gst_pipeline(GstElement *element) { return GST_PIPELINE(element); }
GObject *booth_g_object(gpointer object) { return G_OBJECT(object); }

void booth_g_object_set_int(gpointer object, const char *name, gint value) { g_object_set(object, name, value, NULL); }
void booth_g_object_set_uint(gpointer object, const char *name, guint value) { g_object_set(object, name, value, NULL); }
void booth_g_object_set_bool(gpointer object, const char *name, gboolean value) { g_object_set(object, name, value, NULL); }
void booth_g_object_set_string(gpointer object, const char *name, const char *value) {
    g_object_set(object, name, value, NULL);
}
void booth_g_object_set_double(gpointer object, const char *name, gdouble value) {
    g_object_set(object, name, value, NULL);
}
void booth_g_object_set_caps(gpointer object, const char *name, GstCaps *value) {
    g_object_set(object, name, value, NULL);
}
void booth_gst_util_set_object_arg(gpointer object, const char *name, const char *value) {
    gst_util_set_object_arg(G_OBJECT(object), name, value);
}
guint booth_g_object_get_uint(gpointer object, const char *name) {
    guint value = 0;
    g_object_get(object, name, &value, NULL);
    return value;
}

GstMessageType booth_gst_message_type(GstMessage *message) { return GST_MESSAGE_TYPE(message); }
GstObject *booth_gst_message_src(GstMessage *message) { return GST_MESSAGE_SRC(message); }
GstClockTime booth_gst_buffer_pts(GstBuffer *buffer) { return GST_BUFFER_PTS(buffer); }
GstClockTime booth_gst_buffer_duration(GstBuffer *buffer) { return GST_BUFFER_DURATION(buffer); }
guint booth_gst_buffer_flags(GstBuffer *buffer) { return GST_BUFFER_FLAGS(buffer); }

int booth_v4l2_open(const char *path, int flags) { return v4l2_open(path, flags); }
int booth_v4l2_ioctl(int fd, unsigned long request, void *argument) { return v4l2_ioctl(fd, request, argument); }

const unsigned long booth_VIDIOC_QUERYCAP = VIDIOC_QUERYCAP;
const unsigned long booth_VIDIOC_ENUM_FMT = VIDIOC_ENUM_FMT;
const unsigned long booth_VIDIOC_G_FMT = VIDIOC_G_FMT;
const unsigned long booth_VIDIOC_S_FMT = VIDIOC_S_FMT;
const unsigned long booth_VIDIOC_ENUM_FRAMESIZES = VIDIOC_ENUM_FRAMESIZES;
const unsigned long booth_VIDIOC_ENUM_FRAMEINTERVALS = VIDIOC_ENUM_FRAMEINTERVALS;
const unsigned long booth_VIDIOC_QUERYCTRL = VIDIOC_QUERYCTRL;
const unsigned long booth_VIDIOC_QUERY_EXT_CTRL = VIDIOC_QUERY_EXT_CTRL;
const unsigned long booth_VIDIOC_QUERYMENU = VIDIOC_QUERYMENU;
const unsigned long booth_VIDIOC_G_CTRL = VIDIOC_G_CTRL;
const unsigned long booth_VIDIOC_S_CTRL = VIDIOC_S_CTRL;
const unsigned long booth_VIDIOC_G_EXT_CTRLS = VIDIOC_G_EXT_CTRLS;
const unsigned long booth_VIDIOC_S_EXT_CTRLS = VIDIOC_S_EXT_CTRLS;
const unsigned long booth_VIDIOC_ENUMINPUT = VIDIOC_ENUMINPUT;


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

int booth_uvc_xu_query(int fd, unsigned char unit, unsigned char selector, unsigned char query, unsigned short size,
                       unsigned char *data) {
    struct uvc_xu_control_query request = {
        .unit = unit, .selector = selector, .query = query, .size = size, .data = data};
    int result;
    do {
        result = ioctl(fd, UVCIOC_CTRL_QUERY, &request);
    } while (result < 0 && errno == EINTR);
    return result < 0 ? -errno : 0;
}
