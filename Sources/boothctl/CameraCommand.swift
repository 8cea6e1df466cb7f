import ArgumentParser
import BoothCore
import BoothMedia
import BoothV4L2
import Foundation

struct CameraCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "camera",
        abstract: "List V4L2 cameras, their formats and controls; take a snapshot; measure a live stream.",
        subcommands: [
            CameraList.self, CameraFormats.self, CameraControls.self, CameraSnapshot.self, CameraStreamTest.self,
            CameraUSBReset.self,
        ]
    )
}

/// Which camera a command opens.
struct CameraDeviceOption: ParsableArguments {
    @Option(help: "V4L2 capture node, e.g. /dev/video0 (default: the first capture device).")
    var device: String?

    func path() throws -> String {
        if let device { return device }
        guard let first = V4L2Discovery.captureDevices().first else {
            throw ValidationError("no V4L2 capture device found in /dev; pass --device")
        }
        return first.info.path
    }

    func open() throws -> V4L2Device {
        let path = try path()
        do {
            return try V4L2Device(path: path)
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

/// Where a pipeline command's frames come from: a camera, or the simulator's test pattern.
struct CameraSourceOptions: ParsableArguments {
    @OptionGroup var camera: CameraDeviceOption
    @Flag(help: "Use the simulator's videotestsrc instead of a device.") var testPattern = false
    @Option(help: "Capture size and rate, WIDTHxHEIGHT@FPS (default: the camera's best up to 1280x720@30).")
    var mode: String?

    func configuration() throws -> CameraConfiguration {
        var requested: VideoMode?
        if let mode {
            let parts = mode.split(whereSeparator: { $0 == "x" || $0 == "@" }).compactMap { Int($0) }
            guard parts.count == 3, parts.allSatisfy({ $0 > 0 }) else {
                throw ValidationError("--mode \(mode): expected WIDTHxHEIGHT@FPS, e.g. 640x480@30")
            }
            requested = VideoMode(width: parts[0], height: parts[1], framesPerSecond: parts[2])
        }
        if testPattern {
            return SimulatedCamera.configuration(mode: requested ?? SimulatedCamera.defaultMode)
        }
        let device = try camera.open()
        defer { device.close() }
        let formats: [V4L2PixelFormat]
        do {
            formats = try device.formats()
        } catch {
            throw ValidationError("\(error)")
        }
        let hasMJPEG = formats.contains { $0.fourcc == "MJPG" }
        let chosen = CameraModes.best(formats)
        guard let mode = requested ?? chosen?.mode else {
            throw ValidationError("\(device.path) offers no discrete capture size; pass --mode")
        }
        let format: CaptureFormat = requested != nil ? (hasMJPEG ? .mjpeg : .raw) : (chosen?.format ?? .raw)
        return CameraConfiguration(source: .v4l2(device: device.path, format: format, mode: mode))
    }
}

/// The mode boothctl asks of a camera (the same rule as boothd's discovery): MJPEG up to 1280x720, else raw up
/// to 640x480, the largest size with a whole frame rate up to 30 fps.
enum CameraModes {
    static func best(_ formats: [V4L2PixelFormat]) -> (format: CaptureFormat, mode: VideoMode)? {
        let mjpeg = formats.first { $0.fourcc == "MJPG" }
        let raw = formats.first { $0.fourcc == "YUYV" } ?? formats.first { !$0.isCompressed }
        for (format, kind) in [(mjpeg, CaptureFormat.mjpeg), (raw, CaptureFormat.raw)] {
            guard let format else { continue }
            let largest: (UInt32, UInt32) = kind == .mjpeg ? (1280, 720) : (640, 480)
            var best: (size: V4L2FrameSize, fps: Int)?
            for size in format.sizes where size.width <= largest.0 && size.height <= largest.1 {
                let rates = size.intervals.filter {
                    $0.numerator > 0 && $0.denominator % $0.numerator == 0 && $0.denominator / $0.numerator <= 30
                }
                guard let fps = rates.map({ Int($0.denominator / $0.numerator) }).max() else { continue }
                if best.map({ $0.size.width * $0.size.height < size.width * size.height }) ?? true {
                    best = (size, fps)
                }
            }
            if let best {
                return (
                    kind,
                    VideoMode(width: Int(best.size.width), height: Int(best.size.height), framesPerSecond: best.fps)
                )
            }
        }
        return nil
    }
}

struct CameraList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List V4L2 capture devices.")
    @Flag(help: "Machine-readable output.") var json = false

    struct Entry: Encodable {
        var path: String
        var card: String
        var driver: String
        var bus: String
        var formats: [String]
    }

    func run() throws {
        let entries = V4L2Discovery.captureDevices().map {
            Entry(
                path: $0.info.path,
                card: $0.info.card,
                driver: $0.info.driver,
                bus: $0.info.busInfo,
                formats: $0.formats.map(\.fourcc)
            )
        }
        if json { return try printJSON(entries) }
        if entries.isEmpty { print("no V4L2 capture devices") }
        for entry in entries {
            print(
                "\(entry.path)  \(entry.card)  driver \(entry.driver)  \(entry.bus)  [\(entry.formats.joined(separator: " "))]"
            )
        }
    }
}

struct CameraFormats: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "formats",
        abstract: "Formats, frame sizes and frame rates a camera offers."
    )
    @OptionGroup var camera: CameraDeviceOption
    @Flag(help: "Machine-readable output.") var json = false

