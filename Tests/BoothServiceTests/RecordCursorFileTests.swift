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
