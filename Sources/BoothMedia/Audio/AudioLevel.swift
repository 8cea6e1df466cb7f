/// One reading of GStreamer's `level` element: RMS and peak per channel over the last interval, in dBFS.
public struct AudioLevel: Sendable, Codable, Equatable {
    /// Where in the pipeline the level was measured.
    public enum Stage: String, Sendable, Codable {
        /// As the device delivers it, before the mode filter (clipping and no-signal are judged here).
        case input
        /// After the mode filter (what the doctor hears).
        case filtered
    }

    public var stage: Stage
    /// Stream time at the end of the interval, seconds.
    public var time: Double
    public var rmsDB: [Double]
    public var peakDB: [Double]

    public init(stage: Stage, time: Double, rmsDB: [Double], peakDB: [Double]) {
        self.stage = stage
        self.time = time
        self.rmsDB = rmsDB
        self.peakDB = peakDB
    }

    /// Digital silence reads -200 dBFS (not -infinity or NaN) so every reading encodes as JSON.
    public static let floorDB = -200.0

    static func floored(_ value: Double) -> Double { value >= floorDB ? value : floorDB }

    /// The loudest channel's RMS (dBFS).
    public var maxRMSDB: Double { rmsDB.max() ?? -.infinity }
    /// The loudest channel's peak (dBFS).
    public var maxPeakDB: Double { peakDB.max() ?? -.infinity }
}

/// What the input level says about the chest piece: fine, clipping (gain too high or knocks) or no signal.
public enum SignalCondition: String, Sendable, Codable {
    case ok
    case clipping
    case noSignal = "no-signal"
}

/// Turns input levels into device-state warnings, reporting only changes. Clipping wins over no-signal and is
/// held for `clipHoldSeconds` after the last clipped interval so a warning does not flicker.
public struct SignalMonitor: Sendable {
    public struct Thresholds: Sendable {
        /// A peak at or above this is clipping (dBFS).
        public var clippingPeakDB: Double = -0.1
        /// RMS below this is silence (dBFS). A USB sound card's idle noise floor is around -85 to -95 dBFS;
        /// heart sounds through a chest piece are typically -50 to -20 dBFS.
        public var noSignalRMSDB: Double = -70
        /// Silence must last this long before "no signal" is reported.
        public var noSignalSeconds: Double = 2
        public var clipHoldSeconds: Double = 1
        public init() {}
    }

    public var thresholds: Thresholds
    public private(set) var condition: SignalCondition = .ok
    private var silentSince: Double?
    private var lastClip: Double?

    public init(thresholds: Thresholds = Thresholds()) {
        self.thresholds = thresholds
    }

    /// Feeds one input-stage level; returns the new condition when it changed.
    public mutating func update(_ level: AudioLevel) -> SignalCondition? {
        if level.maxPeakDB >= thresholds.clippingPeakDB { lastClip = level.time }
        // NaN (an empty interval) counts as silence.
        let rms = level.maxRMSDB
        if !(rms >= thresholds.noSignalRMSDB) {
            silentSince = silentSince ?? level.time
        } else {
            silentSince = nil
        }
        let next: SignalCondition
        if let lastClip, level.time - lastClip < thresholds.clipHoldSeconds || lastClip == level.time {
            next = .clipping
        } else if let silentSince, level.time - silentSince >= thresholds.noSignalSeconds {
            next = .noSignal
        } else {
            next = .ok
        }
        guard next != condition else { return nil }
        condition = next
        return next
    }
}
