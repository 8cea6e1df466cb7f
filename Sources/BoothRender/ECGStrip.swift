import BoothCore
import Foundation

/// A standard ECG strip: 25 mm/s, 10 mm/mV on a 1 mm / 5 mm grid, a 1 mV calibration pulse at the start of every
/// row, and a header with device, start time, lead(s) and the mean heart rate computed from the RR intervals the
/// device reported. Measured values only: no interpretation is drawn.
///
/// Layout on A4 landscape: rows of 10 s (250 mm of trace after a 10 mm calibration zone), one row per lead per
/// 10 s segment, `rowsPerPage` rows per page; a 30 s single-lead strip is one page of three rows.
public struct ECGStrip: Sendable {
    public var recording: ECGRecording
    public var paperSpeed: Double = 25
    public var gain: Double = 10
    public var secondsPerRow: Double = 10
    public var rowsPerPage = 4
    public var page = PageSize.a4Landscape

    // Geometry (mm). The grid is a whole number of 5 mm squares.
    let gridLeft = 13.5
    let gridTop = 32.5
    let gridWidth = 270.0
    let rowHeight = 40.0
    let calibrationWidth = 10.0

    public init(recording: ECGRecording) {
        self.recording = recording
    }

    /// Number of 10 s segments the longest lead needs.
    public var segmentCount: Int {
        let duration = recording.leads.map(\.durationSeconds).max() ?? 0
        return max(1, Int((duration / secondsPerRow).rounded(.up)))
    }

    public var rowCount: Int { segmentCount * max(1, recording.leads.count) }

    public var pageCount: Int { (rowCount + rowsPerPage - 1) / rowsPerPage }

    /// Writes every page to one PDF.
    public func writePDF(to path: String) throws(RenderError) {
        try PlotDocument.writePDF(
            path: path,
            page: page,
            pageCount: pageCount,
            title: "ECG strip \(recording.device.id)",
            draw: drawPage
        )
    }

    /// Writes page `pageIndex` to a PNG (8 px/mm ≈ 203 dpi by default).
    public func writePNG(to path: String, pageIndex: Int = 0, pixelsPerMillimetre: Double = 8) throws(RenderError) {
        try PlotDocument.writePNG(
            path: path,
            page: page,
            pixelsPerMillimetre: pixelsPerMillimetre,
            pageIndex: pageIndex,
            draw: drawPage
        )
    }

    /// The header lines (also useful for tests and the CLI).
    public var headerLines: [String] {
        let device = recording.device
        let name = [device.manufacturer, device.model].compactMap { $0 }.joined(separator: " ")
        let deviceText = name.isEmpty ? device.id : "\(name) (\(device.id))"
        let start = recording.leads.first.map { Self.utcText(micros: $0.startMicros) } ?? "unknown"
        let duration = recording.leads.map(\.durationSeconds).max() ?? 0
        let rate = recording.leads.first.map { Self.number($0.sampleRateHz, digits: 0) } ?? "?"
        let leads = recording.leads.map(\.label).joined(separator: ", ")
        var lines = [
            "ECG — lead: \(leads) — device: \(deviceText)",
            "Start \(start) · duration \(Self.number(duration, digits: 1)) s · \(rate) Hz · "
                + "\(Self.number(paperSpeed, digits: 0)) mm/s · \(Self.number(gain, digits: 0)) mm/mV",
        ]
        let valid = recording.rrIntervals1024.filter { $0 > 0 }.count
        if let mean = recording.meanHeartRateFromRR {
            lines.append("Mean heart rate \(Self.number(mean, digits: 0)) /min (from \(valid) RR intervals)")
        } else {
            lines.append("Mean heart rate: not available (no RR intervals reported)")
        }
        return lines
    }

    /// Warnings printed in red under the header: incomplete recording, gaps.
    public var warningLines: [String] {
        var lines: [String] = []
        if recording.incomplete {
            lines.append("INCOMPLETE: the recording stopped early; only what was received is shown")
        }
        let gaps = recording.leads.reduce(0) { $0 + $1.gaps.count }
        if gaps > 0 {
            let missing = recording.leads.map { Double($0.missingCount) / $0.sampleRateHz }.max() ?? 0
            lines.append(
                "\(gaps) gap(s) in the data (\(Self.number(missing, digits: 2)) s missing), shown as grey bands"
            )
        }
        let flat = recording.leads.flatMap { lead in lead.flatLineSpans().map { Double($0.count) / lead.sampleRateHz } }
        if !flat.isEmpty {
            lines.append(
                "Flat line for \(Self.number(flat.reduce(0, +), digits: 1)) s in \(flat.count) stretch(es): "
                    + "check electrode contact"
            )
        }
        return lines
    }

