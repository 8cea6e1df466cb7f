import CCairo

/// Whether pictures (ECG strips, phonocardiograms) can be drawn on this machine. cairo is loaded on first use rather
/// than linked (docs/reliability.md, "Memory"), so a booth image without `libcairo2` builds and starts, and only the
/// first picture would fail; `boothctl doctor` asks this instead, before a doctor needs a strip.
public enum PictureRuntime {
    /// Draws a 1x1 surface: true when libcairo.so.2 was found and works.
    public static var cairoAvailable: Bool {
        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1) else { return false }
        defer { cairo_surface_destroy(surface) }
        return cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS
    }
}
