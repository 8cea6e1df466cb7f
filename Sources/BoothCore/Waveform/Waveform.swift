/// A standard ECG lead, with its IEEE 11073-10101 codes (lead term code in partition 2, SCADA).
public enum ECGLead: String, Sendable, Hashable, Codable, CaseIterable {
    /// A lead the device does not name (single-channel chest straps such as the Polar H10).
    case unspecified
    case I, II, III, aVR, aVL, aVF, V1, V2, V3, V4, V5, V6

    /// The MDC_ECG_LEAD_* term code (0 = unspecified lead).
    public var termCode: UInt32 {
        switch self {
        case .unspecified: 0
        case .I: 1
        case .II: 2
        case .V1: 3
        case .V2: 4
        case .V3: 5
        case .V4: 6
        case .V5: 7
        case .V6: 8
        case .III: 61
        case .aVR: 62
        case .aVL: 63
        case .aVF: 64
        }
    }

    /// MDC_ECG_LEAD_x: the lead itself (partition 2 × 65536 + term).
    public var leadCode: MDCCode {
        MDCCode(
            131_072 + termCode,
            self == .unspecified ? "MDC_ECG_LEAD_CONFIG" : "MDC_ECG_LEAD_\(rawValue.uppercased())"
        )
    }

    /// MDC_ECG_ELEC_POTL_x: the electric potential measured on the lead (the code of its samples).
    public var potentialCode: MDCCode {
        self == .unspecified
            ? .ecgPotential : MDCCode(131_328 + termCode, "MDC_ECG_ELEC_POTL_\(rawValue.uppercased())")
    }

    /// Label printed on strips.
    public var label: String { self == .unspecified ? "single lead" : rawValue }
}

/// Where samples are missing: `missing` sample periods elapsed, without samples, just before `samples[beforeSample]`.
public struct WaveformGap: Sendable, Hashable, Codable {
    /// Index in `Waveform.samples` of the first sample after the gap (== samples.count for a trailing gap).
    public var beforeSample: Int
    /// Number of sample periods with no sample.
    public var missing: Int

    public init(beforeSample: Int, missing: Int) {
        self.beforeSample = beforeSample
        self.missing = missing
    }
}

/// One channel of regularly sampled data: an ECG lead, a phonocardiogram, a pleth curve.
///
/// Physical value of a sample = `origin + scale × sample`, in `unit`. Time runs at the nominal `sampleRateHz`
/// from `startMicros`; where the device dropped data, `gaps` say how many periods are missing, so time is never
/// stretched or compressed to hide a loss.
public struct Waveform: Sendable, Hashable, Codable {
    /// What is sampled (for ECG, the lead's MDC_ECG_ELEC_POTL_x code).
    public var code: MDCCode
    /// Human label (lead name, "PCG").
    public var label: String
    public var sampleRateHz: Double
    public var unit: UCUMUnit
    public var scale: Double
    public var origin: Double
    /// Raw sample values in time order; gaps are not in this array (see `gaps`).
    public var samples: [Int32]
    /// Time of `samples[0]` on the device clock, microseconds since the Unix epoch.
    public var startMicros: Int64
    public var gaps: [WaveformGap]
    /// True when the recording stopped early (device disconnected mid-strip): what was received is kept.
    public var incomplete: Bool

    public init(
        code: MDCCode,
        label: String,
        sampleRateHz: Double,
        unit: UCUMUnit,
        scale: Double = 1,
        origin: Double = 0,
        samples: [Int32] = [],
        startMicros: Int64 = 0,
        gaps: [WaveformGap] = [],
        incomplete: Bool = false
    ) {
        self.code = code
        self.label = label
        self.sampleRateHz = sampleRateHz
        self.unit = unit
        self.scale = scale
        self.origin = origin
        self.samples = samples
        self.startMicros = startMicros
        self.gaps = gaps
        self.incomplete = incomplete
    }

    /// An ECG lead in microvolts.
    public static func ecg(
        lead: ECGLead,
        sampleRateHz: Double,
        samples: [Int32] = [],
        startMicros: Int64 = 0
    ) -> Waveform {
        Waveform(
            code: lead.potentialCode,
            label: lead.label,
            sampleRateHz: sampleRateHz,
            unit: .microvolt,
            samples: samples,
            startMicros: startMicros
        )
    }

    /// Sample periods missing in gaps.
    public var missingCount: Int { gaps.reduce(0) { $0 + $1.missing } }

    /// Sample periods covered, gaps included.
    public var timelineCount: Int { samples.count + missingCount }

    /// Length in seconds, gaps included.
    public var durationSeconds: Double { Double(timelineCount) / sampleRateHz }

    /// Physical value of a raw sample.
    public func physical(_ raw: Int32) -> Double { origin + scale * Double(raw) }

    /// Every sample period in order: the raw value, or nil inside a gap.
    public func timeline() -> [Int32?] {
        var result: [Int32?] = []
        result.reserveCapacity(timelineCount)
        var gapIndex = 0
        let sorted = gaps.sorted { $0.beforeSample < $1.beforeSample }
        for index in 0...samples.count {
            while gapIndex < sorted.count, sorted[gapIndex].beforeSample == index {
                result.append(contentsOf: repeatElement(nil, count: max(0, sorted[gapIndex].missing)))
                gapIndex += 1
            }
            if index < samples.count { result.append(samples[index]) }
        }
        return result
    }

    /// Appends samples that follow after `missingBefore` lost sample periods.
    public mutating func append(_ newSamples: [Int32], missingBefore: Int = 0) {
        if missingBefore > 0 {
            if let last = gaps.last, last.beforeSample == samples.count {
                gaps[gaps.count - 1].missing += missingBefore
            } else {
                gaps.append(WaveformGap(beforeSample: samples.count, missing: missingBefore))
            }
        }
        samples.append(contentsOf: newSamples)
    }
}

/// An ECG recording: one or more simultaneous leads plus the RR intervals the device reported meanwhile.
public struct ECGRecording: Sendable, Hashable, Codable {
    public var device: DeviceIdentity
    /// Simultaneous leads sharing start time and sample rate.
    public var leads: [Waveform]
    /// RR intervals (1/1024 s) from Heart Rate Measurement notifications during the recording.
    public var rrIntervals1024: [UInt16]

    public init(device: DeviceIdentity, leads: [Waveform], rrIntervals1024: [UInt16] = []) {
        self.device = device
        self.leads = leads
        self.rrIntervals1024 = rrIntervals1024
    }

    /// Mean heart rate (beats per minute) from the RR intervals: 60 / mean RR; nil without intervals.
    /// A measured value, not an interpretation.
    public var meanHeartRateFromRR: Double? {
        let valid = rrIntervals1024.filter { $0 > 0 }
        guard !valid.isEmpty else { return nil }
        let meanSeconds = Double(valid.reduce(0) { $0 + Int($1) }) / Double(valid.count) / 1024
        return 60 / meanSeconds
    }

    /// True when any lead stopped early.
    public var incomplete: Bool { leads.contains { $0.incomplete } }
}