    func drawPage(_ canvas: PlotCanvas, _ pageIndex: Int) {
        // Header, then warnings in red, above the grid.
        let lines = headerLines.map { ($0, false) } + warningLines.map { ($0, true) }
        for (index, (line, isWarning)) in lines.prefix(5).enumerated() {
            canvas.text(
                line,
                x: gridLeft,
                y: 8 + Double(index) * 4.8,
                size: index == 0 ? 4 : 3.3,
                bold: index == 0 || isWarning,
                color: isWarning ? .warning : .black
            )
        }
        if pageCount > 1 {
            canvas.text("page \(pageIndex + 1)/\(pageCount)", x: gridLeft + gridWidth - 20, y: 8, size: 3.3)
        }
        // Grid.
        let firstRow = pageIndex * rowsPerPage
        let rowsHere = max(0, min(rowsPerPage, rowCount - firstRow))
        let gridHeight = rowHeight * Double(max(1, rowsHere))
        canvas.grid(x: gridLeft, y: gridTop, width: gridWidth, height: gridHeight)
        // Rows.
        let leadCount = max(1, recording.leads.count)
        for slot in 0..<rowsHere {
            let row = firstRow + slot
            let segment = row / leadCount
            let top = gridTop + Double(slot) * rowHeight
            // 24 mm (2.4 mV) of headroom above the baseline; taller R waves may cross into the row above, as on paper.
            let baseline = top + rowHeight * 0.6
            guard recording.leads.indices.contains(row % leadCount) else { continue }
            let lead = recording.leads[row % leadCount]
            drawCalibration(canvas, x: gridLeft, baseline: baseline)
            drawTrace(canvas, lead: lead, segment: segment, top: top, baseline: baseline)
            // The label goes on top of the trace and any gap band.
            let segmentStart = Double(segment) * secondsPerRow
            canvas.text(
                "\(lead.label)  \(Self.number(segmentStart, digits: 0))–\(Self.number(segmentStart + secondsPerRow, digits: 0)) s",
                x: gridLeft + calibrationWidth + 1,
                y: top + rowHeight - 1.5,
                size: 3
            )
        }
        canvas.text(
            "Paper speed \(Self.number(paperSpeed, digits: 0)) mm/s · gain \(Self.number(gain, digits: 0)) mm/mV · "
                + "grid 1 mm / 5 mm · calibration pulse 1 mV · measured values only, no interpretation · "
                + "boothd \(BoothVersion.string)",
            x: gridLeft,
            y: gridTop + gridHeight + 6,
            size: 3
        )
    }

    func drawCalibration(_ canvas: PlotCanvas, x: Double, baseline: Double) {
        // 1 mV for 200 ms: 10 mm high, 5 mm wide at 25 mm/s and 10 mm/mV.
        let high = baseline - gain
        let pulse = paperSpeed * 0.2
        canvas.polyline(
            [
                (x + 2, baseline), (x + 2.5, baseline), (x + 2.5, high), (x + 2.5 + pulse, high),
                (x + 2.5 + pulse, baseline), (x + calibrationWidth, baseline),
            ],
            width: 0.3,
            color: .black
        )
    }

    func drawTrace(_ canvas: PlotCanvas, lead: Waveform, segment: Int, top: Double, baseline: Double) {
        let rate = lead.sampleRateHz
        let perRow = Int((secondsPerRow * rate).rounded())
        let first = segment * perRow
        let timeline = lead.timeline()
        guard first < timeline.count else { return }
        let last = min(timeline.count, first + perRow)
        let left = gridLeft + calibrationWidth
        let millivoltsPerUnit = Self.millivolts(per: lead.unit)
        let offset = Self.displayOffset(lead)
        var points: [(Double, Double)?] = []
        points.reserveCapacity(last - first)
        var gapStart: Int?
        for index in first..<last {
            let x = left + Double(index - first) / rate * paperSpeed
            if let raw = timeline[index] {
                if let start = gapStart {
                    shadeGap(canvas, from: start, to: index, first: first, rate: rate, left: left, top: top)
                    gapStart = nil
                }
                let millivolts = (lead.physical(raw) - offset) * millivoltsPerUnit
                points.append((x, baseline - millivolts * gain))
            } else {
                if gapStart == nil { gapStart = index }
                points.append(nil)
            }
        }
        if let start = gapStart {
            shadeGap(canvas, from: start, to: last, first: first, rate: rate, left: left, top: top)
        }
        canvas.clip(x: gridLeft, y: gridTop, width: gridWidth, height: rowHeight * Double(rowsPerPage))
        canvas.polyline(points, width: 0.3, color: .black)
        canvas.resetClip()
    }

    func shadeGap(_ canvas: PlotCanvas, from: Int, to: Int, first: Int, rate: Double, left: Double, top: Double) {
        let x0 = left + Double(from - first) / rate * paperSpeed
        let x1 = left + Double(to - first) / rate * paperSpeed
        canvas.fill(x: x0, y: top + 2, width: max(0.5, x1 - x0), height: rowHeight - 4, color: .gap)
        canvas.text("gap", x: x0 + 0.5, y: top + 6, size: 2.5, color: .warning)
    }

    /// Millivolts per unit for the units ECG devices use.
    static func millivolts(per unit: UCUMUnit) -> Double {
        switch unit.code {
        case "uV": 0.001
        case "V": 1000
        case "nV": 0.000_001
        default: 1
        }
    }

    /// The lead's median, removed before drawing so a DC offset of the electrodes does not push the trace off
    /// its row (ECG amplifiers are AC-coupled; paper strips show no absolute level).
    static func displayOffset(_ lead: Waveform) -> Double {
        guard !lead.samples.isEmpty else { return 0 }
        let stride = max(1, lead.samples.count / 2001)
        let picked = Swift.stride(from: 0, to: lead.samples.count, by: stride).map { lead.samples[$0] }.sorted()
        return lead.physical(picked[picked.count / 2])
    }

    static func utcText(micros: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.formatOptions = [.withFullDate, .withFullTime, .withSpaceBetweenDateAndTime]
        return formatter.string(from: Date(timeIntervalSince1970: Double(micros) / 1e6)) + " (device clock)"
    }

    static func number(_ value: Double, digits: Int) -> String {
        String(format: "%.\(digits)f", value)
    }
}
