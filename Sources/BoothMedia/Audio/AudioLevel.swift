import BoothCore

extension AudioLevel {
    /// `floorDB` for digital silence (GStreamer reports -infinity or NaN), so every reading encodes as JSON.
    static func floored(_ value: Double) -> Double { value >= floorDB ? value : floorDB }
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
