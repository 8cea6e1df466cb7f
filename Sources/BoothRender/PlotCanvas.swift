import CCairo

/// Why a drawing could not be produced: the cairo operation and cairo's own reason.
public struct RenderError: Error, Sendable, Hashable, CustomStringConvertible {
    public var operation: String
    public var reason: String

    public init(operation: String, reason: String) {
        self.operation = operation
        self.reason = reason
    }

    public var description: String { "\(operation) failed: \(reason)" }
}

/// A page size in millimetres.
public struct PageSize: Sendable, Hashable {
    public var width: Double
    public var height: Double

    public init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    /// ISO A4, landscape (297 × 210 mm): the usual ECG strip paper.
    public static let a4Landscape = PageSize(width: 297, height: 210)
}

/// An RGB colour with components in 0…1.
public struct PlotColor: Sendable, Hashable {
    public var red: Double
    public var green: Double
    public var blue: Double

    public init(_ red: Double, _ green: Double, _ blue: Double) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    public static let black = PlotColor(0, 0, 0)
    public static let white = PlotColor(1, 1, 1)
    public static let gridMinor = PlotColor(1.0, 0.78, 0.78)
    public static let gridMajor = PlotColor(0.93, 0.42, 0.42)
    public static let warning = PlotColor(0.75, 0.0, 0.0)
    public static let gap = PlotColor(0.85, 0.85, 0.85)
}

/// The reusable plotting core: a cairo context whose unit is the millimetre, with the few primitives that
/// medical strips need (paper grid, polylines with breaks, text). ECG strips use it; phonocardiograms will too.
///
/// One canvas draws one page set and is used by one thread: cairo contexts are not thread-safe, so `PlotDocument`
/// creates, uses and destroys it inside a single call.
public final class PlotCanvas {
    let context: OpaquePointer

    init(context: OpaquePointer) {
        self.context = context
    }

    public func setColor(_ color: PlotColor) {
        cairo_set_source_rgb(context, color.red, color.green, color.blue)
    }

    /// Fills a rectangle (mm).
    public func fill(x: Double, y: Double, width: Double, height: Double, color: PlotColor) {
        setColor(color)
        cairo_rectangle(context, x, y, width, height)
        cairo_fill(context)
    }

    /// Strokes a straight line (mm).
    public func line(from start: (Double, Double), to end: (Double, Double), width: Double, color: PlotColor) {
        setColor(color)
        cairo_set_line_width(context, width)
        cairo_move_to(context, start.0, start.1)
        cairo_line_to(context, end.0, end.1)
        cairo_stroke(context)
    }

    /// Paper grid: thin lines every `minor` mm, thicker every `major` mm, over the rectangle.
    public func grid(
        x: Double,
        y: Double,
        width: Double,
        height: Double,
        minor: Double = 1,
        major: Double = 5
    ) {
        let ratio = Int((major / minor).rounded())
        cairo_set_line_cap(context, CAIRO_LINE_CAP_BUTT)
        for pass in 0..<2 {
            let isMajor = pass == 1
            setColor(isMajor ? .gridMajor : .gridMinor)
            cairo_set_line_width(context, isMajor ? 0.22 : 0.08)
            let columns = Int((width / minor).rounded())
            for column in 0...columns where (column % ratio == 0) == isMajor {
                let lineX = x + Double(column) * minor
                cairo_move_to(context, lineX, y)
                cairo_line_to(context, lineX, y + height)
            }
            let rows = Int((height / minor).rounded())
            for row in 0...rows where (row % ratio == 0) == isMajor {
                let lineY = y + Double(row) * minor
                cairo_move_to(context, x, lineY)
                cairo_line_to(context, x + width, lineY)
            }
            cairo_stroke(context)
        }
    }

    /// A polyline through `points` (mm); a nil point lifts the pen, so gaps stay visible as breaks.
    public func polyline(_ points: [(Double, Double)?], width: Double, color: PlotColor) {
        setColor(color)
        cairo_set_line_width(context, width)
        cairo_set_line_join(context, CAIRO_LINE_JOIN_ROUND)
        cairo_set_line_cap(context, CAIRO_LINE_CAP_ROUND)
        var penDown = false
        for point in points {
            guard let point else {
                penDown = false
                continue
            }
            if penDown {
                cairo_line_to(context, point.0, point.1)
            } else {
                cairo_move_to(context, point.0, point.1)
                penDown = true
            }
        }
        cairo_stroke(context)
    }

