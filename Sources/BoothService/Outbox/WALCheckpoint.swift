import Foundation
import GRDB

/// What a checkpoint at stop did to one database, for the stop log line and the tests.
public struct WALCheckpointReport: Sendable, Equatable {
    /// Size of the `-wal` file before (all its pages are now in the main file).
    public var walBytesBefore: Int64
    /// Size of the `-wal` file afterwards (0 or absent after a complete TRUNCATE checkpoint).
    public var walBytesAfter: Int64
    public var milliseconds: Double
}

/// Graceful stop: the WAL is copied into the main file and truncated (`PRAGMA wal_checkpoint(TRUNCATE)`), so a
/// stopped booth's database is one self-contained file (a backup, a copy for support, or a main file damaged
/// while stopped is then seen as such, not hidden behind WAL pages).
enum WALCheckpoint {
    static func walSize(_ path: String) -> Int64 {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path + "-wal")
        return (attributes?[.size] as? NSNumber)?.int64Value ?? 0
    }

    static func truncate(_ pool: DatabasePool, path: String) async throws -> WALCheckpointReport {
        let started = ContinuousClock.now
        let before = walSize(path)
        try await pool.writeWithoutTransaction { db in
            _ = try db.checkpoint(.truncate)
        }
        let elapsed = ContinuousClock.now - started
        return WALCheckpointReport(
            walBytesBefore: before,
            walBytesAfter: walSize(path),
            milliseconds: Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
        )
    }
}

extension Outbox {
    /// Checkpoints the outbox at graceful stop, after the last write (nil when the database is not open).
    public func checkpointAtStop() async throws -> WALCheckpointReport? {
        guard let pool else { return nil }
        return try await WALCheckpoint.truncate(
            pool,
            path: (directory as NSString).appendingPathComponent(Self.fileName)
        )
    }
}
