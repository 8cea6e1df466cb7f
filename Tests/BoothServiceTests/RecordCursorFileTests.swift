import BoothCore
import BoothService
import Foundation
import Testing

@Suite struct RecordCursorFileTests {
    @Test func cursorsSurviveARestartPerDevice() async throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("cursors-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = RecordCursorFile(directory: directory)
        #expect(await first.lastSequence(device: "ble:00:AA:01:00:00:00") == nil)
        await first.setLastSequence(3, device: "ble:00:AA:01:00:00:00")
        await first.setLastSequence(0xFFFE, device: "ble:C0:26:DA:01:02:03")
        let restarted = RecordCursorFile(directory: directory)
        #expect(await restarted.lastSequence(device: "ble:00:AA:01:00:00:00") == 3)
        #expect(await restarted.lastSequence(device: "ble:C0:26:DA:01:02:03") == 0xFFFE)
        let text = try String(contentsOfFile: restarted.path, encoding: .utf8)
        #expect(text.contains("\"ble:00:AA:01:00:00:00\" : 3"))
    }

    @Test func deliveredRecordsWithoutSequenceNumbersSurviveARestart() async throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("cursors-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let time = DeviceTimestamp(year: 2026, month: 11, day: 25, hour: 21, minute: 30, second: 3)
        let bytes: [UInt8] = [0x1E, 0x7B, 0x00, 0x50, 0x00]
        let first = RecordCursorFile(directory: directory)
        var known = await first.deliveredRecords(device: "ble:00:5F:BA:00:00:01")
        #expect(known.entries.isEmpty)
        known.insert(time: time, raw: bytes)
        await first.setDeliveredRecords(known, device: "ble:00:5F:BA:00:00:01")
        let restarted = RecordCursorFile(directory: directory)
        let read = await restarted.deliveredRecords(device: "ble:00:5F:BA:00:00:01")
        #expect(read == known && read.contains(time: time, raw: bytes))
        #expect(await restarted.deliveredRecords(device: "ble:00:5F:BA:00:00:02").entries.isEmpty)
        // The sequence cursors' file is another one, untouched.
        #expect(!FileManager.default.fileExists(atPath: restarted.path))
        let text = try String(contentsOfFile: restarted.deliveredPath, encoding: .utf8)
        #expect(text.contains(DeliveredRecords.digest(bytes)))
    }

    @Test func unreadableFileStartsEmpty() async throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("cursors-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = RecordCursorFile(directory: directory)
        try Data("not json".utf8).write(to: URL(fileURLWithPath: store.path))
        #expect(await store.lastSequence(device: "ble:00:AA:01:00:00:00") == nil)
    }
}
