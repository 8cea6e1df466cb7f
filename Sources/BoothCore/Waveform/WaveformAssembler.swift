/// Builds a `Waveform` from timestamped chunks (one BLE notification each) and detects dropped chunks from the
/// device timestamps: lost time becomes a `WaveformGap`, so time is never stretched to close it.
///
/// Each chunk carries the device time of its LAST sample (Polar PMD convention). The first sample of a chunk is
/// then at `last − (n − 1) × period`; if it lies ≥ half a period after the sample the previous chunk predicts,
/// the rounded number of missing periods is recorded as a gap.
public struct WaveformAssembler: Sendable {
    /// What happened to one chunk.
    public enum Outcome: Sendable, Hashable {
        /// Appended directly after the previous chunk.
        case contiguous
        /// Appended after a gap of `missing` sample periods.
        case gap(missing: Int)
        /// Dropped: its last sample is not later than what is already stored (a repeat).
        case duplicate
        /// Appended, but it starts `overlap` periods before the previous chunk's end (device clock stepped back):
        /// kept so nothing measured is lost, and counted in `clockAnomalies`.
        case overlap(periods: Int)
    }

    public private(set) var waveform: Waveform
    /// Number of chunks whose timestamps went backwards.
    public private(set) var clockAnomalies = 0
    private var lastSampleNanos: Int64?
    private let periodNanos: Double
    private let epochOffsetNanos: Int64

    /// - Parameters:
    ///   - waveform: the channel description (code, rate, unit, scale); its samples are replaced as chunks arrive.
    ///   - epochOffsetNanos: added to chunk timestamps to get Unix nanoseconds (Polar: 2000-01-01 → 946 684 800 s).
    public init(waveform: Waveform, epochOffsetNanos: Int64 = 0) {
        var empty = waveform
        empty.samples = []
        empty.gaps = []
        self.waveform = empty
        self.periodNanos = 1e9 / waveform.sampleRateHz
        self.epochOffsetNanos = epochOffsetNanos
    }

    /// Appends one chunk whose last sample was taken at `lastSampleNanos` (device clock).
    @discardableResult
    public mutating func append(_ samples: [Int32], lastSampleNanos: Int64) -> Outcome {
        guard !samples.isEmpty else { return .contiguous }
        let firstNanos = Double(lastSampleNanos) - Double(samples.count - 1) * periodNanos
        guard let previous = self.lastSampleNanos else {
            waveform.startMicros = (Int64(firstNanos.rounded()) + epochOffsetNanos) / 1000
            waveform.append(samples)
            self.lastSampleNanos = lastSampleNanos
            return .contiguous
        }
        guard lastSampleNanos > previous else { return .duplicate }
        let expectedFirst = Double(previous) + periodNanos
        let offsetPeriods = Int(((firstNanos - expectedFirst) / periodNanos).rounded())
        self.lastSampleNanos = lastSampleNanos
        if offsetPeriods >= 1 {
            waveform.append(samples, missingBefore: offsetPeriods)
            return .gap(missing: offsetPeriods)
        }
        waveform.append(samples)
        if offsetPeriods <= -1 {
            clockAnomalies += 1
            return .overlap(periods: -offsetPeriods)
        }
        return .contiguous
    }

    /// Hands over what was assembled since the last drain and starts an empty waveform at the next expected sample
    /// time, keeping the timestamp continuity: a live stream is cut into chunks without growing memory, and a gap
    /// straddling two chunks is still detected (it becomes a gap before the next chunk's first sample).
    public mutating func drain() -> Waveform {
        let drained = waveform
        waveform.samples = []
        waveform.gaps = []
        waveform.incomplete = false
        if let lastSampleNanos {
            waveform.startMicros = (Int64((Double(lastSampleNanos) + periodNanos).rounded()) + epochOffsetNanos) / 1000
        }
        return drained
    }

    /// Marks the recording as stopped early (link dropped mid-strip); the samples received are kept.
    public mutating func markIncomplete() {
        waveform.incomplete = true
    }
}
