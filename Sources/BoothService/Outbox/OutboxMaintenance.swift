import Logging
import ServiceLifecycle

/// Writes batched acks and runs the retention purge on a timer, for as long as boothd runs.
public struct OutboxMaintenance: Service {
    let outbox: Outbox
    let retentionHours: Double
    let logger: Logger
    let ackInterval: Duration
    let purgeInterval: Duration

    public init(
        outbox: Outbox,
        retentionHours: Double,
        logger: Logger,
        ackInterval: Duration = .milliseconds(250),
        purgeInterval: Duration? = nil
    ) {
        self.outbox = outbox
        self.retentionHours = retentionHours
        self.logger = logger
        self.ackInterval = ackInterval
        self.purgeInterval = purgeInterval ?? Self.purgeInterval(retentionHours: retentionHours)
    }

    /// Every 5 minutes, or 12 times per retention period when that is shorter (a short retention, as in the soak
    /// test or a privacy-strict site, is then honoured within a twelfth of itself), but never more than once a second.
    public static func purgeInterval(retentionHours: Double) -> Duration {
        let seconds = min(300, max(1, retentionHours * 3600 / 12))
        return .milliseconds(Int64(seconds * 1000))
    }

    public func run() async throws {
        var sincePurge = purgeInterval
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await outbox.flushAcks()
                if sincePurge >= purgeInterval {
                    sincePurge = .zero
                    let report = try await outbox.purge(retentionHours: retentionHours)
                    if report.events + report.measurements + report.sessions > 0 {
                        logger.notice(
                            "retention purge",
                            metadata: [
                                "events": "\(report.events)", "measurements": "\(report.measurements)",
                                "sessions": "\(report.sessions)", "audit_entries": "\(report.auditEntries)",
                            ]
                        )
                    }
                }
            } catch {
                // The outbox has already logged and switched state; keep the daemon up.
                logger.warning("outbox maintenance failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: ackInterval)
            sincePurge += ackInterval
        }
        try? await outbox.flushAcks()
    }
}
