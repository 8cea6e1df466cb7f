import BoothAPI
import BoothCore
import BoothService
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// Wires the services together and runs them until SIGTERM/SIGINT.
struct Daemon {
    let config: BoothConfig
    let environment: [String: String]

    func run() async throws {
        let style: BoothLogHandler.Style =
            switch config.logging.format {
            case .journald: .journald
            case .text: .text
            case .auto: environment["JOURNAL_STREAM"] == nil ? .text : .journald
            }
        let level = Logger.Level(rawValue: config.logging.level.rawValue) ?? .info
        LoggingSystem.bootstrap { label in
            BoothLogHandler(label: label, level: level, style: style, sink: BoothLogHandler.standardError)
        }
        let logger = Logger(label: "boothd")
        let notifier = SystemdNotifier(environment: environment)
        let startedAt = ContinuousClock.now
        let apiURL = "http://\(config.api.host):\(config.api.port)"

        let api = APIServer.makeApplication(config: config, logger: Logger(label: "boothd.api")) {
            let elapsed = ContinuousClock.now - startedAt
            logger.notice(
                "boothd ready",
                metadata: [
                    "websocket": "\(apiURL.replacingOccurrences(of: "http", with: "ws"))/ws",
                    "metrics": "\(apiURL)/metrics",
                    "startup_ms":
                        "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)",
                ]
            )
            do {
                try notifier.ready(status: "listening on \(apiURL)")
            } catch {
                logger.error("sd_notify READY failed", metadata: ["error": "\(error)"])
            }
        }
        let watchdog = WatchdogService(
            notifier: notifier,
            interval: SystemdNotifier.watchdogInterval(environment: environment),
            logger: Logger(label: "boothd.watchdog")
        )
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: api),
                    .init(service: watchdog),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
        logger.notice("boothd stopped")
    }
}
