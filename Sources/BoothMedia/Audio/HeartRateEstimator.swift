/// A heart rate recovered from a phonocardiogram.
public struct HeartRateEstimate: Sendable, Codable, Equatable {
    public var beatsPerMinute: Double
    /// Normalized autocorrelation of the envelope at the beat period (0.2...1; lower is not reported).
    public var confidence: Double
}

/// Recovers the heart rate from a phonocardiogram's envelope: 10 ms energy envelope, 50 ms smoothing, then the
/// strongest autocorrelation lag between 0.27 s (220 bpm) and 2 s (30 bpm). S1 and S2 each recur once per beat,
/// so the beat period correlates both sounds while the S1–S2 interval correlates only one pair: the period wins.
public enum HeartRateEstimator {
    /// Envelope rate, Hz.
    static let envelopeRate = 100
    /// Below this normalized correlation there is no rhythm to report.
    public static let minimumConfidence = 0.2

    public static func estimate(samples: [Float], sampleRate: Int) -> HeartRateEstimate? {
        guard sampleRate >= envelopeRate else { return nil }
        let envelope = self.envelope(samples: samples, sampleRate: sampleRate)
        let minLag = Int(0.27 * Double(envelopeRate))
        let maxLag = Int(2.0 * Double(envelopeRate))
        // At least three periods of the shortest lag.
        guard envelope.count >= 3 * minLag + 1 else { return nil }
        let mean = envelope.reduce(0, +) / Double(envelope.count)
        let centered = envelope.map { $0 - mean }
        let count = centered.count
        func correlation(_ lag: Int) -> Double {
            var sum = 0.0
            for index in 0..<(count - lag) { sum += centered[index] * centered[index + lag] }
            // Biased estimate: longer lags overlap less, which keeps a multiple of the period from winning.
            return sum / Double(count)
        }
        let zero = correlation(0)
        // A steady envelope (tone, hum) has no beats: require it to vary by at least 10 % of its mean.
        guard zero > 0, zero.squareRoot() >= 0.1 * mean else { return nil }
        let upper = min(maxLag, count / 2)
        guard upper > minLag else { return nil }
        let values = (minLag...upper + 1).map { correlation($0) }
        var best = 1
        for index in 1..<(values.count - 1) where values[index] > values[best] { best = index }
        let (left, middle, right) = (values[best - 1], values[best], values[best + 1])
        // A steady tone or noise has no beat: its envelope barely correlates at any lag.
        guard middle / zero >= minimumConfidence else { return nil }
        // Parabolic interpolation between neighbouring lags.
        let denominator = left - 2 * middle + right
        let offset = denominator != 0 ? 0.5 * (left - right) / denominator : 0
        let lag = Double(minLag + best) + max(-0.5, min(0.5, offset))
        return HeartRateEstimate(
            beatsPerMinute: 60 * Double(envelopeRate) / lag,
            confidence: max(0, min(1, middle / zero))
        )
    }

    /// Mean absolute amplitude per 10 ms, smoothed over 50 ms.
    static func envelope(samples: [Float], sampleRate: Int) -> [Double] {
        let block = sampleRate / envelopeRate
        guard block > 0 else { return [] }
        let blocks = samples.count / block
        var raw = [Double](repeating: 0, count: blocks)
        for index in 0..<blocks {
            var sum: Float = 0
            for sample in samples[(index * block)..<((index + 1) * block)] { sum += abs(sample) }
            raw[index] = Double(sum) / Double(block)
        }
        let width = 5
        var smoothed = [Double](repeating: 0, count: blocks)
        var running = 0.0
        for index in 0..<blocks {
            running += raw[index]
            if index >= width { running -= raw[index - width] }
            smoothed[index] = running / Double(min(index + 1, width))
        }
        return smoothed
    }
}
