/// The stethoscope's filter modes, as on acoustic and electronic stethoscopes.
///
/// Each mode is a band-pass made of a 4-pole Chebyshev high-pass and a 4-pole Chebyshev low-pass (GStreamer's
/// `audiocheblimit`). Eight poles, or a single `audiochebband`, are numerically unstable at 20 Hz and 48 kHz
/// (the output turns to NaN), and a 4-pole `audiochebband` is only 2 poles per side (-23 dB at 1 kHz in bell mode).
public enum StethoscopeMode: String, Sendable, Codable, CaseIterable {
    /// Heart sounds: 20–200 Hz.
    case bell
    /// Lung sounds: 100–1000 Hz.
    case diaphragm
    /// Everything a chest piece picks up: 20–2000 Hz.
    case wide

    /// Lower and upper edges of the pass band in Hz (-3 dB points are within 1 dB of these with 0.25 dB ripple).
    public var band: (low: Double, high: Double) {
        switch self {
        case .bell: (20, 200)
        case .diaphragm: (100, 1000)
        case .wide: (20, 2000)
        }
    }

    /// The band's upper edge limited to 45 % of the sample rate: a low-pass at or above Nyquist is meaningless
    /// (an 8 kHz device in wide mode keeps 20–1800 Hz).
    public func band(sampleRate: Int) -> (low: Double, high: Double) {
        let (low, high) = band
        return (low, min(high, 0.45 * Double(sampleRate)))
    }
}
