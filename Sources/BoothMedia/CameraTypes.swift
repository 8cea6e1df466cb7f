import BoothCore

/// Width, height and frame rate of a video stream.
public struct VideoMode: Sendable, Hashable, CustomStringConvertible {
    public var width: Int
    public var height: Int
    public var framesPerSecond: Int

    public init(width: Int, height: Int, framesPerSecond: Int) {
        self.width = width
        self.height = height
        self.framesPerSecond = framesPerSecond
    }

    public var description: String { "\(width)x\(height)@\(framesPerSecond)" }
}

/// `videotestsrc` patterns the simulated camera can show.
public enum TestPattern: String, Sendable, Hashable, CaseIterable {
    /// SMPTE colour bars (cheap to encode).
    case smpte
    /// A bouncing ball on black (moving content).
    case ball
    /// Random noise: the worst case for the encoder's bitrate budget.
    case snow
}

/// How a V4L2 device delivers frames.
public enum CaptureFormat: String, Sendable, Hashable {
    /// Compressed frames (`image/jpeg`), decoded with `jpegdec`.
    case mjpeg
    /// Uncompressed frames (`video/x-raw`, YUYV/NV12/...), converted with `videoconvert`.
    case raw
}

/// Where a camera pipeline's frames come from.
public enum CameraSource: Sendable, Hashable, CustomStringConvertible {
    /// The simulator's camera: a real GStreamer `videotestsrc` (live, paced at the mode's frame rate).
    case simulated(pattern: TestPattern, mode: VideoMode)
    /// A V4L2 capture device such as `/dev/video0`, read by `v4l2src`.
    case v4l2(device: String, format: CaptureFormat, mode: VideoMode)

    /// The source's full resolution and frame rate (what a snapshot delivers).
    public var mode: VideoMode {
        switch self {
        case .simulated(_, let mode), .v4l2(_, _, let mode): mode
        }
    }

    /// A short name for logs and snapshot metadata (`simulated:smpte`, `/dev/video0`).
    public var deviceName: String {
        switch self {
        case .simulated(let pattern, _): "simulated:\(pattern.rawValue)"
        case .v4l2(let device, _, _): device
        }
    }

    public var description: String {
        switch self {
        case .simulated(let pattern, let mode): "videotestsrc pattern=\(pattern.rawValue) \(mode)"
        case .v4l2(let device, let format, let mode): "v4l2src \(device) \(format.rawValue) \(mode)"
        }
    }
}

/// Everything a camera pipeline needs to know; the defaults are the production defaults.
public struct CameraConfiguration: Sendable, Hashable {
    public var source: CameraSource
    /// Upper bound of the live stream's bit rate (kbit/s). The default budget is 1 Mbit/s.
    public var maximumBitrateKbps: Int
    /// The rungs the live stream adapts over.
    public var ladder: BitrateLadder
    /// x264 `speed-preset` nickname (`ultrafast`, `superfast`, `veryfast`, ...).
    public var encoderPreset: String
    /// Which H.264 encoder the live branch uses (`media.encoder`); `auto` prefers a hardware encoder.
    public var encoder: H264EncoderPreference
    /// Largest preview frame; the preview keeps the source's aspect ratio and never upscales.
    public var previewMaximum: VideoMode
    /// JPEG quality (1-100) of preview frames and of snapshots.
    public var previewQuality: Int
    public var snapshotQuality: Int
    /// No frame for this long while playing is reported as a stall and the pipeline restarts.
    public var stallTimeout: Duration
    /// Waiting for the pipeline to reach PLAYING longer than this fails the start.
    public var startTimeout: Duration
    /// Ends the source after this many frames (benchmarks and tests; the end is reported as `.endOfStream`).
    public var sourceFrameLimit: Int?
    /// On demand: the pipeline runs only while someone holds a lease (a preview or live-stream subscriber, a
    /// snapshot, `acquire`) and stops this long after the last one lets go; nil runs it from `start()` to
    /// `stop()` (boothctl, benchmarks).
    public var idleStopDelay: Duration?
    /// How `start()` checks an on-demand camera: true runs the pipeline once (a V4L2 device must open and
    /// stream); false only checks that every element is installed, without loading a plugin or running anything
    /// (the simulator's videotestsrc cannot fail to stream, and an idle booth then holds no GStreamer pipeline
    /// state: docs/reliability.md, "Memory"). An always-running camera ignores it.
    public var launchesAtStart: Bool

    public init(
        source: CameraSource,
        maximumBitrateKbps: Int = 1000,
        ladder: BitrateLadder = .standard,
        encoderPreset: String = "veryfast",
        previewMaximum: VideoMode = VideoMode(width: 640, height: 360, framesPerSecond: 15),
        previewQuality: Int = 70,
        snapshotQuality: Int = 90,
        stallTimeout: Duration = .seconds(5),
        startTimeout: Duration = .seconds(10)
    ) {
        self.source = source
        self.maximumBitrateKbps = maximumBitrateKbps
        self.ladder = ladder
        self.encoderPreset = encoderPreset
        self.encoder = .auto
        self.previewMaximum = previewMaximum
        self.previewQuality = previewQuality
        self.snapshotQuality = snapshotQuality
        self.stallTimeout = stallTimeout
        self.startTimeout = startTimeout
        self.sourceFrameLimit = nil
        self.idleStopDelay = nil
        self.launchesAtStart = true
    }

