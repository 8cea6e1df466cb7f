/// A piece of a live waveform as it is streamed to clients: a few hundred milliseconds of one channel, with the
/// gaps the device's timestamps revealed and the RR intervals reported meanwhile.
public struct WaveformChunk: Sendable, Hashable, Codable {
    /// What is sampled (for ECG, the lead's MDC_ECG_ELEC_POTL_x code).
    public var code: MDCCode
    public var label: String
    public var sampleRateHz: Double
    public var unit: UCUMUnit
    public var scale: Double
    public var origin: Double
    /// Device time of the chunk's first sample period (a leading gap included), microseconds since the Unix epoch.
    public var startMicros: Int64
    /// Raw samples in time order; physical value = origin + scale × sample.
    public var samples: [Int32]
    /// Lost sample periods inside the chunk; `beforeSample` indexes `samples` (0: before the first sample, which
    /// is how a loss between two chunks shows).
    public var gaps: [WaveformGap]
    /// RR intervals (1/1024 s) the device reported since the previous chunk.
    public var rrIntervals1024: [UInt16]
    /// First chunk after the device (re)connected: not continuous with anything before it.
    public var restart: Bool
    /// The stream ended here (link dropped, device stopped): no samples follow until a `restart` chunk.
    public var end: Bool
    /// When boothd received the notification that completed this chunk (boothd's clock, Unix µs).
    public var receivedAtMicros: Int64

    public init(
        code: MDCCode,
        label: String,
        sampleRateHz: Double,
        unit: UCUMUnit,
        scale: Double = 1,
        origin: Double = 0,
        startMicros: Int64,
        samples: [Int32],
        gaps: [WaveformGap] = [],
        rrIntervals1024: [UInt16] = [],
        restart: Bool = false,
        end: Bool = false,
        receivedAtMicros: Int64
    ) {
        self.code = code
        self.label = label
        self.sampleRateHz = sampleRateHz
        self.unit = unit
        self.scale = scale
        self.origin = origin
        self.startMicros = startMicros
        self.samples = samples
        self.gaps = gaps
        self.rrIntervals1024 = rrIntervals1024
        self.restart = restart
        self.end = end
        self.receivedAtMicros = receivedAtMicros
    }

    /// Sample periods covered, gaps included.
    public var timelineCount: Int { samples.count + gaps.reduce(0) { $0 + $1.missing } }
}

/// Cuts a live stream of timestamped device frames into chunks of at least `minimumSeconds` of timeline, so clients
/// get a bounded rate (at most 1 / `minimumSeconds` chunks per second) whatever the device's frame size. Gaps are
/// found from the device timestamps by `WaveformAssembler`; memory stays bounded (each chunk is drained).
public struct WaveformChunker: Sendable {
    public let minimumSeconds: Double
    private var assembler: WaveformAssembler
    private var pendingRR: [UInt16] = []
    private var emittedAny = false
    private let minimumCount: Int

    /// - Parameters:
    ///   - waveform: the channel description (code, rate, unit, scale).
    ///   - epochOffsetNanos: added to frame timestamps to get Unix nanoseconds (Polar: 946 684 800 s).
    ///   - minimumSeconds: timeline length that completes a chunk.
    public init(waveform: Waveform, epochOffsetNanos: Int64 = 0, minimumSeconds: Double = 0.25) {
        assembler = WaveformAssembler(waveform: waveform, epochOffsetNanos: epochOffsetNanos)
        self.minimumSeconds = minimumSeconds
        minimumCount = max(1, Int((minimumSeconds * waveform.sampleRateHz).rounded(.up)))
    }

    /// Adds one device frame whose last sample was taken at `lastSampleNanos` (device clock); returns a chunk when
    /// enough timeline has accumulated. A repeated frame is dropped (`.duplicate`).
    public mutating func append(
        _ samples: [Int32],
        lastSampleNanos: Int64,
        receivedAtMicros: Int64
    ) -> (outcome: WaveformAssembler.Outcome, chunk: WaveformChunk?) {
        let outcome = assembler.append(samples, lastSampleNanos: lastSampleNanos)
        guard assembler.waveform.timelineCount >= minimumCount else { return (outcome, nil) }
        return (outcome, flush(receivedAtMicros: receivedAtMicros))
    }

    /// RR intervals reported by the device; they ride on the next chunk.
    public mutating func addRR(_ intervals: [UInt16]) {
        pendingRR.append(contentsOf: intervals)
    }

    /// Emits what is pending (samples or RR intervals) now; nil when there is nothing.
    public mutating func flush(receivedAtMicros: Int64) -> WaveformChunk? {
        guard assembler.waveform.timelineCount > 0 || !pendingRR.isEmpty else { return nil }
        let part = assembler.drain()
        let chunk = WaveformChunk(
            code: part.code,
            label: part.label,
            sampleRateHz: part.sampleRateHz,
            unit: part.unit,
            scale: part.scale,
            origin: part.origin,
            startMicros: part.startMicros,
            samples: part.samples,
            gaps: part.gaps,
            rrIntervals1024: pendingRR,
            restart: !emittedAny,
            receivedAtMicros: receivedAtMicros
        )
        pendingRR = []
        emittedAny = true
        return chunk
    }

    /// The chunk that closes the stream (what was pending first, then an empty `end` chunk).
    public mutating func finish(receivedAtMicros: Int64) -> [WaveformChunk] {
        var chunks: [WaveformChunk] = []
        if let last = flush(receivedAtMicros: receivedAtMicros) { chunks.append(last) }
        let channel = assembler.waveform
        chunks.append(
            WaveformChunk(
                code: channel.code,
                label: channel.label,
                sampleRateHz: channel.sampleRateHz,
                unit: channel.unit,
                scale: channel.scale,
                origin: channel.origin,
                startMicros: channel.startMicros,
                samples: [],
                restart: !emittedAny,
                end: true,
                receivedAtMicros: receivedAtMicros
            )
        )
        emittedAny = true
        return chunks
    }

    /// Chunks whose device timestamps went backwards so far.
    public var clockAnomalies: Int { assembler.clockAnomalies }
}
