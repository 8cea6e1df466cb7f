/// One step of the live stream's adaptation ladder.
public struct VideoRung: Sendable, Hashable, CustomStringConvertible {
    public var mode: VideoMode
    /// Bandwidth (kbit/s) needed to use this rung.
    public var minimumKbps: Int

    public init(mode: VideoMode, minimumKbps: Int) {
        self.mode = mode
        self.minimumKbps = minimumKbps
    }

    public var description: String { "\(mode) (>= \(minimumKbps) kbit/s)" }
}

/// The rungs the live stream adapts over, highest first, and the encoder settings derived from a bandwidth.
///
/// The encoder is given `headroom` (default 80%) of the budget: x264's VBV buffer (`vbvMilliseconds`) bounds how
/// far it may overshoot its target over a window, so the rate measured over any few seconds stays under the budget.
public struct BitrateLadder: Sendable, Hashable {
    public var rungs: [VideoRung]
    public var headroom: Double
    public var vbvMilliseconds: Int
    /// Seconds between keyframes (a late joiner waits at most this long for a picture).
    public var keyframeIntervalSeconds: Int

    public init(
        rungs: [VideoRung],
        headroom: Double = 0.8,
        vbvMilliseconds: Int = 500,
        keyframeIntervalSeconds: Int = 2
    ) {
        self.rungs = rungs.sorted { $0.minimumKbps > $1.minimumKbps }
        self.headroom = headroom
        self.vbvMilliseconds = vbvMilliseconds
        self.keyframeIntervalSeconds = keyframeIntervalSeconds
    }

    /// 720p30 when bandwidth allows, down to 320x180@10 on a poor link.
    public static let standard = BitrateLadder(rungs: [
        VideoRung(mode: VideoMode(width: 1280, height: 720, framesPerSecond: 30), minimumKbps: 1500),
        VideoRung(mode: VideoMode(width: 960, height: 540, framesPerSecond: 30), minimumKbps: 900),
        VideoRung(mode: VideoMode(width: 640, height: 360, framesPerSecond: 30), minimumKbps: 500),
        VideoRung(mode: VideoMode(width: 640, height: 360, framesPerSecond: 15), minimumKbps: 300),
        VideoRung(mode: VideoMode(width: 424, height: 240, framesPerSecond: 15), minimumKbps: 150),
        VideoRung(mode: VideoMode(width: 320, height: 180, framesPerSecond: 10), minimumKbps: 0),
    ])

    /// The encoder's target bit rate (kbit/s) for a budget.
    public func encoderKbps(budgetKbps: Int) -> Int {
        max(32, Int(Double(budgetKbps) * headroom))
    }

    /// The highest rung the budget affords, never larger (in size or frame rate) than the source.
    public func rung(budgetKbps: Int, source: VideoMode) -> VideoRung {
        let fitting = rungs.filter { $0.mode.width <= source.width && $0.mode.height <= source.height }
        let candidates = fitting.isEmpty ? [rungs.last].compactMap { $0 } : fitting
        let chosen = candidates.first { $0.minimumKbps <= budgetKbps } ?? candidates.last
        guard var rung = chosen else {
            return VideoRung(mode: source, minimumKbps: 0)
        }
        if rung.mode.width > source.width || rung.mode.height > source.height {
            rung.mode.width = source.width
            rung.mode.height = source.height
        }
        rung.mode.framesPerSecond = min(rung.mode.framesPerSecond, source.framesPerSecond)
        return rung
    }
}

/// Bit rate of a stream measured over a sliding window of presentation times (not per frame: keyframes are big).
public struct BitrateMeter: Sendable {
    public let window: Duration
    private var samples: [(time: Duration, bytes: Int)] = []

    public init(window: Duration = .seconds(5)) {
        self.window = window
    }

    public mutating func add(bytes: Int, at time: Duration) {
        samples.append((time, bytes))
        let horizon = time - window
        if let first = samples.firstIndex(where: { $0.time >= horizon }), first > 0 {
            samples.removeFirst(first)
        }
    }

    /// Span of the samples kept (at most the window).
    public var span: Duration {
        guard let first = samples.first, let last = samples.last else { return .zero }
        return last.time - first.time
    }

    /// kbit/s over the kept samples: bytes of all but the first sample over the span between them.
    public var kbps: Double? {
        guard samples.count >= 2 else { return nil }
        let seconds = Double(span.components.seconds) + Double(span.components.attoseconds) / 1e18
        guard seconds > 0 else { return nil }
        let bytes = samples.dropFirst().reduce(0) { $0 + $1.bytes }
        return Double(bytes) * 8 / 1000 / seconds
    }

    /// Samples per second over the kept samples; for the live H.264 branch (one access unit per sample) this is
    /// the frame rate actually delivered.
    public var samplesPerSecond: Double? {
        guard samples.count >= 2 else { return nil }
        let seconds = Double(span.components.seconds) + Double(span.components.attoseconds) / 1e18
        guard seconds > 0 else { return nil }
        return Double(samples.count - 1) / seconds
    }
}
