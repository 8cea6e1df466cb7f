/// How long to wait before reconnecting to a device that dropped or failed: exponential from `initial` up to
/// `maximum`, with ±`jitter` spread so several devices do not retry in lockstep, and back to `initial` once a
/// connection has stayed up for `stableAfter`.
public struct ReconnectBackoff: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration
    public var multiplier: Double
    /// Fraction of the delay used as random spread (0.2 = ±20 %).
    public var jitter: Double
    public var stableAfter: Duration
    public private(set) var failures = 0

    public init(
        initial: Duration = .milliseconds(500),
        maximum: Duration = .seconds(30),
        multiplier: Double = 2,
        jitter: Double = 0.2,
        stableAfter: Duration = .seconds(30)
    ) {
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
        self.jitter = jitter
        self.stableAfter = stableAfter
    }

    /// The delay before the next attempt, after a connection that lasted `uptime` (zero if it never came up).
    public mutating func delay(
        afterUptime uptime: Duration,
        using generator: inout some RandomNumberGenerator
    )
        -> Duration
    {
        if uptime >= stableAfter { failures = 0 }
        let exponent = Double(failures)
        failures += 1
        let base = min(seconds(initial) * pow(multiplier, exponent), seconds(maximum))
        let spread = base * jitter
        let jittered = spread > 0 ? Double.random(in: (base - spread)...(base + spread), using: &generator) : base
        return .milliseconds(Int64((max(0, jittered) * 1000).rounded()))
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    private func pow(_ base: Double, _ exponent: Double) -> Double {
        var result = 1.0
        var remaining = Int(exponent)
        while remaining > 0 {
            result *= base
            remaining -= 1
        }
        return result
    }
}
