import BoothCore
import BoothTesting
import Synchronization
import Testing

/// A thermometer sending Intermediate Temperature (0x2A1E) reports `measuring` while the values come, and
/// again once they stop without a reading; a device without the characteristic never does.
@Suite(.timeLimit(.minutes(1)))
struct IntermediateActivityTests {
    /// Temperature Measurement, flags 0x00 (Celsius), 36.6 as FLOAT: mantissa 366, exponent -1.
    static let temperature: [UInt8] = [0x00, 0x6E, 0x01, 0x00, 0xFF]

    static func names(_ events: [GATTMeasurementDriver.Event]) -> [String] {
        events.map { event in
            switch event {
            case .connected: "connected"
            case .measuring(let active): "measuring(\(active))"
            case .measurement(let measurement): "measurement(\(Hex.string(measurement.raw)))"
            default: "other"
            }
        }
    }

    /// One step of the device's side: when the event names so far match `when`, `then` runs (once).
    struct Step: Sendable {
        var when: @Sendable ([String]) -> Bool
        var then: @Sendable () -> Void
    }

    /// Runs the thermometer driver; each step runs once in order, and the link ends once all ran and `until` holds.
    static func run(
        _ link: ScriptedGATTLink,
        steps: [Step],
        until done: @escaping @Sendable ([String]) -> Bool
    ) async throws -> [GATTMeasurementDriver.Event] {
        var driver = GATTMeasurementDriver.hts
        driver.intermediateQuiet = .milliseconds(200)
        driver.clock = .leave
        let events = Mutex<[GATTMeasurementDriver.Event]>([])
        let identity = DeviceIdentity(id: "ble:00:AA:03:00:00:01", transport: "ble")
        let watcher = Task {
            var next = 0
            while true {
                let names = Self.names(events.withLock { $0 })
                if next < steps.count, steps[next].when(names) {
                    steps[next].then()
                    next += 1
                } else if next == steps.count, done(names) {
                    break
                }
                try await Task.sleep(for: .milliseconds(5))
            }
            link.end()
        }
        try await driver.run(
            on: link,
            makeContext: { MeasurementContext(id: "m", device: identity, receivedAtMicros: 1) },
            emit: { event in events.withLock { $0.append(event) } }
        )
        watcher.cancel()
        return events.withLock { $0 }
    }

    @Test func intermediateTemperatureMeansMeasuringUntilTheReadingOrSilence() async throws {
        let link = ScriptedGATTLink()
        let intermediate = GATTUUID(0x2A1E)
        let readingSeen = Mutex<ContinuousClock.Instant?>(nil)
        let events = try await Self.run(
            link,
            steps: [
                // Three intermediate values, then silence: measuring once, then abandoned.
                Step(when: { $0.last == "connected" }) {
                    link.send([0x6A, 0x6B, 0x6C].map { (intermediate, [0x00, $0, 0x01, 0x00, 0xFF]) })
                },
                // Measuring again, this time to a reading.
                Step(when: { $0.last == "measuring(false)" }) {
                    link.send([(intermediate, [0x00, 0x6D, 0x01, 0x00, 0xFF])])
                },
                Step(when: { $0.last == "measuring(true)" }) { link.send([(GATTUUID(0x2A1C), Self.temperature)]) },
            ],
            // Past the quiet period after the reading: no late `measuring(false)` (the reading ended it).
            until: { names in
                guard names.last?.hasPrefix("measurement") == true else { return false }
                let seen = readingSeen.withLock { seen in
                    let first = seen ?? .now
                    seen = first
                    return first
                }
                return ContinuousClock.now - seen >= .milliseconds(300)
            }
        )
        #expect(
            Self.names(events) == [
                "connected", "measuring(true)", "measuring(false)", "measuring(true)", "measurement(006e0100ff)",
            ]
        )
        #expect(link.unsubscribed.isEmpty)
    }

    @Test func aDeviceWithoutIntermediateValuesIsNeverMeasuring() async throws {
        let link = ScriptedGATTLink(absent: [GATTUUID(0x2A1E)])
        let events = try await Self.run(
            link,
            steps: [Step(when: { $0 == ["connected"] }) { link.send([(GATTUUID(0x2A1C), Self.temperature)]) }],
            until: { $0.count == 2 }
        )
        #expect(Self.names(events) == ["connected", "measurement(006e0100ff)"])
    }
}
