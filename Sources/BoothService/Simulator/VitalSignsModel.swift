/// Plausible, slowly drifting vital signs for the simulator: a bounded random walk per sign, seeded so
/// tests are reproducible. Values stay in adult resting ranges; nothing here is clinical.
public struct VitalSignsModel: Sendable {
    public struct Sample: Sendable, Equatable {
        /// SpO2 in %.
        public var spo2: Int
        /// Pulse rate in beats per minute.
        public var pulse: Int
        /// Perfusion index in % with one decimal (tenths).
        public var perfusionTenths: Int
        public var systolic: Int
        public var diastolic: Int
        /// Body temperature in tenths of °C.
        public var temperatureTenths: Int
    }

    private var generator: SplitMix64
    private var current: Sample

    public init(seed: UInt64) {
        generator = SplitMix64(seed: seed)
        current = Sample(spo2: 97, pulse: 72, perfusionTenths: 52, systolic: 122, diastolic: 78, temperatureTenths: 368)
    }

    /// The next sample: each sign moves by at most one step and stays within its range.
    public mutating func next() -> Sample {
        current.spo2 = step(current.spo2, by: 1, in: 94...99)
        current.pulse = step(current.pulse, by: 2, in: 58...96)
        current.perfusionTenths = step(current.perfusionTenths, by: 3, in: 20...90)
        current.systolic = step(current.systolic, by: 3, in: 105...142)
        current.diastolic = step(current.diastolic, by: 2, in: 65...90)
        current.temperatureTenths = step(current.temperatureTenths, by: 1, in: 362...375)
        return current
    }

    private mutating func step(_ value: Int, by maximum: Int, in range: ClosedRange<Int>) -> Int {
        let delta = Int(generator.next() % UInt64(2 * maximum + 1)) - maximum
        return min(max(value + delta, range.lowerBound), range.upperBound)
    }
}

/// SplitMix64: a tiny, well-distributed PRNG; good enough for a simulator and deterministic per seed.
struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
