/// One reading of GStreamer's `level` element: RMS and peak per channel over the last interval, in dBFS.
public struct AudioLevel: Sendable, Codable, Equatable {
    /// Where in the pipeline the level was measured.
    public enum Stage: String, Sendable, Codable {
        /// As the device delivers it, before the mode filter (clipping and no-signal are judged here).
        case input
        /// After the mode filter (what the doctor hears).
        case filtered
    }

    /// Where this reading was measured.
    public var stage: Stage
    /// Stream time at the end of the interval, seconds.
    public var time: Double
    /// RMS per channel (dBFS, at least `floorDB`).
    public var rmsDB: [Double]
    /// Peak per channel (dBFS, at least `floorDB`).
    public var peakDB: [Double]

    /// A reading as measured.
    public init(stage: Stage, time: Double, rmsDB: [Double], peakDB: [Double]) {
        self.stage = stage
        self.time = time
        self.rmsDB = rmsDB
        self.peakDB = peakDB
    }

    /// Digital silence reads -200 dBFS (not -infinity or NaN) so every reading encodes as JSON.
    public static let floorDB = -200.0

    /// The loudest channel's RMS (dBFS).
    public var maxRMSDB: Double { rmsDB.max() ?? -.infinity }
    /// The loudest channel's peak (dBFS).
    public var maxPeakDB: Double { peakDB.max() ?? -.infinity }
}

/// What the input level says about the chest piece: fine, clipping (gain too high or knocks) or no signal.
public enum SignalCondition: String, Sendable, Codable {
    /// A usable signal.
    case ok
    /// Peaks reach full scale: gain too high, or the chest piece was knocked.
    case clipping
    /// Silence for a while: no chest piece on the body, or the device is muted.
    case noSignal = "no-signal"
}