    struct Format: Encodable {
        struct Size: Encodable {
            var width: UInt32
            var height: UInt32
            var framesPerSecond: [Double]
        }
        var fourcc: String
        var description: String
        var compressed: Bool
        var sizes: [Size]
        var range: String?
    }

    func run() throws {
        let device = try camera.open()
        defer { device.close() }
        let formats: [Format]
        do {
            formats = try device.formats().map { format in
                Format(
                    fourcc: format.fourcc,
                    description: format.description,
                    compressed: format.isCompressed,
                    sizes: format.sizes.map {
                        .init(width: $0.width, height: $0.height, framesPerSecond: $0.intervals.map(\.framesPerSecond))
                    },
                    range: format.sizeRange.map {
                        "\($0.minWidth)x\($0.minHeight)–\($0.maxWidth)x\($0.maxHeight) step \($0.stepWidth)x\($0.stepHeight)"
                    }
                )
            }
        } catch {
            throw ValidationError("\(error)")
        }
        if json { return try printJSON(formats) }
        for format in formats {
            print("\(format.fourcc)  \(format.description)\(format.compressed ? " (compressed)" : "")")
            for size in format.sizes {
                let rates = size.framesPerSecond.map { String(format: "%g", $0) }.joined(separator: " ")
                print("  \(size.width)x\(size.height)  fps \(rates)")
            }
            if let range = format.range { print("  \(range)") }
        }
    }
}

struct CameraControls: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controls",
        abstract: "Controls with their real ranges (the ones a doctor may drive are marked with their role)."
    )
    @OptionGroup var camera: CameraDeviceOption
    @Option(help: "Firmware profile file whose quirks.extension_controls (UVC extension units) are listed too.")
    var profile: String?
    @Option(name: .customLong("set"), help: "NAME=VALUE: set an extension control first (repeatable; needs --profile).")
    var assignments: [String] = []
    @Flag(help: "Machine-readable output.") var json = false

    struct Control: Encodable {
        var key: String
        var role: String?
        var type: String
        var minimum: Int64
        var maximum: Int64
        var step: Int64
        var defaultValue: Int64
        var value: Int64?
        var readOnly: Bool
        var menu: [String: String]?
        /// `unit 4 selector 1` for a profile's UVC extension-unit control.
        var extensionUnit: String?
        /// Why an extension control could not be read (e.g. not a UVC device).
        var error: String?
    }

    func run() throws {
        let device = try camera.open()
        defer { device.close() }
        var controls: [Control]
        do {
            controls = try device.controls().map { control in
                Control(
                    key: control.key,
                    role: control.role?.rawValue,
                    type: control.type.description,
                    minimum: control.minimum,
                    maximum: control.maximum,
                    step: control.step,
                    defaultValue: control.defaultValue,
                    value: try? device.value(of: control),
                    readOnly: control.isReadOnly,
                    menu: control.menuItems.isEmpty
                        ? nil : Dictionary(uniqueKeysWithValues: control.menuItems.map { ("\($0.key)", $0.value) })
                )
            }
        } catch {
            throw ValidationError("\(error)")
        }
        if profile == nil, !assignments.isEmpty { throw ValidationError("--set needs --profile (extension controls)") }
        if let profile {
            controls += try ExtensionControlsReport.rows(device: device, profile: profile, assignments: assignments)
        }
        if json { return try printJSON(controls) }
        for control in controls {
            let role = control.role.map { " [\($0)]" } ?? ""
            let value = control.value.map { " = \($0)" } ?? ""
            let unit = control.extensionUnit.map { " (XU \($0))" } ?? ""
            let error = control.error.map { " — \($0)" } ?? ""
            print(
                "\(control.key)\(role)  \(control.type) \(control.minimum)…\(control.maximum) step \(control.step) "
                    + "default \(control.defaultValue)\(value)\(control.readOnly ? " (read-only)" : "")\(unit)\(error)"
            )
        }
    }
}

