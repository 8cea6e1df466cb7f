import BoothCore
import Testing

@Suite("Bandwidth estimator (receiver reports → live budget)")
struct BandwidthEstimatorTests {
    /// Feeds reports and returns the estimate after each.
    func run(_ estimator: inout BandwidthEstimator, _ reports: [PathReport]) -> [Int] {
        reports.map { report in
            estimator.update(report)
            return estimator.kbps
        }
    }

    @Test func cleanPathStaysAtTheCap() {
        var estimator = BandwidthEstimator(capKbps: 1000)
        let trace = run(&estimator, Array(repeating: PathReport(fractionLost: 0, roundTripSeconds: 0.02), count: 10))
        #expect(trace == Array(repeating: 1000, count: 10))
    }

    @Test func heavyLossCutsAtOnceThenHoldsThenClimbsSlowly() {
        var estimator = BandwidthEstimator(capKbps: 1000)
        let lossy = Array(repeating: PathReport(fractionLost: 0.20, roundTripSeconds: 0.02), count: 3)
        let clean = Array(repeating: PathReport(fractionLost: 0, roundTripSeconds: 0.02), count: 12)
        let trace = run(&estimator, lossy + clean)
        // 1000 × 0.9 = 900, 810, 729; hold 3 reports; then +8 % per report: 787, 850, 918, 991, 1000 (cap).
        #expect(Array(trace.prefix(3)) == [900, 810, 729])
        #expect(Array(trace[3..<6]) == [729, 729, 729])
        #expect(Array(trace[6..<11]) == [787, 850, 918, 991, 1000])
        #expect(trace.allSatisfy { $0 <= 1000 })
        #expect(trace.last == 1000)
    }

    @Test func moderateLossHoldsAndLightLossRecovers() {
        var estimator = BandwidthEstimator(capKbps: 800)
        estimator.update(PathReport(fractionLost: 0.5))  // 800 × 0.75 = 600
        let trace = run(
            &estimator,
            Array(repeating: PathReport(fractionLost: 0.05), count: 6)
                + Array(repeating: PathReport(fractionLost: 0.01), count: 2)
        )
        #expect(trace == [600, 600, 600, 600, 600, 600, 648, 699])
    }

    @Test func risingRoundTripIsQueueing() {
        var estimator = BandwidthEstimator(capKbps: 1000)
        let trace = run(
            &estimator,
            [
                PathReport(fractionLost: 0, roundTripSeconds: 0.040),
                PathReport(fractionLost: 0, roundTripSeconds: 0.120),  // +80 ms: fine
                PathReport(fractionLost: 0, roundTripSeconds: 0.260),  // +220 ms once: not yet a queue
                PathReport(fractionLost: 0, roundTripSeconds: 0.300),  // twice: × 0.85
                PathReport(fractionLost: 0, roundTripSeconds: 0.320),  // × 0.85
                PathReport(fractionLost: 0, roundTripSeconds: 0.050),
            ]
        )
        #expect(trace == [1000, 1000, 1000, 850, 722, 722])
        #expect(estimator.baseRoundTrip == 0.040)
    }

    @Test func neverBelowTheFloorNorAboveTheCap() {
        var estimator = BandwidthEstimator(capKbps: 1000, floorKbps: 150)
        let trace = run(&estimator, Array(repeating: PathReport(fractionLost: 0.9), count: 20))
        #expect(trace.last == 150)
        #expect(trace.allSatisfy { (150...1000).contains($0) })
        var capped = BandwidthEstimator(capKbps: 500)
        #expect(run(&capped, Array(repeating: PathReport(fractionLost: 0), count: 5)).allSatisfy { $0 == 500 })
        // Garbage in (NaN loss, negative RTT) changes nothing.
        #expect(run(&capped, [PathReport(fractionLost: .nan, roundTripSeconds: -1)]) == [500])
    }
}
