import Logging
import ServiceLifecycle

/// Pings the systemd watchdog at half of `WATCHDOG_USEC` while the daemon runs, and says STOPPING on
/// graceful shutdown. It only pings while `healthCheck` answers true, so a wedged daemon gets restarted.
public struct WatchdogService: Service {
    let notifier: SystemdNotifier
    let interval: Duration?
    let logger: Logger
    let healthCheck: @Sendable () async -> Bool

    public init(
        notifier: SystemdNotifier,
        interval: Duration?,
        logger: Logger,
        healthCheck: @escaping @Sendable () async -> Bool = { true }
    ) {
        self.notifier = notifier
        self.interval = interval
        self.logger = logger
        self.healthCheck = healthCheck
    }

    public func run() async throws {
        defer { try? notifier.stopping(status: "stopping") }
        guard let interval else {
            // No watchdog configured for this process: nothing to do until shutdown.
            try? await gracefulShutdown()
            return
        }
        // The sleep is cancelled as soon as graceful shutdown starts, so SIGTERM is not delayed by an interval.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                if await healthCheck() {
                    do {
                        try notifier.watchdog()
                    } catch {
                        logger.warning("watchdog ping failed", metadata: ["error": "\(error)"])
                    }
                } else {
                    logger.error("health check failed; not pinging the watchdog")
                }
                try await Task.sleep(for: interval)
            }
        }
    }
}
