// cairo with its PDF and PNG back ends (libcairo2-dev). The API has no macros or variadics Swift cannot call.
#include <cairo/cairo.h>
#include <cairo/cairo-pdf.h>