struct CameraSnapshot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Take a full-resolution JPEG through boothd's camera pipeline."
    )
    @OptionGroup var source: CameraSourceOptions
    @Option(name: .shortAndLong, help: "JPEG file to write.") var output: String
    @Flag(help: "Machine-readable output.") var json = false

    struct Report: Encodable {
        var file: String
        var width: Int
        var height: Int
        var bytes: Int
        var device: String
        var startMilliseconds: Double
        var snapshotMilliseconds: Double
    }

    func run() async throws {
        let pipeline = CameraPipeline(configuration: try source.configuration())
        let started = ContinuousClock.now
        do {
            try await pipeline.start()
            let startup = ContinuousClock.now - started
            let still = try await pipeline.snapshot()
            await pipeline.close()
            try Data(still.jpeg).write(to: URL(fileURLWithPath: output))
            let report = Report(
                file: output,
                width: still.width,
                height: still.height,
                bytes: still.jpeg.count,
                device: still.device,
                startMilliseconds: startup.milliseconds,
                snapshotMilliseconds: still.latency.milliseconds
            )
            if json { return try printJSON(report) }
            print(
                "\(output): \(report.width)x\(report.height) JPEG, \(report.bytes) bytes from \(report.device); "
                    + String(
                        format: "snapshot latency %.1f ms (pipeline start %.0f ms)",
                        report.snapshotMilliseconds,
                        report.startMilliseconds
                    )
            )
        } catch let error as CameraError {
            await pipeline.close()
            throw ValidationError("\(error)")
        }
    }
}

