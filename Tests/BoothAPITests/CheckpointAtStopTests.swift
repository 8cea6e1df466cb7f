import BoothCore
import BoothService
import Foundation
import GRDB
import Logging
import Testing

/// Graceful stop (issue 9): after the last write the outbox and usage databases are checkpointed with TRUNCATE,
/// so each main file holds everything and the -wal file is empty. (The daemon-level check, with SIGTERM, is
/// scripts/faults/graceful-stop.sh.)
@Suite struct CheckpointAtStopTests {
    private static func walSize(_ path: String) -> Int64 {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path + "-wal")
        return (attributes?[.size] as? NSNumber)?.int64Value ?? 0
    }

    @Test func theOutboxMainFileHoldsEverythingAfterTheCheckpoint() async throws {
        let directory = temporaryDirectory()
        let clock = TestClock()
        let outbox = openOutbox(directory, clock: clock)
        _ = try await outbox.startSession(id: "S1", contextRef: "ref")
        for index in 0..<50 { try await outbox.record(reading("m\(index)", at: clock.now)) }
        let path = (directory as NSString).appendingPathComponent(Outbox.fileName)
        #expect(Self.walSize(path) > 0)
        let report = try #require(try await outbox.checkpointAtStop())
        #expect(report.walBytesBefore > 0)
        #expect(report.walBytesAfter == 0 && Self.walSize(path) == 0)
        // The main file alone (copied without its -wal) has every reading.
        let copy = temporaryDirectory() + "/main-only.sqlite"
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        let count = try await DatabaseQueue(path: copy).read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM measurements")
        }
        #expect(count == 50)
    }

    @Test func theUsageDatabaseIsCheckpointedToo() async throws {
        let directory = temporaryDirectory()
        let clock = TestClock()
        let outbox = openOutbox(directory, clock: clock)
        _ = try await outbox.startSession(id: "S1", contextRef: "ref")
        let usage = UsageStatistics.open(directory: directory, logger: Logger(label: "test.usage"))
        #expect(try usage.apply(try await outbox.events(after: 0)) > 0)
        let path = (directory as NSString).appendingPathComponent(UsageStatistics.fileName)
        #expect(Self.walSize(path) > 0)
        let report = try #require(try await usage.checkpointAtStop())
        #expect(report.walBytesBefore > 0 && report.walBytesAfter == 0 && Self.walSize(path) == 0)
    }
}
