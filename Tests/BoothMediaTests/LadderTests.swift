import Testing

@testable import BoothMedia

@Suite struct LadderTests {
    let hd = VideoMode(width: 1280, height: 720, framesPerSecond: 30)

    @Test func defaultBudgetPicks540pAt80PercentTarget() {
        let ladder = BitrateLadder.standard
        let rung = ladder.rung(budgetKbps: 1000, source: hd)
        #expect(rung.mode == VideoMode(width: 960, height: 540, framesPerSecond: 30))
        #expect(ladder.encoderKbps(budgetKbps: 1000) == 800)
    }

    @Test func lowerBandwidthStepsDown() {
        let ladder = BitrateLadder.standard
        #expect(
            ladder.rung(budgetKbps: 600, source: hd).mode == VideoMode(width: 640, height: 360, framesPerSecond: 30)
        )
        #expect(
            ladder.rung(budgetKbps: 400, source: hd).mode == VideoMode(width: 640, height: 360, framesPerSecond: 15)
        )
        #expect(
            ladder.rung(budgetKbps: 200, source: hd).mode == VideoMode(width: 424, height: 240, framesPerSecond: 15)
        )
        #expect(ladder.rung(budgetKbps: 50, source: hd).mode == VideoMode(width: 320, height: 180, framesPerSecond: 10))
        #expect(ladder.rung(budgetKbps: 5000, source: hd).mode == hd)
    }

    @Test func neverExceedsTheSource() {
        let small = VideoMode(width: 640, height: 360, framesPerSecond: 15)
        let rung = BitrateLadder.standard.rung(budgetKbps: 5000, source: small)
        #expect(rung.mode == small)
        let tiny = VideoMode(width: 160, height: 120, framesPerSecond: 5)
        #expect(BitrateLadder.standard.rung(budgetKbps: 5000, source: tiny).mode == tiny)
    }

    @Test func meterAveragesOverTheWindow() {
        var meter = BitrateMeter(window: .seconds(5))
        #expect(meter.kbps == nil)
        // 10 chunks/s of 1250 bytes = 100 kbit/s, for 8 s: the window keeps the last 5 s.
        for index in 0...80 {
            meter.add(bytes: 1250, at: .milliseconds(index * 100))
        }
        #expect(meter.span == .seconds(5))
        #expect(meter.kbps == 100)
        #expect(meter.samplesPerSecond == 10)
    }

    @Test func previewKeepsAspectAndNeverUpscales() {
        var configuration = CameraConfiguration(source: .simulated(pattern: .smpte, mode: hd))
        #expect(configuration.previewMode == VideoMode(width: 640, height: 360, framesPerSecond: 15))
        configuration.source = .simulated(
            pattern: .smpte,
            mode: VideoMode(width: 640, height: 480, framesPerSecond: 10)
        )
        #expect(configuration.previewMode == VideoMode(width: 480, height: 360, framesPerSecond: 10))
        configuration.source = .simulated(
            pattern: .smpte,
            mode: VideoMode(width: 320, height: 240, framesPerSecond: 30)
        )
        #expect(configuration.previewMode == VideoMode(width: 320, height: 240, framesPerSecond: 15))
    }
}
