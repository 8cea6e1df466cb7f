import BoothCore
import BoothService
import Foundation
import Synchronization
import Testing

@testable import BoothAPI

@Suite struct WaveformWireTests {
    func chunk(_ samples: [Int32], end: Bool = false) -> WaveformChunk {
        WaveformChunk(
            code: ECGLead.II.potentialCode,
            label: "II",
            sampleRateHz: 130,
            unit: .microvolt,
            startMicros: 1_000_000,
            samples: samples,
            gaps: [WaveformGap(beforeSample: 1, missing: 4)],
            rrIntervals1024: [853],
            end: end,
            receivedAtMicros: 2_000_000
        )
    }

    @Test func feedNumbersChunksPerDeviceAndKeepsABoundedRing() {
        let feed = WaveformFeed(capacity: 3, streamID: "s1")
        for index in 1...5 { feed.publish(deviceID: "a", chunk([Int32(index)])) }
        feed.publish(deviceID: "b", chunk([9]))
        #expect(feed.lastSeq(deviceID: "a") == 5)
        #expect(feed.lastSeq(deviceID: "b") == 1)
        #expect(feed.lastSeq(deviceID: "none") == 0)
        let (items, first) = feed.items(deviceID: "a", after: 0)
        #expect(first == 3)
        #expect(items.map(\.seq) == [3, 4, 5])
        #expect(feed.items(deviceID: "a", after: 4).items.map(\.seq) == [5])
        #expect(feed.items(deviceID: "a", after: 5).items.isEmpty)
        #expect(feed.items(deviceID: "a", after: 3, limit: 1).items.map(\.seq) == [4])
        #expect(feed.deviceIDs == ["a", "b"])
    }

    @Test func aClientTooFarBehindIsToldHowManyChunksItMissed() {
        let feed = WaveformFeed(capacity: 3, streamID: "s1")
        for index in 1...6 { feed.publish(deviceID: "a", chunk([Int32(index)])) }
        // Last saw 1; the ring holds 4...6: 4 comes with skipped 2, then 5 and 6 contiguous.
        let behind = WaveformTap.batch(feed, deviceID: "a", after: 1, limit: 10)
        #expect(behind.map(\.item.seq) == [4, 5, 6])
        #expect(behind.map(\.skipped) == [2, 0, 0])
        // Up to date: nothing missed.
        let current = WaveformTap.batch(feed, deviceID: "a", after: 4, limit: 10)
        #expect(current.map(\.item.seq) == [5, 6] && current.allSatisfy { $0.skipped == 0 })
        #expect(WaveformTap.batch(feed, deviceID: "a", after: 4, limit: 1).map(\.item.seq) == [5])
        #expect(WaveformTap.batch(feed, deviceID: "a", after: 6, limit: 10).isEmpty)
    }

    @Test func listenersAreWokenOnPublishAndRemoved() {
        let feed = WaveformFeed()
        let count = Counter()
        let key = feed.addListener { count.add() }
        feed.publish(deviceID: "a", chunk([1]))
        feed.removeListener(key)
        feed.publish(deviceID: "a", chunk([2]))
        #expect(count.value == 1)
    }

    @Test func waveformMessageHasTheSchemaShape() throws {
        let item = WaveformItem(deviceID: "sim:ecg", seq: 7, chunk: chunk([10, -20]))
        let text = SessionConnection.waveformMessage(item, stream: "s1", skipped: 2)
        let object = try #require((try JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any])
        #expect(object["type"] as? String == "waveform")
        #expect(object["seq"] as? Int == 7 && object["skipped"] as? Int == 2 && object["stream"] as? String == "s1")
        #expect(object["samples"] as? [Int] == [10, -20])
        #expect((object["gaps"] as? [[String: Int]])?.first == ["beforeSample": 1, "missing": 4])
        #expect((object["code"] as? [String: Any])?["value"] as? Int == 131_330)
        #expect((object["unit"] as? [String: String]) == ["code": "uV"])
        #expect(object["rrIntervals1024"] as? [Int] == [853])
        #expect(object["restart"] as? Bool == false && object["end"] as? Bool == false)
        let required = [
            "type", "deviceId", "stream", "seq", "code", "label", "sampleRateHz", "unit", "scale", "origin",
            "startMicros", "receivedAtMicros", "samples", "gaps", "rrIntervals1024", "restart", "end",
        ]
        #expect(Set(object.keys) == Set(required + ["skipped"]))
        let plain = SessionConnection.waveformMessage(item, stream: "s1", skipped: 0)
        #expect(!plain.contains("skipped"))
    }
}

private final class Counter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