    /// Text with its baseline's left end at (x, y), `size` in mm.
    public func text(
        _ string: String,
        x: Double,
        y: Double,
        size: Double,
        bold: Bool = false,
        color: PlotColor = .black
    ) {
        setColor(color)
        cairo_select_font_face(
            context,
            "DejaVu Sans",
            CAIRO_FONT_SLANT_NORMAL,
            bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL
        )
        cairo_set_font_size(context, size)
        cairo_move_to(context, x, y)
        cairo_show_text(context, string)
    }

    /// Restricts drawing to a rectangle until `resetClip()`.
    public func clip(x: Double, y: Double, width: Double, height: Double) {
        cairo_rectangle(context, x, y, width, height)
        cairo_clip(context)
    }

    public func resetClip() {
        cairo_reset_clip(context)
    }
}

/// Output of a multi-page drawing: PDF (vector, one file, all pages) or PNG (raster, one file per page).
public enum PlotDocument {
    static let pointsPerMillimetre = 72.0 / 25.4

    /// Draws `pageCount` pages into a PDF at `path`.
    public static func writePDF(
        path: String,
        page: PageSize,
        pageCount: Int,
        title: String,
        draw: (PlotCanvas, Int) -> Void
    ) throws(RenderError) {
        guard
            let surface = cairo_pdf_surface_create(
                path,
                page.width * pointsPerMillimetre,
                page.height * pointsPerMillimetre
            )
        else { throw RenderError(operation: "cairo_pdf_surface_create(\(path))", reason: "no surface") }
        defer { cairo_surface_destroy(surface) }
        try check(cairo_surface_status(surface), "cairo_pdf_surface_create(\(path))")
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, title)
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "boothd")
        guard let context = cairo_create(surface) else {
            throw RenderError(operation: "cairo_create", reason: "no context")
        }
        defer { cairo_destroy(context) }
        cairo_scale(context, pointsPerMillimetre, pointsPerMillimetre)
        let canvas = PlotCanvas(context: context)
        for index in 0..<max(1, pageCount) {
            canvas.fill(x: 0, y: 0, width: page.width, height: page.height, color: .white)
            cairo_save(context)
            draw(canvas, index)
            cairo_restore(context)
            cairo_show_page(context)
        }
        try check(cairo_status(context), "drawing \(path)")
        cairo_surface_finish(surface)
        try check(cairo_surface_status(surface), "writing \(path)")
    }

    /// Draws page `pageIndex` into a PNG at `path`, `pixelsPerMillimetre` (8 ≈ 203 dpi).
    public static func writePNG(
        path: String,
        page: PageSize,
        pixelsPerMillimetre: Double,
        pageIndex: Int = 0,
        draw: (PlotCanvas, Int) -> Void
    ) throws(RenderError) {
        let width = Int32((page.width * pixelsPerMillimetre).rounded())
        let height = Int32((page.height * pixelsPerMillimetre).rounded())
        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height) else {
            throw RenderError(operation: "cairo_image_surface_create", reason: "no surface")
        }
        defer { cairo_surface_destroy(surface) }
        try check(cairo_surface_status(surface), "cairo_image_surface_create(\(width)x\(height))")
        guard let context = cairo_create(surface) else {
            throw RenderError(operation: "cairo_create", reason: "no context")
        }
        defer { cairo_destroy(context) }
        cairo_scale(context, pixelsPerMillimetre, pixelsPerMillimetre)
        let canvas = PlotCanvas(context: context)
        canvas.fill(x: 0, y: 0, width: page.width, height: page.height, color: .white)
        draw(canvas, pageIndex)
        try check(cairo_status(context), "drawing \(path)")
        cairo_surface_flush(surface)
        try check(cairo_surface_write_to_png(surface, path), "cairo_surface_write_to_png(\(path))")
    }

    static func check(_ status: cairo_status_t, _ operation: String) throws(RenderError) {
        guard status == CAIRO_STATUS_SUCCESS else {
            throw RenderError(operation: operation, reason: String(cString: cairo_status_to_string(status)))
        }
    }
}
