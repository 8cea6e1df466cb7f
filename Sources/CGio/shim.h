#ifndef BOOTHD_CGIO_H
#define BOOTHD_CGIO_H
#include <gio/gio.h>
#endif
