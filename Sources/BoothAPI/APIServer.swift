import BoothCore
import BoothService
import Hummingbird
import Logging

/// The loopback HTTP/WebSocket listener the kiosk page, the nurse app and `boothctl` talk to.
public enum APIServer {
    /// Builds the application. `onReady` runs once the socket is listening (boothd sends READY=1 then).
    public static func makeApplication(
        config: BoothConfig,
        logger: Logger,
        onReady: @escaping @Sendable () async -> Void
    ) -> some ApplicationProtocol {
        let router = Router()
        router.get("healthz") { _, _ -> String in
            "{\"status\":\"ok\",\"version\":\"\(BoothVersion.string)\"}"
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(config.api.host, port: config.api.port), serverName: "boothd"),
            onServerRunning: { _ in await onReady() },
            logger: logger
        )
    }
}
