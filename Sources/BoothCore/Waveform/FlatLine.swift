extension Waveform {
    /// Stretches where the signal stays within `tolerance` (physical units, peak to peak) for at least
    /// `minimumSeconds`: electrodes off the skin or a saturated amplifier. A device-state warning for the
    /// technician, never a measurement or an interpretation. Ranges are indices into `samples` (gaps excluded).
    public func flatLineSpans(minimumSeconds: Double = 2, tolerance: Double = 20) -> [Range<Int>] {
        let minimumCount = max(2, Int((minimumSeconds * sampleRateHz).rounded()))
        let rawTolerance = scale == 0 ? 0 : abs(tolerance / scale)
        var spans: [Range<Int>] = []
        var start = 0
        var low = Double.infinity
        var high = -Double.infinity
        for (index, sample) in samples.enumerated() {
            let value = Double(sample)
            let newLow = min(low, value)
            let newHigh = max(high, value)
            if newHigh - newLow > rawTolerance {
                if index - start >= minimumCount { spans.append(start..<index) }
                // Restart the run at this sample, widened back over the recent samples that still fit.
                start = index
                low = value
                high = value
                var back = index - 1
                while back >= 0, back >= (spans.last?.upperBound ?? 0) {
                    let previous = Double(samples[back])
                    guard max(high, previous) - min(low, previous) <= rawTolerance else { break }
                    low = min(low, previous)
                    high = max(high, previous)
                    start = back
                    back -= 1
                }
            } else {
                low = newLow
                high = newHigh
            }
        }
        if samples.count - start >= minimumCount { spans.append(start..<samples.count) }
        return spans
    }
}
