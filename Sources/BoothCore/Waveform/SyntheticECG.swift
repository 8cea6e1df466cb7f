/// A deterministic synthetic ECG (sum of Gaussian P, Q, R, S, T waves) at a known heart rate, for the simulator,
/// the strip tests and the benchmarks. Not physiological data: only its timing and amplitudes are controlled.
public struct SyntheticECG: Sendable {
    public var heartRate: Double
    public var sampleRateHz: Double
    /// R-wave amplitude in microvolts.
    public var rAmplitudeMicrovolts: Double

    public init(heartRate: Double = 72, sampleRateHz: Double = 130, rAmplitudeMicrovolts: Double = 1200) {
        self.heartRate = heartRate
        self.sampleRateHz = sampleRateHz
        self.rAmplitudeMicrovolts = rAmplitudeMicrovolts
    }

    /// Seconds between beats.
    public var beatPeriod: Double { 60 / heartRate }

    /// RR interval in 1/1024 s, as a heart-rate strap would report it.
    public var rrInterval1024: UInt16 { UInt16(clamping: Int((beatPeriod * 1024).rounded())) }

    /// Value in microvolts at `t` seconds from the start (R peaks at 0.25 s + k × beat period).
    public func microvolts(at t: Double) -> Double {
        let phase = (t - 0.25).truncatingRemainder(dividingBy: beatPeriod)
        let x = phase < -beatPeriod / 2 ? phase + beatPeriod : (phase > beatPeriod / 2 ? phase - beatPeriod : phase)
        // (centre s, width s, amplitude relative to R)
        let waves: [(Double, Double, Double)] = [
            (-0.20, 0.025, 0.12),  // P
            (-0.03, 0.008, -0.12),  // Q
            (0.0, 0.010, 1.0),  // R
            (0.03, 0.008, -0.20),  // S
            (0.25, 0.045, 0.30),  // T
        ]
        var value = 0.0
        for (centre, width, amplitude) in waves {
            let d = (x - centre) / width
            value += amplitude * gaussian(d)
        }
        return value * rAmplitudeMicrovolts
    }

    /// `count` samples from sample index `start`, in microvolts.
    public func samples(from start: Int = 0, count: Int) -> [Int32] {
        (start..<(start + count)).map { Int32((microvolts(at: Double($0) / sampleRateHz)).rounded()) }
    }

    /// R-peak times in seconds within `[0, duration)`.
    public func rPeakTimes(duration: Double) -> [Double] {
        stride(from: 0.25, to: duration, by: beatPeriod).map { $0 }
    }

    private func gaussian(_ d: Double) -> Double {
        // exp(-d²/2) without Foundation: a short series is plenty for |d| small, 0 far away.
        let x = -d * d / 2
        guard x > -30 else { return 0 }
        // exp via repeated squaring of a series on x/64.
        let y = x / 64
        var term = 1.0
        var sum = 1.0
        for n in 1...8 {
            term *= y / Double(n)
            sum += term
        }
        for _ in 0..<6 { sum *= sum }
        return sum
    }
}
