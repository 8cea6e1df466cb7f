#ifndef BOOTHD_CV4L2_H
#define BOOTHD_CV4L2_H
#include <fcntl.h>
#include <libv4l2.h>
#include <linux/videodev2.h>
#endif
