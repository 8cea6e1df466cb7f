import BoothService
import Testing

@Suite struct ReconnectBackoffTests {
    @Test func growsExponentiallyUpToTheMaximumWithoutJitter() {
        var backoff = ReconnectBackoff(initial: .milliseconds(500), maximum: .seconds(5), jitter: 0)
        var generator = SystemRandomNumberGenerator()
        let delays = (0..<6).map { _ in backoff.delay(afterUptime: .zero, using: &generator) }
        #expect(delays == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(5), .seconds(5)])
    }

    @Test func aStableConnectionResetsTheDelay() {
        var backoff = ReconnectBackoff(
            initial: .seconds(1),
            maximum: .seconds(60),
            jitter: 0,
            stableAfter: .seconds(10)
        )
        var generator = SystemRandomNumberGenerator()
        _ = backoff.delay(afterUptime: .zero, using: &generator)
        _ = backoff.delay(afterUptime: .seconds(2), using: &generator)
        #expect(backoff.delay(afterUptime: .seconds(3), using: &generator) == .seconds(4))
        #expect(backoff.delay(afterUptime: .seconds(10), using: &generator) == .seconds(1))
    }

    @Test func jitterStaysWithinItsSpread() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            var backoff = ReconnectBackoff(initial: .seconds(2), jitter: 0.25)
            let delay = backoff.delay(afterUptime: .zero, using: &generator)
            #expect(delay >= .milliseconds(1500) && delay <= .milliseconds(2500))
        }
    }
}