struct CameraStreamTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream-test",
        abstract: "Run the live H.264 branch for N seconds: frame rate, bit rate vs the budget, latencies."
    )
    @OptionGroup var source: CameraSourceOptions
    @Option(help: "Seconds to measure.") var seconds: Double = 5
    @Option(help: "Bit-rate budget, kbit/s.") var budget: Int = 1000
    @Option(help: "H.264 encoder: auto, x264, v4l2, vaapi or nvenc (as media.encoder).")
    var encoder: String = "auto"
    @Option(
        name: .customLong("output"),
        help: "Also send the stream to rtp://HOST:PORT or srt://HOST:PORT?mode=listener|caller (repeatable)."
    )
    var outputs: [String] = []
    @Flag(help: "Machine-readable output.") var json = false

    struct Report: Encodable {
        var source: String
        var seconds: Double
        var frames: Int
        var framesPerSecond: Double
        var bitrateKbps: Double
        var budgetKbps: Int
        /// The H.264 encoder element the live branch ran (`x264enc`, `v4l2h264enc`, ...).
        var encoder: String
        var hardwareEncoder: Bool
        var encodedSize: String
        var firstFrameMilliseconds: Double
        var snapshotMilliseconds: Double
        var maxFrameGapMilliseconds: Double
        /// Access units each `--output` sent.
        var outputs: [String: Int]?
    }

    func run() async throws {
        guard seconds > 0, seconds <= 600 else { throw ValidationError("--seconds must be in 0–600") }
        var targets: [StreamOutputTarget] = []
        for text in outputs {
            do {
                targets.append(try StreamOutputTarget.parse(text))
            } catch {
                throw ValidationError("--output: \(error)")
            }
        }
        let relay = StreamOutputRelay(targets: targets)
        var configuration = try source.configuration()
        configuration.maximumBitrateKbps = budget
        guard let preference = H264EncoderPreference(rawValue: encoder) else {
            let choices = H264EncoderPreference.allCases.map(\.rawValue).joined(separator: ", ")
            throw ValidationError("--encoder: expected one of \(choices), got \"\(encoder)\"")
        }
        configuration.encoder = preference
        let pipeline = CameraPipeline(configuration: configuration)
        let encoderSpec: H264EncoderSpec
        do {
            encoderSpec = try pipeline.liveEncoder()
        } catch {
            await pipeline.close()
            throw ValidationError("\(error)")
        }
        let chunks = pipeline.encodedVideo()
        let started = ContinuousClock.now
        do {
            try await pipeline.start()
        } catch {
            await pipeline.close()
            throw ValidationError("\(error)")
        }
        if !targets.isEmpty {
            do {
                try await relay.start(camera: pipeline)
            } catch {
                await pipeline.close()
                throw ValidationError("--output: \(error)")
            }
        }
        let measure = Task {
            var frames = 0
            var bytes = 0
            var first: Duration?
            var last: ContinuousClock.Instant?
            var maxGap = Duration.zero
            var size = ""
            var window: ContinuousClock.Instant?
            for await chunk in chunks {
                let now = ContinuousClock.now
                if first == nil {
                    first = now - started
                    window = now
                }
                if let last { maxGap = max(maxGap, now - last) }
                last = now
                frames += 1
                bytes += chunk.data.count
                size = "\(chunk.width)x\(chunk.height)"
                if let window, now - window >= .seconds(seconds) { break }
            }
            return (frames, bytes, first ?? .zero, maxGap, size)
        }
        try? await Task.sleep(for: .seconds(min(1, seconds / 2)))
        let still = try? await pipeline.snapshot()
        let deadline = Task {
            try? await Task.sleep(for: .seconds(seconds + 15))
            await pipeline.close()
        }
        let (frames, bytes, first, maxGap, size) = await measure.value
        deadline.cancel()
        let sent = await relay.sent
        await relay.stop()
        await pipeline.close()
        let report = Report(
            source: configuration.source.description,
            seconds: seconds,
            frames: frames,
            framesPerSecond: Double(frames) / seconds,
            bitrateKbps: Double(bytes) * 8 / seconds / 1000,
            budgetKbps: budget,
            encoder: encoderSpec.element,
            hardwareEncoder: encoderSpec.isHardware,
            encodedSize: size,
            firstFrameMilliseconds: first.milliseconds,
            snapshotMilliseconds: still?.latency.milliseconds ?? -1,
            maxFrameGapMilliseconds: maxGap.milliseconds,
            outputs: sent.isEmpty
                ? nil : Dictionary(sent.map { ("\($0.target)", $0.chunks) }, uniquingKeysWith: { $0 + $1 })
        )
        if json { return try printJSON(report) }
        print("source      \(report.source)")
        print(
            "encoder     \(encoderSpec.element) (\(encoderSpec.isHardware ? "hardware" : "software"), --encoder \(encoder))"
        )
        print(
            String(
                format: "frames      %d in %.1f s = %.1f fps (encoded %@)",
                frames,
                seconds,
                report.framesPerSecond,
                size
            )
        )
        print(String(format: "bitrate     %.0f kbit/s (budget %d kbit/s)", report.bitrateKbps, budget))
        print(
            String(
                format:
                    "latency     first frame %.0f ms after start, snapshot %.1f ms, longest gap between frames %.0f ms",
                report.firstFrameMilliseconds,
                report.snapshotMilliseconds,
                report.maxFrameGapMilliseconds
            )
        )
        for (target, chunks, bytes) in sent {
            print("output      \(target): \(chunks) access units, \(bytes / 1024) KiB")
        }
        guard frames > 0 else { throw ExitCode(1) }
    }
}

extension Duration {
    fileprivate var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}
