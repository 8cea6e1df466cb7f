import BoothCore
import CCairo
import Foundation

/// Draws a recording as a phonocardiogram: the waveform (min/max per pixel column) on a grid with a time
/// axis in seconds, and a caption with mode, band, rate and the estimated heart rate. Rendered with cairo.
public enum PhonocardiogramPicture {
    public struct Layout: Sendable {
        public var pixelsPerSecond: Double = 100
        public var height: Int = 360
        public var minimumWidth: Int = 640
        public var maximumWidth: Int = 4000
        public init() {}
    }

    public static func render(
        _ recording: StethoscopeRecording,
        to path: String,
        layout: Layout = Layout()
    ) throws(StethoscopeError) {
        var caption = "Phonocardiogram · \(recording.mode.rawValue) mode "
        let band = recording.mode.band(sampleRate: recording.sampleRate)
        caption += "(\(Int(band.low))–\(Int(band.high)) Hz) · \(recording.sampleRate) Hz · "
        caption += String(format: "%.1f s · peak %.1f dBFS", recording.duration, recording.peakDB)
        if let heartRate = recording.heartRate, heartRate.confidence >= 0.3 {
            caption += String(format: " · heart rate ≈ %.0f/min", heartRate.beatsPerMinute)
        }
        try render(
            samples: recording.monoSamples,
            sampleRate: recording.sampleRate,
            caption: caption,
            to: path,
            layout: layout
        )
    }

    public static func render(
        samples: [Float],
        sampleRate: Int,
        caption: String,
        to path: String,
        layout: Layout = Layout()
    ) throws(StethoscopeError) {
        guard sampleRate > 0, !samples.isEmpty else {
            throw .writeFailed(path: path, detail: "no samples to draw")
        }
        let seconds = Double(samples.count) / Double(sampleRate)
        let plotLeft = 56.0
        let plotRight = 16.0
        let plotTop = 34.0
        let plotBottom = 36.0
        let plotWidthTarget = (seconds * layout.pixelsPerSecond).rounded(.up)
        let width = min(layout.maximumWidth, max(layout.minimumWidth, Int(plotWidthTarget + plotLeft + plotRight)))
        let height = layout.height
        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(width), Int32(height)) else {
            throw .writeFailed(path: path, detail: "cairo could not allocate a \(width)x\(height) surface")
        }
        defer { cairo_surface_destroy(surface) }
        guard let cairo = cairo_create(surface) else {
            throw .writeFailed(path: path, detail: "cairo could not create a context")
        }
        defer { cairo_destroy(cairo) }

        let plotWidth = Double(width) - plotLeft - plotRight
        let plotHeight = Double(height) - plotTop - plotBottom
        let middle = plotTop + plotHeight / 2
        cairo_set_source_rgb(cairo, 1, 1, 1)
        cairo_paint(cairo)

        // Grid: a thin line every 0.2 s, a stronger one with a label every second (or every 5 s when long).
        let labelStep = seconds > 40 ? 5.0 : 1.0
        let xOf = { (time: Double) in plotLeft + time / seconds * plotWidth }
        cairo_set_line_width(cairo, 1)
        var tick = 0.0
        var index = 0
        cairo_select_font_face(cairo, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL)
        cairo_set_font_size(cairo, 12)
        while tick <= seconds + 1e-9 {
            let major = index % Int(labelStep * 5) == 0
            if major {
                cairo_set_source_rgb(cairo, 0.93, 0.67, 0.67)
            } else {
                cairo_set_source_rgb(cairo, 0.98, 0.88, 0.88)
            }
            if major || seconds <= 60 {
                let x = xOf(tick).rounded() + 0.5
                cairo_move_to(cairo, x, plotTop)
                cairo_line_to(cairo, x, plotTop + plotHeight)
                cairo_stroke(cairo)
            }
            if major {
                let label = String(format: "%g s", tick)
                var extents = cairo_text_extents_t()
                cairo_text_extents(cairo, label, &extents)
                cairo_set_source_rgb(cairo, 0.2, 0.2, 0.2)
                cairo_move_to(cairo, xOf(tick) - extents.width / 2, plotTop + plotHeight + 18)
                cairo_show_text(cairo, label)
            }
            index += 1
            tick = Double(index) * 0.2
        }
        // Amplitude axis: full scale ±1 scaled to the recording's peak so quiet sounds stay visible.
        let peak = max(samples.lazy.map { abs($0) }.max() ?? 0, 1e-6)
        let scale = Double(1 / peak) * plotHeight / 2 * 0.95
        cairo_set_source_rgb(cairo, 0.75, 0.75, 0.75)
        cairo_move_to(cairo, plotLeft, middle + 0.5)
        cairo_line_to(cairo, plotLeft + plotWidth, middle + 0.5)
        cairo_stroke(cairo)
        cairo_set_source_rgb(cairo, 0.2, 0.2, 0.2)
        cairo_move_to(cairo, 6, plotTop + 12)
        cairo_show_text(cairo, String(format: "%+.2f", peak))
        cairo_move_to(cairo, 6, plotTop + plotHeight)
        cairo_show_text(cairo, String(format: "%+.2f", -peak))
        cairo_move_to(cairo, 6, plotTop + plotHeight + 18)
        cairo_show_text(cairo, "time")

        // Waveform: the min and max of the samples under each pixel column.
        cairo_set_source_rgb(cairo, 0.05, 0.15, 0.45)
        let columns = Int(plotWidth)
        let perColumn = Double(samples.count) / Double(columns)
        for column in 0..<columns {
            let start = Int(Double(column) * perColumn)
            let end = min(samples.count, max(start + 1, Int(Double(column + 1) * perColumn)))
            var low = samples[start]
            var high = samples[start]
            for sample in samples[start..<end] {
                low = min(low, sample)
                high = max(high, sample)
            }
            let x = plotLeft + Double(column) + 0.5
            cairo_move_to(cairo, x, middle - Double(high) * scale - 0.5)
            cairo_line_to(cairo, x, middle - Double(low) * scale + 0.5)
        }
        cairo_stroke(cairo)

        cairo_set_source_rgb(cairo, 0, 0, 0)
        cairo_set_font_size(cairo, 14)
        cairo_move_to(cairo, plotLeft, 22)
        cairo_show_text(cairo, caption)

        cairo_surface_flush(surface)
        let status = cairo_surface_write_to_png(surface, path)
        guard status == CAIRO_STATUS_SUCCESS else {
            let reason = cairo_status_to_string(status).map { String(cString: $0) } ?? "status \(status.rawValue)"
            throw .writeFailed(path: path, detail: reason)
        }
    }
}
