// cairo, loaded when the first picture is drawn (an ECG strip, a phonocardiogram) rather than linked: linking it
// maps cairo, pixman, fontconfig, freetype, libpng and the X11/xcb client libraries into every boothd process at
// start, ~1.8 MB resident that an idle booth never uses (docs/reliability.md, "Memory").
//
// Swift keeps calling the cairo API by its own names (module CCairo declares it, without linking the library):
// each function below has cairo's exact prototype and forwards to the one found in libcairo.so.2 on first use.
// Without the library, constructors return NULL and status functions CAIRO_STATUS_NULL_POINTER, which every
// caller already turns into an error ("no surface").
#include <cairo/cairo.h>
#include <cairo/cairo-pdf.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

static void *cairo_library;
static pthread_once_t cairo_opened = PTHREAD_ONCE_INIT;

static void open_cairo(void) {
    cairo_library = dlopen("libcairo.so.2", RTLD_NOW | RTLD_LOCAL);
    if (cairo_library == NULL) {
        fprintf(stderr, "boothd: cannot load libcairo.so.2 (install the libcairo2 package): %s\n", dlerror());
    }
}

static void *cairo_symbol(const char *name) {
    pthread_once(&cairo_opened, open_cairo);
    return cairo_library != NULL ? dlsym(cairo_library, name) : NULL;
}

// One cached pointer per function; a race only stores the same address twice.
#define BOOTH_CAIRO_REAL(name)                                                                                       \
    static __typeof__(&name) real_##name;                                                                            \
    __typeof__(&name) real = __atomic_load_n(&real_##name, __ATOMIC_ACQUIRE);                                        \
    if (real == NULL) {                                                                                              \
        real = (__typeof__(&name))cairo_symbol(#name);                                                               \
        __atomic_store_n(&real_##name, real, __ATOMIC_RELEASE);                                                      \
    }

#define BOOTH_CAIRO_VOID(name, parameters, arguments)                                                                \
    void name parameters {                                                                                           \
        BOOTH_CAIRO_REAL(name)                                                                                       \
        if (real != NULL) real arguments;                                                                            \
    }

#define BOOTH_CAIRO(type, name, parameters, arguments, missing)                                                      \
    type name parameters {                                                                                           \
        BOOTH_CAIRO_REAL(name)                                                                                       \
        return real != NULL ? real arguments : missing;                                                              \
    }

// Surfaces
BOOTH_CAIRO(cairo_surface_t *, cairo_image_surface_create, (cairo_format_t format, int width, int height),
            (format, width, height), NULL)
BOOTH_CAIRO(cairo_surface_t *, cairo_image_surface_create_from_png, (const char *filename), (filename), NULL)
BOOTH_CAIRO(unsigned char *, cairo_image_surface_get_data, (cairo_surface_t * surface), (surface), NULL)
BOOTH_CAIRO(int, cairo_image_surface_get_width, (cairo_surface_t * surface), (surface), 0)
BOOTH_CAIRO(int, cairo_image_surface_get_height, (cairo_surface_t * surface), (surface), 0)
BOOTH_CAIRO(int, cairo_image_surface_get_stride, (cairo_surface_t * surface), (surface), 0)
BOOTH_CAIRO(cairo_surface_t *, cairo_pdf_surface_create,
            (const char *filename, double width_in_points, double height_in_points),
            (filename, width_in_points, height_in_points), NULL)
BOOTH_CAIRO_VOID(cairo_pdf_surface_set_metadata,
                 (cairo_surface_t * surface, cairo_pdf_metadata_t metadata, const char *utf8),
                 (surface, metadata, utf8))
BOOTH_CAIRO(cairo_status_t, cairo_surface_status, (cairo_surface_t * surface), (surface), CAIRO_STATUS_NULL_POINTER)
BOOTH_CAIRO(cairo_status_t, cairo_surface_write_to_png, (cairo_surface_t * surface, const char *filename),
            (surface, filename), CAIRO_STATUS_NULL_POINTER)
BOOTH_CAIRO_VOID(cairo_surface_flush, (cairo_surface_t * surface), (surface))
BOOTH_CAIRO_VOID(cairo_surface_finish, (cairo_surface_t * surface), (surface))
BOOTH_CAIRO_VOID(cairo_surface_destroy, (cairo_surface_t * surface), (surface))

// Contexts
BOOTH_CAIRO(cairo_t *, cairo_create, (cairo_surface_t * target), (target), NULL)
BOOTH_CAIRO_VOID(cairo_destroy, (cairo_t * cr), (cr))
BOOTH_CAIRO(cairo_status_t, cairo_status, (cairo_t * cr), (cr), CAIRO_STATUS_NULL_POINTER)
BOOTH_CAIRO(const char *, cairo_status_to_string, (cairo_status_t status), (status),
            "libcairo.so.2 could not be loaded")
BOOTH_CAIRO_VOID(cairo_save, (cairo_t * cr), (cr))
BOOTH_CAIRO_VOID(cairo_restore, (cairo_t * cr), (cr))
BOOTH_CAIRO_VOID(cairo_scale, (cairo_t * cr, double sx, double sy), (cr, sx, sy))
BOOTH_CAIRO_VOID(cairo_show_page, (cairo_t * cr), (cr))

// Drawing
BOOTH_CAIRO_VOID(cairo_set_source_rgb, (cairo_t * cr, double red, double green, double blue), (cr, red, green, blue))
BOOTH_CAIRO_VOID(cairo_set_line_width, (cairo_t * cr, double width), (cr, width))
BOOTH_CAIRO_VOID(cairo_set_line_cap, (cairo_t * cr, cairo_line_cap_t line_cap), (cr, line_cap))
BOOTH_CAIRO_VOID(cairo_set_line_join, (cairo_t * cr, cairo_line_join_t line_join), (cr, line_join))
BOOTH_CAIRO_VOID(cairo_move_to, (cairo_t * cr, double x, double y), (cr, x, y))
BOOTH_CAIRO_VOID(cairo_line_to, (cairo_t * cr, double x, double y), (cr, x, y))
BOOTH_CAIRO_VOID(cairo_rectangle, (cairo_t * cr, double x, double y, double width, double height),
                 (cr, x, y, width, height))
BOOTH_CAIRO_VOID(cairo_stroke, (cairo_t * cr), (cr))
BOOTH_CAIRO_VOID(cairo_fill, (cairo_t * cr), (cr))
BOOTH_CAIRO_VOID(cairo_paint, (cairo_t * cr), (cr))
BOOTH_CAIRO_VOID(cairo_clip, (cairo_t * cr), (cr))
BOOTH_CAIRO_VOID(cairo_reset_clip, (cairo_t * cr), (cr))

// Text
BOOTH_CAIRO_VOID(cairo_select_font_face,
                 (cairo_t * cr, const char *family, cairo_font_slant_t slant, cairo_font_weight_t weight),
                 (cr, family, slant, weight))
BOOTH_CAIRO_VOID(cairo_set_font_size, (cairo_t * cr, double size), (cr, size))
BOOTH_CAIRO_VOID(cairo_show_text, (cairo_t * cr, const char *utf8), (cr, utf8))
BOOTH_CAIRO_VOID(cairo_text_extents, (cairo_t * cr, const char *utf8, cairo_text_extents_t *extents),
                 (cr, utf8, extents))
