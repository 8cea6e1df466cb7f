// cairo with its PDF and PNG back ends (libcairo2-dev). The API has no macros or variadics Swift cannot call.
// Declarations only: the library is not linked, CBoothShim/cairo.c defines these functions and loads
// libcairo.so.2 on first use.
#include <cairo/cairo.h>
#include <cairo/cairo-pdf.h>
