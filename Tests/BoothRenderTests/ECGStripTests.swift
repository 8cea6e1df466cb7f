import BoothCore
import BoothRender
import CCairo
import Foundation
import Testing

/// Pixels of a PNG read back through cairo (RGB, 0…255).
struct Raster {
    var width: Int
    var height: Int
    var pixels: [UInt32]

    init(png path: String) throws {
        let surface = try #require(cairo_image_surface_create_from_png(path))
        defer { cairo_surface_destroy(surface) }
        try #require(cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS, "\(path) is not a PNG")
        let width = Int(cairo_image_surface_get_width(surface))
        let height = Int(cairo_image_surface_get_height(surface))
        let stride = Int(cairo_image_surface_get_stride(surface))
        let data = try #require(cairo_image_surface_get_data(surface))
        var pixels = [UInt32](repeating: 0, count: width * height)
        data.withMemoryRebound(to: UInt32.self, capacity: stride / 4 * height) { words in
            for y in 0..<height {
                for x in 0..<width { pixels[y * width + x] = words[y * (stride / 4) + x] & 0x00ff_ffff }
            }
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    func rgb(_ x: Int, _ y: Int) -> (Int, Int, Int) {
        let value = pixels[y * width + x]
        return (Int(value >> 16 & 0xff), Int(value >> 8 & 0xff), Int(value & 0xff))
    }

    func isDark(_ x: Int, _ y: Int) -> Bool {
        let (r, g, b) = rgb(x, y)
        return r < 90 && g < 90 && b < 90
    }

    func isGrid(_ x: Int, _ y: Int) -> Bool {
        let (r, g, b) = rgb(x, y)
        return r > 200 && g < 235 && b < 235 && r - g > 15
    }
}

@Suite struct ECGStripTests {
    static let pxPerMM = 8.0

    func recording(heartRate: Double, seconds: Double, drop: Set<Int> = []) -> ECGRecording {
        let synthetic = SyntheticECG(heartRate: heartRate, sampleRateHz: 130)
        var assembler = WaveformAssembler(waveform: .ecg(lead: .unspecified, sampleRateHz: 130))
        let total = Int(seconds * 130)
        var start = 0
        var frame = 0
        while start < total {
            let count = min(73, total - start)
            if !drop.contains(frame) {
                let last = Int64((Double(start + count - 1) * 1e9 / 130).rounded())
                assembler.append(synthetic.samples(from: start, count: count), lastSampleNanos: last)
            }
            start += count
            frame += 1
        }
        return ECGRecording(
            device: DeviceIdentity(id: "sim:ecg", transport: "simulated", model: "H10", manufacturer: "Polar"),
            leads: [assembler.waveform],
            rrIntervals1024: Array(repeating: synthetic.rrInterval1024, count: 20)
        )
    }

    func temporary(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("ecgstrip-\(UUID().uuidString)-\(name)").path
    }

    @Test func thirtySecondsIsOnePageOfThreeRows() {
        let strip = ECGStrip(recording: recording(heartRate: 60, seconds: 30))
        #expect(strip.segmentCount == 3)
        #expect(strip.pageCount == 1)
        #expect(strip.headerLines[2] == "Mean heart rate 60 /min (from 20 RR intervals)")
        #expect(strip.warningLines.isEmpty)
        #expect(ECGStrip(recording: recording(heartRate: 60, seconds: 45)).pageCount == 2)
    }

    @Test func pngHasGridCalibrationAndRPeaksAtTheRightPlaces() throws {
        let path = temporary("strip.png")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try ECGStrip(recording: recording(heartRate: 60, seconds: 30)).writePNG(
            to: path,
            pixelsPerMillimetre: Self.pxPerMM
        )
        let raster = try Raster(png: path)
        #expect(raster.width == 2376)
        #expect(raster.height == 1680)
        func px(_ mm: Double) -> Int { Int((mm * Self.pxPerMM).rounded()) }

        // Grid: a large share of the grid area is grid-coloured, on 1 mm and 5 mm lines.
        var gridPixels = 0
        for y in stride(from: px(33), to: px(150), by: 3) {
            for x in stride(from: px(14), to: px(283), by: 3) where raster.isGrid(x, y) { gridPixels += 1 }
        }
        #expect(gridPixels > 5000, "grid pixels: \(gridPixels)")
        // A major line at every 5 mm from the grid's left edge (13.5 mm): sample one away from the trace.
        for column in 0...54 {
            let x = px(13.5 + Double(column) * 5)
            #expect((x - 1...x + 1).contains { raster.isGrid($0, px(34)) }, "major line \(column)")
        }

        // Calibration pulse in row 0: baseline at 32.5 + 24 mm, top 10 mm higher, from x = 16 to 21 mm.
        let baseline = 32.5 + 40 * 0.6
        #expect((px(baseline - 10) - 2...px(baseline - 10) + 2).contains { raster.isDark(px(18.5), $0) })
        #expect(!(px(baseline - 14)...px(baseline - 11)).contains { raster.isDark(px(18.5), $0) })

        // R peaks (1.2 mV → 12 mm above baseline): dark pixels above baseline − 9 mm appear only near
        // x = 23.5 mm + (0.25 s + k) × 25 mm/s, i.e. one cluster per beat, 25 mm apart.
        var clusters: [Double] = []
        var inCluster = false
        for x in px(24)..<px(283) {
            let high = (px(baseline - 13)...px(baseline - 9)).contains { raster.isDark(x, $0) }
            if high, !inCluster { clusters.append(Double(x) / Self.pxPerMM) }
            inCluster = high
        }
        #expect(clusters.count == 10, "R clusters: \(clusters)")
        for (beat, x) in clusters.enumerated() {
            let expected = 23.5 + (0.25 + Double(beat)) * 25
            #expect(abs(x - expected) < 1.0, "beat \(beat) at \(x) mm, expected \(expected)")
        }
    }

    @Test func gapIsABreakNotAStretch() throws {
        // Frame 3 (samples 219–291, 1.68–2.24 s) dropped: no trace there, and later beats keep their times.
        let path = temporary("gap.png")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let strip = ECGStrip(recording: recording(heartRate: 60, seconds: 10, drop: [3]))
        #expect(strip.warningLines.count == 1)
        try strip.writePNG(to: path, pixelsPerMillimetre: Self.pxPerMM)
        let raster = try Raster(png: path)
        func px(_ mm: Double) -> Int { Int((mm * Self.pxPerMM).rounded()) }
        let baseline = 32.5 + 24
        let gapMid = 23.5 + 1.96 * 25
        #expect(!(px(baseline - 5)...px(baseline + 5)).contains { raster.isDark(px(gapMid), $0) })
        // The beat at 3.25 s is still at 23.5 + 3.25 × 25 mm.
        let beat = 23.5 + 3.25 * 25
        #expect((px(beat) - 4...px(beat) + 4).contains { x in raster.isDark(x, px(baseline - 11)) })
    }

    @Test func severalLeadsGetOneRowEachPerSegment() throws {
        var base = recording(heartRate: 80, seconds: 20)
        let lead = try #require(base.leads.first)
        var second = lead
        second.code = ECGLead.II.potentialCode
        second.label = ECGLead.II.label
        base.leads = [lead, second, lead]
        let strip = ECGStrip(recording: base)
        #expect(strip.rowCount == 6)
        #expect(strip.pageCount == 2)
        #expect(strip.headerLines[0].contains("single lead, II, single lead"))
        let path = temporary("leads.pdf")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try strip.writePDF(to: path)
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
        #expect(text.contains("/Count 2"))
    }

    @Test func pdfIsWrittenAndBadPathsAreTypedErrors() throws {
        let path = temporary("strip.pdf")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try ECGStrip(recording: recording(heartRate: 72, seconds: 30)).writePDF(to: path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(bytes.prefix(5) == Data("%PDF-".utf8))
        #expect(bytes.count > 10_000)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("/Count 1"))
        #expect(throws: RenderError.self) {
            try ECGStrip(recording: recording(heartRate: 72, seconds: 1)).writePNG(to: "/nonexistent-dir/x.png")
        }
        #expect(throws: RenderError.self) {
            try ECGStrip(recording: recording(heartRate: 72, seconds: 1)).writePDF(to: "/nonexistent-dir/x.pdf")
        }
    }
}
