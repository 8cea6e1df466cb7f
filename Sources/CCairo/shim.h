#ifndef BOOTHD_CCAIRO_H
#define BOOTHD_CCAIRO_H
#include <cairo.h>
#endif
