#ifndef BOOTHD_CUDEV_H
#define BOOTHD_CUDEV_H
#include <libudev.h>
#include <poll.h>
#endif
