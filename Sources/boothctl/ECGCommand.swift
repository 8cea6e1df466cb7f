import ArgumentParser
import BoothCore
import BoothRender
import Foundation

struct ECGCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ecg",
        abstract:
            "ECG tools: render strips, make synthetic recordings, benchmark (decode bytes with `boothctl decode 2A37|pmd-ecg`).",
        subcommands: [ECGStripCommand.self, ECGSynthCommand.self, ECGBenchCommand.self, ECGRecordCommand.self]
    )
}

struct ECGStripCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strip",
        abstract: "Render an ECG recording as a standard strip (25 mm/s, 10 mm/mV) to PDF and/or PNG.",
        discussion: """
            --in is an ECG recording in JSON: {"device": {"id", "transport", ...}, "leads": [waveform...],
            "rrIntervals1024": [...]}, each waveform {"code": {"value", "referenceID"}, "label", "sampleRateHz",
            "unit": {"code": "uV"}, "scale", "origin", "samples": [...], "startMicros", "gaps": [...],
            "incomplete"} (what `boothctl ecg synth` writes and boothd stores).
            """
    )

    @Option(name: .customLong("in"), help: "Recording JSON file.") var input: String
    @Option(name: .shortAndLong, help: "Output file: .pdf or .png (by extension).") var output: String
    @Option(help: "Also write a PNG of the first page here.") var png: String?
    @Option(help: "PNG resolution in pixels per millimetre.") var pixelsPerMm: Double = 8
    @Flag(help: "Machine-readable output.") var json = false

    func run() throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: input))
        } catch {
            throw ValidationError("cannot read \(input): \(error.localizedDescription)")
        }
        let recording: ECGRecording
        do {
            recording = try JSONDecoder().decode(ECGRecording.self, from: data)
        } catch {
            throw ValidationError("\(input) is not an ECG recording: \(Self.describe(error))")
        }
        guard !recording.leads.isEmpty, recording.leads.allSatisfy({ $0.sampleRateHz > 0 }) else {
            throw ValidationError("\(input): needs at least one lead with sampleRateHz > 0")
        }
        let strip = ECGStrip(recording: recording)
        var written: [String] = []
        let started = ContinuousClock.now
        if output.lowercased().hasSuffix(".png") {
            try strip.writePNG(to: output, pixelsPerMillimetre: pixelsPerMm)
        } else {
            try strip.writePDF(to: output)
        }
        written.append(output)
        if let png {
            try strip.writePNG(to: png, pixelsPerMillimetre: pixelsPerMm)
            written.append(png)
        }
        let elapsed = ContinuousClock.now - started
        let report = StripReport(
            files: written,
            pages: strip.pageCount,
            header: strip.headerLines,
            warnings: strip.warningLines,
            meanHeartRate: recording.meanHeartRateFromRR,
            samples: recording.leads.map(\.samples.count).reduce(0, +),
            renderMilliseconds: Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds)
                * 1000
        )
        if json {
            try printJSON(report)
        } else {
            for line in strip.headerLines + strip.warningLines { print(line) }
            print("wrote \(written.joined(separator: ", ")) (\(strip.pageCount) page(s))")
        }
    }

    struct StripReport: Encodable {
        var files: [String]
        var pages: Int
        var header: [String]
        var warnings: [String]
        var meanHeartRate: Double?
        var samples: Int
        var renderMilliseconds: Double
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            "missing key \(path(context.codingPath + [key]))"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "\(path(context.codingPath)): \(context.debugDescription)"
        case DecodingError.dataCorrupted(let context):
            "\(path(context.codingPath)): \(context.debugDescription)"
        default:
            "\(error)"
        }
    }

    static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }
}

struct ECGSynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write a synthetic ECG recording (known heart rate) as JSON, built through the Polar PMD frame path."
    )

    @Option(help: "Heart rate in beats per minute.") var heartRate: Double = 72
    @Option(help: "Duration in seconds.") var seconds: Double = 30
    @Option(help: "Sample rate in Hz.") var sampleRate: Double = 130
    @Option(help: "Drop every Nth PMD frame (0 = none), to see gaps on the strip.") var dropEvery = 0
    @Flag(help: "Mark the recording incomplete (as after a disconnect).") var incomplete = false
    @Option(name: .shortAndLong, help: "Output JSON file (- for stdout).") var output: String = "-"

    func run() throws {
        guard heartRate >= 20, heartRate <= 300, seconds > 0, seconds <= 3600, sampleRate >= 10 else {
            throw ValidationError("need 20 ≤ --heart-rate ≤ 300, 0 < --seconds ≤ 3600, --sample-rate ≥ 10")
        }
        let recording = SyntheticRecording.make(
            heartRate: heartRate,
            seconds: seconds,
            sampleRate: sampleRate,
            dropEvery: dropEvery,
            incomplete: incomplete
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(recording)
        if output == "-" {
            print(String(decoding: data, as: UTF8.self))
        } else {
            try data.write(to: URL(fileURLWithPath: output))
        }
    }
}

/// Synthetic recordings go through the same bytes a Polar H10 sends: PMD frames of 73 samples, decoded and
/// assembled with gap detection, plus Heart Rate Measurement notifications for the RR intervals.
enum SyntheticRecording {
    static func make(
        heartRate: Double,
        seconds: Double,
        sampleRate: Double,
        dropEvery: Int,
        incomplete: Bool
    ) -> ECGRecording {
        let synthetic = SyntheticECG(heartRate: heartRate, sampleRateHz: sampleRate)
        let total = Int((seconds * sampleRate).rounded())
        let perFrame = 73
        // 2026-01-01T00:00:00Z on the Polar clock (ns since 2000-01-01).
        let startNanos: Int64 = (1_767_225_600 - PolarPMD.epochOffsetSeconds) * 1_000_000_000
        var assembler = WaveformAssembler(
            waveform: .ecg(lead: .unspecified, sampleRateHz: sampleRate),
            epochOffsetNanos: PolarPMD.epochOffsetSeconds * 1_000_000_000
        )
        var frameIndex = 0
        var start = 0
        while start < total {
            let count = min(perFrame, total - start)
            let lastNanos = startNanos + Int64((Double(start + count - 1) * 1e9 / sampleRate).rounded())
            let frame = PolarPMDECGFrame(
                timestampNanos: UInt64(lastNanos),
                microvolts: synthetic.samples(from: start, count: count)
            )
            frameIndex += 1
            start += count
            if dropEvery > 0, frameIndex % dropEvery == 0 { continue }
            // Through the byte format and back, as a real notification would be.
            if let decoded = try? PolarPMDECGFrame.decode(frame.encoded()) {
                assembler.append(decoded.microvolts, lastSampleNanos: Int64(decoded.timestampNanos))
            }
        }
        if incomplete { assembler.markIncomplete() }
        let beats = max(0, synthetic.rPeakTimes(duration: seconds).count - 1)
        let rr = Array(repeating: synthetic.rrInterval1024, count: beats)
        let device = DeviceIdentity(
            id: "sim:ecg",
            transport: "simulated",
            model: "H10 (synthetic)",
            manufacturer: "Polar",
            profile: "polar.h10"
        )
        return ECGRecording(device: device, leads: [assembler.waveform], rrIntervals1024: rr)
    }
}
