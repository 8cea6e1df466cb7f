#ifndef BOOTHD_CGSTWEBRTC_H
#define BOOTHD_CGSTWEBRTC_H
// webrtcbin's library API (session descriptions, transceivers) and libnice (local addresses). Used by
// CBoothShim only; Swift reaches webrtcbin through the booth_webrtc_* functions.
#define GST_USE_UNSTABLE_API 1
#include <gst/webrtc/webrtc.h>
#include <gst/sdp/sdp.h>
#include <nice/agent.h>
#endif