    /// The preview's size: the source's aspect ratio, at most `previewMaximum`, never larger than the source.
    public var previewMode: VideoMode {
        let source = source.mode
        let scale = min(
            1.0,
            Double(previewMaximum.width) / Double(source.width),
            Double(previewMaximum.height) / Double(source.height)
        )
        return VideoMode(
            width: max(16, Int((Double(source.width) * scale / 2).rounded()) * 2),
            height: max(16, Int((Double(source.height) * scale / 2).rounded()) * 2),
            framesPerSecond: min(previewMaximum.framesPerSecond, source.framesPerSecond)
        )
    }
}

/// One low-latency preview frame (a complete JPEG), ready to be served as a part of an MJPEG HTTP stream.
public struct JPEGFrame: Sendable {
    public var jpeg: [UInt8]
    public var width: Int
    public var height: Int
    /// Presentation time in the pipeline's running time.
    public var presentationTime: Duration?
    public var sequence: Int
}

/// One H.264 access unit (Annex B byte stream) of the live stream.
public struct EncodedVideoChunk: Sendable {
    public var data: [UInt8]
    /// Encoded picture size (from the stream's caps).
    public var width: Int
    public var height: Int
    public var presentationTime: Duration?
    public var isKeyframe: Bool
    /// The ladder rung the chunk was encoded at.
    public var rung: VideoRung
}

/// A full-resolution still image taken on command.
public struct Snapshot: Sendable {
    public var jpeg: [UInt8]
    public var width: Int
    public var height: Int
    /// `CameraSource.deviceName` of the camera that took it.
    public var device: String
    /// Wall-clock capture time (seconds since 1970), for the outbox record.
    public var capturedAtUnixSeconds: Double
    /// Time from the command to the JPEG being available.
    public var latency: Duration
}

/// What went wrong with a running pipeline (reported as an event, then the pipeline restarts).
public enum CameraFault: Error, Sendable, Hashable, CustomStringConvertible {
    /// The source device is missing or cannot be opened (unplugged, wrong path, busy).
    case sourceUnavailable(element: String, message: String)
    /// A streaming error from an element (e.g. `Internal data stream error` when the source is cut off).
    case streamFailed(element: String, domain: String, code: Int, message: String)
    /// Caps could not be negotiated (the device does not offer the requested format/size).
    case negotiationFailed(element: String, message: String)
    /// The source ended its stream (a live camera never should).
    case endOfStream
    /// No frame arrived for the configured stall timeout.
    case stalled(seconds: Double)

    public var description: String {
        switch self {
        case .sourceUnavailable(let element, let message): "camera source unavailable (\(element)): \(message)"
        case .streamFailed(let element, let domain, let code, let message):
            "stream failed in \(element) (\(domain) \(code)): \(message)"
        case .negotiationFailed(let element, let message): "format negotiation failed in \(element): \(message)"
        case .endOfStream: "camera source ended its stream"
        case .stalled(let seconds): "no frame for \(seconds) s"
        }
    }
}

/// Errors returned by the camera pipeline's API.
public enum CameraError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A GStreamer element is not installed; `package` is the Debian package that provides it.
    case missingElement(String, package: String)
    /// Elements could not be linked (a pipeline construction bug or incompatible plugin versions).
    case linkFailed(String, String)
    /// The pipeline did not start.
    case startFailed(CameraFault)
    case startTimedOut(seconds: Double)
    case notRunning
    case snapshotTimedOut(seconds: Double)
    /// A configuration value is not acceptable (names the field and why).
    case invalidConfiguration(String)
    /// The configured H.264 encoder (`media.encoder`) is not available; names its Debian package.
    case encoderUnavailable(H264EncoderUnavailable)

    public var description: String {
        switch self {
        case .missingElement(let element, let package):
            "GStreamer element '\(element)' is missing: install the Debian package \(package)"
        case .linkFailed(let from, let to): "cannot link GStreamer element \(from) to \(to)"
        case .startFailed(let fault): "camera pipeline failed to start: \(fault)"
        case .startTimedOut(let seconds): "camera pipeline did not reach PLAYING within \(seconds) s"
        case .notRunning: "camera pipeline is not running"
        case .snapshotTimedOut(let seconds): "no snapshot frame within \(seconds) s"
        case .invalidConfiguration(let why): "invalid camera configuration: \(why)"
        case .encoderUnavailable(let error): "\(error)"
        }
    }
}

/// Lifecycle events of a camera pipeline, for logs and for telling session clients.
public enum CameraEvent: Sendable, Hashable {
    case started(generation: Int)
    case fault(CameraFault)
    case restarted(generation: Int, attempt: Int)
    case rungChanged(VideoRung)
    /// An on-demand pipeline stopped because nobody used it; the camera stays available and restarts (`.started`)
    /// with the next lease.
    case idle
    case stopped
}
