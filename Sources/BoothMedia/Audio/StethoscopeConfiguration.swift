import BoothCore

/// How to build a stethoscope pipeline.
public struct StethoscopeConfiguration: Sendable {
    public enum Source: Sendable, Equatable {
        /// An ALSA capture device, e.g. `hw:CARD=Device,DEV=0` or `hw:Loopback,1,0`.
        case alsa(device: String)
        /// GStreamer's `audiotestsrc` sine (simulator, tests). `live` paces it in real time; `seconds` ends the
        /// stream (EOS) after that much audio, nil = endless.
        case testTone(frequency: Double, volume: Double, live: Bool, seconds: Double?)
        /// Samples pushed by the caller with `StethoscopePipeline.push(_:)` (synthetic recordings, simulator).
        case pushed
    }

    public var source: Source
    /// The device's rate as given by its profile; nil lets the device choose. Tests use 48000.
    public var sampleRate: Int?
    /// Channel count as given by the profile; nil lets the device choose.
    public var channels: Int?
    public var mode: StethoscopeMode
    /// Live Opus bitrate (bit/s). 64 kbit/s leaves ~936 kbit/s of the site's 1 Mbit/s budget to video.
    public var opusBitrate: Int
    /// Opus frame duration in ms (2.5, 5, 10, 20, 40, 60 are valid; 10 keeps latency low).
    public var opusFrameMilliseconds: Int
    /// Level-meter period (5 readings per second by default).
    public var levelIntervalMilliseconds: Int
    public var thresholds: SignalMonitor.Thresholds
    /// Rates a test-tone source offers, emulating a device that supports only these (tests of the rate fallback);
    /// nil: any rate. Ignored for other sources.
    public var emulatedDeviceRates: [Int]?

    public init(
        source: Source,
        sampleRate: Int? = nil,
        channels: Int? = nil,
        mode: StethoscopeMode = .bell,
        opusBitrate: Int = 64_000,
        opusFrameMilliseconds: Int = 10,
        levelIntervalMilliseconds: Int = 200,
        thresholds: SignalMonitor.Thresholds = .init()
    ) {
        self.source = source
        self.sampleRate = sampleRate
        self.channels = channels
        self.mode = mode
        self.opusBitrate = opusBitrate
        self.opusFrameMilliseconds = opusFrameMilliseconds
        self.levelIntervalMilliseconds = levelIntervalMilliseconds
        self.thresholds = thresholds
    }

    /// The first out-of-range value, as an error.
    public func validate() throws(StethoscopeError) {
        if let sampleRate, !(8000...192_000).contains(sampleRate) {
            throw .invalidArgument(name: "sample rate", reason: "\(sampleRate) Hz is outside 8000–192000")
        }
        if let channels, !(1...8).contains(channels) {
            throw .invalidArgument(name: "channels", reason: "\(channels) is outside 1–8")
        }
        try Self.validateBitrate(opusBitrate)
        if ![2, 5, 10, 20, 40, 60].contains(opusFrameMilliseconds) {
            throw .invalidArgument(
                name: "Opus frame size",
                reason: "\(opusFrameMilliseconds) ms is not one of 2 (2.5), 5, 10, 20, 40, 60"
            )
        }
        if !(20...5000).contains(levelIntervalMilliseconds) {
            throw .invalidArgument(name: "level interval", reason: "\(levelIntervalMilliseconds) ms is outside 20–5000")
        }
        if case .testTone(let frequency, let volume, _, let seconds) = source {
            if !(1...20_000).contains(frequency) {
                throw .invalidArgument(name: "test tone frequency", reason: "\(frequency) Hz is outside 1–20000")
            }
            if !(0...1).contains(volume) {
                throw .invalidArgument(name: "test tone volume", reason: "\(volume) is outside 0–1")
            }
            if let seconds, !(seconds > 0) {
                throw .invalidArgument(name: "test tone duration", reason: "\(seconds) s is not positive")
            }
        }
    }

    /// The rates asked of a device, in order of preference: the profile's rate, then the standard rates nearest
    /// to it (higher first on a tie). A device that does not support the profile's rate captures at the nearest
    /// one it does (negotiated fallback) instead of failing; the recording and the filters follow the actual rate.
    public static func preferredRates(for rate: Int) -> [Int] {
        let standard = [8000, 11025, 16000, 22050, 32000, 44100, 48000, 88200, 96000, 176_400, 192_000]
        let others = standard.filter { $0 != rate }.sorted {
            let (a, b) = (abs($0 - rate), abs($1 - rate))
            return a != b ? a < b : $0 > $1
        }
        return [rate] + others
    }

    static func validateBitrate(_ bitrate: Int) throws(StethoscopeError) {
        if !(6000...510_000).contains(bitrate) {
            throw .invalidArgument(name: "Opus bitrate", reason: "\(bitrate) bit/s is outside 6000–510000")
        }
    }
}

/// What the capture actually negotiated.
public struct AudioStreamInfo: Sendable, Codable, Equatable {
    public var sampleRate: Int
    public var channels: Int

    public init(sampleRate: Int, channels: Int) {
        self.sampleRate = sampleRate
        self.channels = channels
    }
}
