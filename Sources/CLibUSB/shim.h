// libusb-1.0 for BoothUSB (pkg-config libusb-1.0 puts its include directory on the path).
#include <libusb.h>
