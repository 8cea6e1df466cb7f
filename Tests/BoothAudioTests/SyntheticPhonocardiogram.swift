import Foundation

/// A synthetic phonocardiogram for tests: S1 (low, longer) and S2 (higher, shorter) bursts at a known heart
/// rate over faint noise. S2 follows S1 after the systolic interval, which shortens as the rate rises.
struct SyntheticPhonocardiogram {
    var beatsPerMinute: Double
    var sampleRate: Int = 48000
    var amplitude: Float = 0.3
    var noise: Float = 0.005
    var seed: UInt64 = 42

    func samples(seconds: Double) -> [Float] {
        let count = Int(seconds * Double(sampleRate))
        var output = [Float](repeating: 0, count: count)
        var random = seed
        for index in 0..<count {
            // xorshift noise, deterministic.
            random ^= random << 13
            random ^= random >> 7
            random ^= random << 17
            output[index] = noise * (Float(random % 2001) / 1000 - 1)
        }
        let period = 60 / beatsPerMinute
        let systole = 0.1 + 0.25 * period  // ~0.3 s at 75 bpm
        var beat = 0.1
        while beat < seconds {
            addBurst(to: &output, at: beat, duration: 0.09, frequency: 45, gain: 1.0)
            addBurst(to: &output, at: beat + systole, duration: 0.06, frequency: 75, gain: 0.7)
            beat += period
        }
        return output
    }

    /// A Hann-windowed tone burst.
    private func addBurst(to output: inout [Float], at start: Double, duration: Double, frequency: Double, gain: Float)
    {
        let first = Int(start * Double(sampleRate))
        let length = Int(duration * Double(sampleRate))
        for offset in 0..<length where first + offset < output.count {
            let t = Double(offset) / Double(sampleRate)
            let window = 0.5 - 0.5 * cos(2 * Double.pi * Double(offset) / Double(length))
            output[first + offset] += amplitude * gain * Float(window * sin(2 * Double.pi * frequency * t))
        }
    }
}
