import BoothService
import Logging

extension Daemon {
    /// After every service has stopped (the last write is done): checkpoint the outbox and usage databases so each
    /// is a single self-contained file with an empty WAL (docs/reliability.md, "Graceful stop").
    static func checkpointDatabases(outbox: Outbox, usage: UsageStatistics, logger: Logger) async {
        for (name, checkpoint) in [
            ("outbox", { try await outbox.checkpointAtStop() }),
            ("usage", { try await usage.checkpointAtStop() }),
        ] as [(String, () async throws -> WALCheckpointReport?)] {
            do {
                guard let report = try await checkpoint() else { continue }
                logger.info(
                    "database checkpointed at stop",
                    metadata: [
                        "database": "\(name)", "wal_bytes_before": "\(report.walBytesBefore)",
                        "wal_bytes_after": "\(report.walBytesAfter)",
                        "ms": "\(Int(report.milliseconds.rounded()))",
                    ]
                )
            } catch {
                // Nothing is lost: the WAL stays and SQLite replays it at the next start.
                logger.warning("checkpoint at stop failed", metadata: ["database": "\(name)", "error": "\(error)"])
            }
        }
    }
}
