import ArgumentParser
import BoothCore
import BoothMedia
import Foundation

struct StethoscopeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stethoscope",
        abstract: "List ALSA capture devices, record auscultation audio, watch the level meter.",
        subcommands: [StethoscopeList.self, StethoscopeListen.self, StethoscopeLevel.self, StethoscopeBench.self]
    )
}

/// Options shared by the commands that open a device.
struct StethoscopeSourceOptions: ParsableArguments {
    @Option(help: "ALSA capture device (e.g. hw:CARD=Device,DEV=0); default: the first capture device.")
    var device: String?
    @Option(help: "Use GStreamer's test tone at this frequency (Hz) instead of a device.")
    var testTone: Double?
    @Option(help: "Sample rate to ask the device for (default: the device's own).") var rate: Int?
    @Option(help: "Channel count to ask the device for (default: the device's own).") var channels: Int?
    @Option(help: "Filter mode: bell (20–200 Hz), diaphragm (100–1000 Hz), wide (20–2000 Hz).")
    var mode: String = "bell"

    func configuration() throws -> StethoscopeConfiguration {
        guard let mode = StethoscopeMode(rawValue: mode) else {
            throw ValidationError("unknown mode '\(mode)' (bell, diaphragm, wide)")
        }
        let source: StethoscopeConfiguration.Source
        if let testTone {
            source = .testTone(frequency: testTone, volume: 0.5, live: true, seconds: nil)
        } else if let device {
            source = .alsa(device: device)
        } else if let first = AlsaDevices.captureDevices().first {
            source = .alsa(device: first.alsaName)
        } else {
            throw ValidationError("no ALSA capture device found (/proc/asound); pass --device or --test-tone")
        }
        return StethoscopeConfiguration(source: source, sampleRate: rate, channels: channels, mode: mode)
    }
}

struct StethoscopeList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List ALSA capture devices (stethoscopes appear as USB Audio Class or line-in devices)."
    )

    @Flag(help: "Machine-readable output.") var json = false

    func run() throws {
        let devices = AlsaDevices.captureDevices()
        if json {
            try printJSON(devices)
            return
        }
        if devices.isEmpty { print("no ALSA capture devices") }
        for device in devices {
            let usb = device.usbID.map { " usb \($0)" } ?? ""
            print("\(device.alsaName)  \(device.cardName) / \(device.pcmName)\(usb)")
        }
    }
}

struct StethoscopeListen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listen",
        abstract: "Record N seconds to FLAC (device rate, filtered by the mode) and report level and heart rate."
    )

    @OptionGroup var source: StethoscopeSourceOptions
    @Option(help: "Seconds to record.") var seconds: Double = 20
    @Option(name: .shortAndLong, help: "FLAC file to write.") var output: String
    @Option(help: "Also draw the phonocardiogram to this PNG file.") var picture: String?
    @Flag(help: "Machine-readable output.") var json = false

    struct Report: Encodable {
        var flac: String
        var picture: String?
        var mode: String
        var sampleRate: Int
        var channels: Int
        var seconds: Double
        var truncated: Bool
        var peakDB: Double
        var rmsDB: Double
        var heartRate: Double?
        var heartRateConfidence: Double?
    }

    func run() async throws {
        let pipeline = StethoscopePipeline(configuration: try source.configuration())
        do {
            try await pipeline.start()
            let recording = try await pipeline.record(seconds: seconds, flacPath: output, picturePath: picture)
            await pipeline.stop()
            let report = Report(
                flac: recording.flacPath,
                picture: recording.picturePath,
                mode: recording.mode.rawValue,
                sampleRate: recording.sampleRate,
                channels: recording.channels,
                seconds: recording.duration,
                truncated: recording.truncated,
                peakDB: (recording.peakDB * 10).rounded() / 10,
                rmsDB: (recording.rmsDB * 10).rounded() / 10,
                heartRate: recording.heartRate.map { ($0.beatsPerMinute * 10).rounded() / 10 },
                heartRateConfidence: recording.heartRate.map { ($0.confidence * 100).rounded() / 100 }
            )
            if json {
                try printJSON(report)
            } else {
                print("recorded \(report.seconds) s at \(report.sampleRate) Hz, \(report.channels) ch → \(report.flac)")
                print("mode \(report.mode); peak \(report.peakDB) dBFS; RMS \(report.rmsDB) dBFS")
                if let bpm = report.heartRate, let confidence = report.heartRateConfidence {
                    print("heart rate ≈ \(bpm)/min (confidence \(confidence))")
                }
                if let picture = report.picture { print("phonocardiogram → \(picture)") }
            }
        } catch {
            await pipeline.stop()
            throw StethoscopeFailure(error: error)
        }
    }
}

struct StethoscopeLevel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "level",
        abstract: "Print the level meter (input and filtered RMS/peak) and signal warnings."
    )

    @OptionGroup var source: StethoscopeSourceOptions
    @Option(help: "How long to watch, in seconds.") var seconds: Double = 5
    @Flag(help: "One JSON object per line.") var json = false

    func run() async throws {
        let pipeline = StethoscopePipeline(configuration: try source.configuration())
        do {
            let info = try await pipeline.start()
            if !json { print("capturing at \(info.sampleRate) Hz, \(info.channels) ch") }
            let started = ContinuousClock.now
            let limit = Duration.milliseconds(Int(seconds * 1000))
            for await event in pipeline.events {
                switch event {
                case .level(let level):
                    if json {
                        try printJSONLine(level)
                    } else {
                        let rms = String(format: "%6.1f", level.maxRMSDB)
                        let peak = String(format: "%6.1f", level.maxPeakDB)
                        let stage = level.stage.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
                        print(String(format: "%6.2f s ", level.time) + "\(stage) RMS \(rms) dBFS  peak \(peak) dBFS")
                    }
                case .signal(let condition):
                    if json { try printJSONLine(["signal": condition.rawValue]) } else { print("signal: \(condition)") }
                case .warning(let text):
                    FileHandle.standardError.write(Data("warning: \(text)\n".utf8))
                case .failed(let error):
                    throw error
                case .ended:
                    break
                }
                if ContinuousClock.now - started > limit { break }
            }
            await pipeline.stop()
        } catch {
            await pipeline.stop()
            throw StethoscopeFailure(error: error)
        }
    }
}

/// Prints the pipeline's one-line error and exits 1.
struct StethoscopeFailure: Error, CustomStringConvertible {
    let error: any Error
    var description: String { "stethoscope: \(error)" }
}

func printJSONLine(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
