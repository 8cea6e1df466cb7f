import ArgumentParser
import BoothCore
import BoothRender
import Foundation

struct ECGBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure ECG decode throughput and strip render time on this machine (prints figures)."
    )

    @Option(help: "Strip length in seconds.") var seconds: Double = 30
    @Option(help: "Strip renders per format.") var renders = 5
    @Option(help: "Directory for the rendered files (a temporary one by default).") var outputDir: String?
    @Flag(help: "Machine-readable output.") var json = false

    func run() throws {
        // Decode throughput: real public vectors, decoded repeatedly.
        let heartRate = Hex.bytes("1f0101320101000201ffff") ?? []
        let frame = PolarPMDECGFrame(timestampNanos: 1, microvolts: SyntheticECG().samples(count: 73)).encoded()
        let hrRate = try Self.rate(iterations: 1_000_000) { _ = try HeartRateMeasurement.decode(heartRate) }
        let pmdRate = try Self.rate(iterations: 100_000) { _ = try PolarPMDECGFrame.decode(frame) }
        var assembler = WaveformAssembler(waveform: .ecg(lead: .unspecified, sampleRateHz: 130))
        let frames = 20_000
        let assembleStart = ContinuousClock.now
        for index in 0..<frames {
            let decoded = try PolarPMDECGFrame.decode(frame)
            assembler.append(decoded.microvolts, lastSampleNanos: Int64(index + 1) * 561_538_462)
        }
        let assembleSeconds = Self.seconds(ContinuousClock.now - assembleStart)

        // Strip render: synthetic recording through the PMD path.
        let recording = SyntheticRecording.make(
            heartRate: 72,
            seconds: seconds,
            sampleRate: 130,
            dropEvery: 0,
            incomplete: false
        )
        let strip = ECGStrip(recording: recording)
        let directory =
            outputDir
            ?? FileManager.default.temporaryDirectory.appendingPathComponent(
                "boothctl-ecg-bench-\(ProcessInfo.processInfo.processIdentifier)"
            ).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { if outputDir == nil { try? FileManager.default.removeItem(atPath: directory) } }
        var pdfTimes: [Double] = []
        var pngTimes: [Double] = []
        for index in 0..<max(1, renders) {
            var start = ContinuousClock.now
            try strip.writePDF(to: "\(directory)/strip-\(index).pdf")
            pdfTimes.append(Self.seconds(ContinuousClock.now - start) * 1000)
            start = ContinuousClock.now
            try strip.writePNG(to: "\(directory)/strip-\(index).png")
            pngTimes.append(Self.seconds(ContinuousClock.now - start) * 1000)
        }
        let pdfSize =
            (try? FileManager.default.attributesOfItem(atPath: "\(directory)/strip-0.pdf")[.size] as? Int) ?? 0
        let pngSize =
            (try? FileManager.default.attributesOfItem(atPath: "\(directory)/strip-0.png")[.size] as? Int) ?? 0
        let figures = Figures(
            heartRateDecodesPerSecond: hrRate,
            pmdFramesPerSecond: pmdRate,
            pmdSamplesPerSecond: pmdRate * 73,
            assembledSamplesPerSecond: Double(frames * 73) / assembleSeconds,
            stripSeconds: seconds,
            stripPDFMillisecondsMedian: Self.median(pdfTimes),
            stripPNGMillisecondsMedian: Self.median(pngTimes),
            stripPDFBytes: pdfSize,
            stripPNGBytes: pngSize
        )
        if json {
            try printJSON(figures)
        } else {
            print("0x2A37 decode:        \(Int(figures.heartRateDecodesPerSecond)) values/s")
            print(
                "PMD ECG frame decode: \(Int(figures.pmdFramesPerSecond)) frames/s (\(Int(figures.pmdSamplesPerSecond)) samples/s)"
            )
            print("decode + gap assembly: \(Int(figures.assembledSamplesPerSecond)) samples/s")
            print(
                "strip \(Int(seconds)) s: PDF \(String(format: "%.1f", figures.stripPDFMillisecondsMedian)) ms "
                    + "(\(pdfSize) B), PNG 8 px/mm \(String(format: "%.1f", figures.stripPNGMillisecondsMedian)) ms "
                    + "(\(pngSize) B), median of \(max(1, renders))"
            )
        }
    }

    struct Figures: Encodable {
        var heartRateDecodesPerSecond: Double
        var pmdFramesPerSecond: Double
        var pmdSamplesPerSecond: Double
        var assembledSamplesPerSecond: Double
        var stripSeconds: Double
        var stripPDFMillisecondsMedian: Double
        var stripPNGMillisecondsMedian: Double
        var stripPDFBytes: Int
        var stripPNGBytes: Int
    }

    static func rate(iterations: Int, _ body: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        for _ in 0..<iterations { try body() }
        return Double(iterations) / seconds(ContinuousClock.now - start)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }
}
