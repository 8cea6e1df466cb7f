import BoothCore
import Foundation
import Synchronization
import Testing

/// A GATT link the test drives by hand: it records writes and subscriptions, and the test pushes byte-exact
/// notifications (built from the documented formats, not from the encoders under test).
final class ScriptedStrapLink: GATTLink {
    struct Dropped: Error {}

    let streams = Mutex<[GATTUUID: AsyncThrowingStream<[UInt8], any Error>.Continuation]>([:])
    let writes = Mutex<[(GATTUUID, [UInt8])]>([])

    func read(_ characteristic: GATTUUID) async throws -> [UInt8] {
        switch characteristic {
        case GATTUUID(0x2A19): [77]
        case GATTUUID(0x2A24): Array("H10".utf8)
        default: throw Dropped()
        }
    }

    func write(_ characteristic: GATTUUID, _ value: [UInt8], withResponse: Bool) async throws {
        writes.withLock { $0.append((characteristic, value)) }
    }

    func notifications(_ characteristic: GATTUUID) async throws -> AsyncThrowingStream<[UInt8], any Error> {
        let (stream, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        streams.withLock { $0[characteristic] = continuation }
        return stream
    }

    func push(_ characteristic: GATTUUID, _ bytes: [UInt8]) {
        _ = streams.withLock { $0[characteristic] }?.yield(bytes)
    }

    /// The strap goes out of range: every stream ends with an error.
    func drop() {
        for continuation in streams.withLock({ Array($0.values) }) { continuation.finish(throwing: Dropped()) }
    }

    /// Waits until the driver wrote `count` values.
    func waitForWrites(_ count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(5)
        while writes.withLock({ $0.count }) < count {
            guard ContinuousClock.now < deadline else { throw Dropped() }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}

/// One PMD ECG notification, from the documented layout: type 0x00, uint64 LE timestamp (ns since 2000-01-01, last
/// sample), frame type 0x00, int24 LE samples in µV.
func pmdFrame(lastNanos: UInt64, _ samples: [Int32]) -> [UInt8] {
    var bytes: [UInt8] = [0x00]
    for index in 0..<8 { bytes.append(UInt8((lastNanos >> (8 * UInt64(index))) & 0xFF)) }
    bytes.append(0x00)
    for sample in samples {
        let raw = UInt32(bitPattern: sample) & 0xFF_FFFF
        bytes += [UInt8(raw & 0xFF), UInt8((raw >> 8) & 0xFF), UInt8(raw >> 16)]
    }
    return bytes
}

/// Collects what a driver emits.
final class EventLog: Sendable {
    let events = Mutex<[GATTMeasurementDriver.Event]>([])

    func append(_ event: GATTMeasurementDriver.Event) {
        events.withLock { $0.append(event) }
    }

    var chunks: [WaveformChunk] {
        events.withLock { $0 }.compactMap { if case .waveform(let chunk) = $0 { chunk } else { nil } }
    }
    var measurements: [BoothCore.Measurement] {
        events.withLock { $0 }.compactMap { if case .measurement(let value) = $0 { value } else { nil } }
    }
    var warnings: [String?] {
        events.withLock { $0 }.compactMap { if case .deviceWarning(let text) = $0 { .some(text) } else { nil } }
    }

    func wait(until done: @Sendable (EventLog) -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(5)
        while !done(self) {
            guard ContinuousClock.now < deadline else { throw ScriptedStrapLink.Dropped() }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}

@Suite(.timeLimit(.minutes(1))) struct PolarECGDriverTests {
    static let period = 1e9 / 130
    static let base: UInt64 = 800_000_000_000_000_000

    /// Frame `index` of 33 samples: timestamp of its last sample on a contiguous 130 Hz timeline.
    static func frame(_ index: Int, samples: [Int32]? = nil) -> [UInt8] {
        let values = samples ?? SyntheticECG(heartRate: 72).samples(from: index * 33, count: 33)
        return pmdFrame(lastNanos: base + UInt64((Double(index * 33 + 32) * period).rounded()), values)
    }

    private func start(_ link: ScriptedStrapLink, _ log: EventLog) -> Task<Void, any Error> {
        Task {
            try await PolarECGDriver().run(
                on: link,
                makeContext: {
                    MeasurementContext(
                        id: UUID().uuidString,
                        device: .init(id: "t", transport: "ble"),
                        receivedAtMicros: 1
                    )
                },
                emit: { log.append($0) }
            )
        }
    }

    @Test func documentedFrameBytesDecode() throws {
        // 00 | timestamp 1 s | 00 | +16 µV, −16 µV, +1000 µV
        let bytes: [UInt8] = [
            0x00, 0x00, 0xCA, 0x9A, 0x3B, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0xF0, 0xFF, 0xFF, 0xE8, 0x03,
            0x00,
        ]
        #expect(pmdFrame(lastNanos: 1_000_000_000, [16, -16, 1000]) == bytes)
        let frame = try PolarPMDECGFrame.decode(bytes)
        #expect(frame.timestampNanos == 1_000_000_000)
        #expect(frame.microvolts == [16, -16, 1000])
    }

    @Test func startsECGStreamsChunksWithGapsAndTurnsHeartRateIntoMeasurements() async throws {
        let link = ScriptedStrapLink()
        let log = EventLog()
        let task = start(link, log)
        try await link.waitForWrites(1)
        // The documented start command: ECG, 130 Hz, 14 bit.
        #expect(link.writes.withLock { $0[0].1 } == [0x02, 0x00, 0x00, 0x01, 0x82, 0x00, 0x01, 0x01, 0x0E, 0x00])
        #expect(link.writes.withLock { $0[0].0 } == PolarPMD.controlPoint)
        link.push(PolarPMD.controlPoint, [0xF0, 0x02, 0x00, 0x00, 0x00])
        // flags 0x16: contact supported and detected, RR present; HR 72; RR 0x0355 = 853/1024 s.
        link.push(HeartRateMeasurement.characteristic, [0x16, 72, 0x55, 0x03])
        for index in 0..<8 where index != 3 { link.push(PolarPMD.data, Self.frame(index)) }
        link.push(PolarPMD.data, Self.frame(6))  // a repeat: dropped
        try await log.wait { $0.chunks.count == 7 && $0.measurements.count == 1 }
        link.drop()
        await #expect(throws: ScriptedStrapLink.Dropped.self) { try await task.value }

        let chunks = log.chunks
        #expect(chunks.count == 8)  // 7 frames (one lost, one repeated), then the end marker
        #expect(chunks.prefix(7).allSatisfy { $0.samples.count == 33 && $0.sampleRateHz == 130 && !$0.end })
        #expect(chunks.first?.restart == true)
        #expect(chunks.dropFirst().allSatisfy { !$0.restart })
        #expect(chunks[3].gaps == [WaveformGap(beforeSample: 0, missing: 33)])  // frame 3 never arrived
        #expect(chunks.enumerated().allSatisfy { $0.offset == 3 || $0.element.gaps.isEmpty })
        #expect(chunks.last?.end == true && chunks.last?.samples.isEmpty == true)
        #expect(chunks.flatMap(\.rrIntervals1024) == [853])
        // Timeline continuity: each chunk starts where the previous one ended (gaps included).
        for (previous, next) in zip(chunks.prefix(6), chunks.dropFirst().prefix(6)) {
            let expected = Double(previous.startMicros) + Double(previous.timelineCount) * 1e6 / 130
            #expect(abs(Double(next.startMicros) - expected) <= 1)
        }
        let first = try #require(chunks.first)
        #expect(first.samples == SyntheticECG(heartRate: 72).samples(from: 0, count: 33))
        #expect(first.startMicros == (Int64(Self.base) + PolarPMD.epochOffsetSeconds * 1_000_000_000) / 1000)

        let measurement = try #require(log.measurements.first)
        #expect(measurement.kind == .heartRate)
        #expect(measurement.values.map(\.code) == [.heartRate, .rrInterval])
        #expect(measurement.values.first?.number == DecimalNumber(72))
        #expect(measurement.values.last?.number == DecimalNumber(mantissa: 853 * 9_765_625, exponent: -7))
        #expect(measurement.raw == [0x16, 72, 0x55, 0x03])
        #expect(log.warnings.isEmpty)
    }

    @Test func contactLostIsAWarningNotAMeasurement() async throws {
        let link = ScriptedStrapLink()
        let log = EventLog()
        let task = start(link, log)
        try await link.waitForWrites(1)
        link.push(PolarPMD.controlPoint, [0xF0, 0x02, 0x00, 0x00, 0x00])
        link.push(HeartRateMeasurement.characteristic, [0x04, 0x00])  // contact supported, not detected
        try await log.wait { $0.warnings.count == 1 }
        #expect(log.warnings == [PolarECGDriver.contactLostWarning])
        #expect(log.measurements.isEmpty)
        link.push(HeartRateMeasurement.characteristic, [0x06, 70])  // back on the skin
        try await log.wait { $0.warnings.count == 2 && $0.measurements.count == 1 }
        #expect(log.warnings == [PolarECGDriver.contactLostWarning, nil])
        #expect(log.measurements.first?.values.first?.number == DecimalNumber(70))
        task.cancel()
        _ = try? await task.value
    }

    @Test func flatLineIsAWarningUntilTheSignalReturns() async throws {
        let link = ScriptedStrapLink()
        let log = EventLog()
        let task = start(link, log)
        try await link.waitForWrites(1)
        link.push(PolarPMD.controlPoint, [0xF0, 0x02, 0x00, 0x00, 0x00])
        // 9 frames × 33 samples within 10 µV: more than 2 s of flat signal.
        for index in 0..<9 {
            link.push(PolarPMD.data, Self.frame(index, samples: (0..<33).map { Int32($0 % 10) }))
        }
        try await log.wait { $0.warnings.count == 1 }
        #expect(log.warnings == [PolarECGDriver.flatLineWarning])
        for index in 9..<18 { link.push(PolarPMD.data, Self.frame(index)) }
        try await log.wait { $0.warnings.count == 2 }
        #expect(log.warnings.last == .some(nil))
        task.cancel()
        _ = try? await task.value
    }

    @Test func refusedECGKeepsHeartRateAndSaysWhy() async throws {
        let link = ScriptedStrapLink()
        let log = EventLog()
        let task = start(link, log)
        try await link.waitForWrites(1)
        link.push(PolarPMD.controlPoint, [0xF0, 0x02, 0x00, 0x05, 0x00])  // error 5: invalid parameter
        link.push(HeartRateMeasurement.characteristic, [0x16, 72, 0x55, 0x03])
        try await log.wait { $0.measurements.count == 1 && !$0.warnings.isEmpty }
        #expect(log.warnings == ["ECG not available: the sensor refused to start ECG (invalid parameter)"])
        #expect(log.chunks.isEmpty)
        task.cancel()
        _ = try? await task.value
    }

    @Test func chunkerBoundsTheRateWhateverTheFrameSize() {
        var chunker = WaveformChunker(waveform: .ecg(lead: .unspecified, sampleRateHz: 130), minimumSeconds: 0.25)
        var chunks: [WaveformChunk] = []
        // 40 frames of 10 samples (77 ms each): chunks of ≥ 33 samples (4 frames), never more often.
        for index in 0..<40 {
            let last = Int64((Double(index * 10 + 9) * Self.period).rounded())
            if let chunk = chunker.append(
                Array(repeating: Int32(index), count: 10),
                lastSampleNanos: last,
                receivedAtMicros: 0
            ).chunk {
                chunks.append(chunk)
            }
        }
        #expect(chunks.count == 10)
        #expect(chunks.allSatisfy { $0.samples.count == 40 })
        chunker.addRR([900])
        let tail = chunker.finish(receivedAtMicros: 5)
        #expect(tail.map(\.end) == [false, true])
        #expect(tail.first?.rrIntervals1024 == [900] && tail.first?.samples.isEmpty == true)
    }
}
