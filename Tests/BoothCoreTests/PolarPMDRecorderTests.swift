import BoothCore
import Foundation
import Synchronization
import Testing

/// An in-memory H10: answers the PMD start command, then streams synthetic ECG frames and HR notifications.
final class FakeH10: GATTLink {
    struct Plan: Sendable {
        var heartRate: Double = 75
        var frames = 60
        var dropFrames: Set<Int> = []
        /// Ends the data stream with an error after this many frames (a disconnect mid-strip).
        var disconnectAfter: Int?
        var startError: UInt8 = 0
        var contactLostNotifications = 0
        var garbageFrameAt: Int?
    }

    let plan: Plan
    let streams = Mutex<[GATTUUID: AsyncThrowingStream<[UInt8], any Error>.Continuation]>([:])
    let writes = Mutex<[[UInt8]]>([])

    init(_ plan: Plan) {
        self.plan = plan
    }

    struct Disconnected: Error {}

    func read(_ characteristic: GATTUUID) async throws -> [UInt8] { [] }

    func notifications(_ characteristic: GATTUUID) async throws -> AsyncThrowingStream<[UInt8], any Error> {
        let (stream, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        streams.withLock { $0[characteristic] = continuation }
        return stream
    }

    func write(_ characteristic: GATTUUID, _ value: [UInt8], withResponse: Bool) async throws {
        writes.withLock { $0.append(value) }
        guard value == PolarPMD.startECG() else { return }
        let (control, data, hr) = streams.withLock {
            ($0[PolarPMD.controlPoint], $0[PolarPMD.data], $0[HeartRateMeasurement.characteristic])
        }
        control?.yield([0xf0, 0x02, 0x00, plan.startError, 0x00, 0x00])
        guard plan.startError == 0 else { return }
        let synthetic = SyntheticECG(heartRate: plan.heartRate, sampleRateHz: 130)
        for _ in 0..<plan.contactLostNotifications { hr?.yield([0x04, 0x00]) }
        for _ in 0..<Int(Double(plan.frames) * 73 / 130 / synthetic.beatPeriod) {
            hr?.yield(
                HeartRateMeasurement(
                    heartRate: Int(plan.heartRate),
                    sensorContact: .detected,
                    rrIntervals1024: [synthetic.rrInterval1024]
                ).encoded()
            )
        }
        let base: UInt64 = 600_000_000_000_000_000
        for index in 0..<plan.frames {
            if let limit = plan.disconnectAfter, index == limit {
                data?.finish(throwing: Disconnected())
                return
            }
            if index == plan.garbageFrameAt {
                data?.yield([0x00, 0x01, 0x02])
                continue
            }
            if plan.dropFrames.contains(index) { continue }
            let last = base + UInt64((Double(index * 73 + 72) * 1e9 / 130).rounded())
            data?.yield(
                PolarPMDECGFrame(timestampNanos: last, microvolts: synthetic.samples(from: index * 73, count: 73))
                    .encoded()
            )
        }
    }
}

@Suite struct PolarPMDRecorderTests {
    let device = DeviceIdentity(id: "ble:A0:9E:1A:00:00:01", transport: "ble", model: "H10", manufacturer: "Polar")

    @Test func recordsThirtySecondsWithMeanHeartRate() async throws {
        let link = FakeH10(.init(heartRate: 75, frames: 60))
        let result = try await PolarPMDRecorder(link: link, device: device).record(seconds: 30, timeout: .seconds(20))
        let lead = try #require(result.recording.leads.first)
        #expect(lead.timelineCount >= 3900)
        #expect(lead.timelineCount < 3900 + 73)
        #expect(!lead.incomplete)
        #expect(lead.gaps.isEmpty)
        #expect(abs((result.recording.meanHeartRateFromRR ?? 0) - 75) < 0.1)
        #expect(link.writes.withLock { $0 } == [PolarPMD.startECG(), PolarPMD.stopECG])
    }

    @Test func disconnectKeepsThePartialStripMarkedIncomplete() async throws {
        let link = FakeH10(.init(frames: 60, dropFrames: [4], disconnectAfter: 20))
        let result = try await PolarPMDRecorder(link: link, device: device).record(seconds: 30, timeout: .seconds(20))
        let lead = try #require(result.recording.leads.first)
        #expect(lead.incomplete)
        #expect(result.recording.incomplete)
        #expect(lead.samples.count == 19 * 73)
        #expect(lead.gaps == [WaveformGap(beforeSample: 4 * 73, missing: 73)])
    }

    @Test func timeoutEndsARecordingThatStalls() async throws {
        // Only 10 frames ever arrive and the link stays up: the timeout ends it, incomplete, samples kept.
        let link = FakeH10(.init(frames: 10))
        let result = try await PolarPMDRecorder(link: link, device: device).record(
            seconds: 30,
            timeout: .milliseconds(300)
        )
        let lead = try #require(result.recording.leads.first)
        #expect(lead.incomplete)
        #expect(lead.samples.count == 730)
    }

    @Test func refusalAndBadFramesAreReported() async throws {
        await #expect(throws: PolarPMDError.self) {
            try await PolarPMDRecorder(link: FakeH10(.init(startError: 5)), device: device).record(seconds: 1)
        }
        let link = FakeH10(.init(frames: 60, contactLostNotifications: 2, garbageFrameAt: 3))
        let result = try await PolarPMDRecorder(link: link, device: device).record(seconds: 5, timeout: .seconds(20))
        #expect(result.rejectedFrames.count == 1)
        #expect(result.rejectedFrames.first?.field == "timestamp")
        #expect(result.contactLostNotifications == 2)
        // The garbage frame's time is a gap found from the next frame's timestamp.
        #expect(result.recording.leads.first?.gaps == [WaveformGap(beforeSample: 3 * 73, missing: 73)])
    }
}
