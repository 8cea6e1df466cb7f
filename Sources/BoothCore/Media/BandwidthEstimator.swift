/// What the receiver's RTCP reports say about the path, as webrtcbin's `get-stats` gives it
/// (`remote-inbound-rtp`: fraction lost over the last report interval, round-trip time).
public struct PathReport: Sendable, Hashable {
    /// Fraction of packets lost since the previous receiver report (0...1).
    public var fractionLost: Double
    /// Round-trip time (seconds), nil when no RTT was measured yet.
    public var roundTripSeconds: Double?

    public init(fractionLost: Double, roundTripSeconds: Double? = nil) {
        self.fractionLost = fractionLost
        self.roundTripSeconds = roundTripSeconds
    }
}

/// Estimates the bandwidth the live stream may use from receiver reports: a loss- and delay-based controller in
/// the spirit of WebRTC's send-side estimator, kept simple enough to test with scripted report sequences.
///
/// Per report (about one per second):
/// - loss above `heavyLoss` (10 %): the estimate drops at once to `estimate × (1 − loss / 2)`;
/// - round-trip time more than `queueingDelay` (150 ms) above the smallest seen in two reports in a row (a queue
///   is building): × 0.85;
/// - loss between `lightLoss` (2 %) and `heavyLoss`: hold;
/// - otherwise, once `holdAfterDecrease` reports (3) passed since the last decrease: + `increaseFraction` (8 %) of
///   the estimate, at least `minimumStepKbps`, never above the cap.
/// The estimate stays within `floorKbps...capKbps`; the cap is the configured budget (at most 1 Mbit/s).
public struct BandwidthEstimator: Sendable, Hashable {
    public var capKbps: Int
    public var floorKbps: Int
    public var heavyLoss = 0.10
    public var lightLoss = 0.02
    public var queueingDelay = 0.150
    public var increaseFraction = 0.08
    public var minimumStepKbps = 16
    public var holdAfterDecrease = 3
    /// The current estimate (kbit/s).
    public private(set) var estimateKbps: Double
    /// Smallest round-trip time seen (the path's base delay).
    public private(set) var baseRoundTrip: Double?
    private var reportsSinceDecrease: Int
    private var queueingReports = 0

    public init(capKbps: Int, floorKbps: Int = 100) {
        self.capKbps = max(1, capKbps)
        self.floorKbps = min(max(1, floorKbps), max(1, capKbps))
        self.estimateKbps = Double(self.capKbps)
        self.reportsSinceDecrease = holdAfterDecrease
    }

    /// The estimate as whole kbit/s.
    public var kbps: Int { Int(estimateKbps.rounded(.down)) }

    /// What changed with a report.
    public enum Decision: Sendable, Hashable {
        case decreased(reason: String)
        case held
        case increased
    }

    /// Takes one receiver report and returns what the estimate did.
    @discardableResult
    public mutating func update(_ report: PathReport) -> Decision {
        let loss = min(1, max(0, report.fractionLost.isFinite ? report.fractionLost : 0))
        var queueing = false
        if let rtt = report.roundTripSeconds, rtt.isFinite, rtt >= 0 {
            baseRoundTrip = min(baseRoundTrip ?? rtt, rtt)
            // Two reports in a row: one late report (a busy receiver, a scheduling hiccup) is not a queue.
            queueingReports = rtt - (baseRoundTrip ?? rtt) > queueingDelay ? queueingReports + 1 : 0
            queueing = queueingReports >= 2
        }
        let decision: Decision
        if loss > heavyLoss {
            estimateKbps *= 1 - loss / 2
            decision = .decreased(reason: "loss \(Int((loss * 100).rounded())) %")
        } else if queueing {
            estimateKbps *= 0.85
            decision = .decreased(
                reason: "round trip +\(Int(((report.roundTripSeconds ?? 0) - (baseRoundTrip ?? 0)) * 1000)) ms"
            )
        } else if loss > lightLoss || reportsSinceDecrease < holdAfterDecrease {
            decision = .held
        } else if estimateKbps < Double(capKbps) {
            estimateKbps += max(Double(minimumStepKbps), estimateKbps * increaseFraction)
            decision = .increased
        } else {
            decision = .held
        }
        if case .decreased = decision { reportsSinceDecrease = 0 } else { reportsSinceDecrease += 1 }
        estimateKbps = min(Double(capKbps), max(Double(floorKbps), estimateKbps))
        return decision
    }
}
