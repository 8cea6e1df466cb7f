import BoothCore
import BoothService
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import Prometheus
import ServiceLifecycle

/// The loopback HTTP/WebSocket listener the kiosk page, the nurse app and `boothctl` talk to.
///
/// - `GET /ws`: the session WebSocket (docs/api/README.md). A connection whose upgrade request carries an
///   `Origin` outside `api.allowed_origins` (a page from another site in the kiosk browser) is closed with 4403
///   before anything is exchanged; a wrong `Authorization: Bearer` header gives 4401. Browsers cannot set
///   headers, so the token may instead come in the first message (`hello`).
/// - `GET /healthz`: liveness.
/// - `GET /`: the sample kiosk page, when `api.serve_web` is on.
public enum APIServer {
    /// Builds the TCP application, and the unix-socket one when `api.unix_socket` is set.
    /// `onReady` runs once the TCP socket is listening (boothd sends READY=1 then).
    public static func makeApplications(
        config: BoothConfig,
        hub: SessionHub,
        logger: Logger,
        preview: (@Sendable () -> AsyncStream<[UInt8]>)? = nil,
        onReady: @escaping @Sendable () async -> Void
    ) -> [any Service] {
        var services: [any Service] = [
            makeApplication(
                config: config,
                hub: hub,
                address: .hostname(config.api.host, port: config.api.port),
                logger: logger,
                preview: preview,
                onReady: onReady
            )
        ]
        if !config.api.unixSocket.isEmpty {
            let path = config.api.unixSocket
            // A stale socket file from a killed boothd would make bind fail.
            try? FileManager.default.removeItem(atPath: path)
            services.append(
                makeApplication(
                    config: config,
                    hub: hub,
                    address: .unixDomainSocket(path: path),
                    logger: logger,
                    preview: preview
                ) {
                    // Local clients in the kiosk group may connect; others may not.
                    try? FileManager.default.setAttributes([.posixPermissions: 0o660], ofItemAtPath: path)
                    if !config.api.tokenGroup.isEmpty {
                        try? FileManager.default.setAttributes(
                            [.groupOwnerAccountName: config.api.tokenGroup],
                            ofItemAtPath: path
                        )
                    }
                }
            )
        }
        return services
    }

    static func makeApplication(
        config: BoothConfig,
        hub: SessionHub,
        address: BindAddress,
        logger: Logger,
        preview: (@Sendable () -> AsyncStream<[UInt8]>)? = nil,
        onReady: @escaping @Sendable () async -> Void
    ) -> some Service {
        let guardian = HandshakeGuard(allowedOrigins: config.api.allowedOrigins, verifier: hub.verifier)
        let router = Router(context: BasicWebSocketRequestContext.self)
        if config.api.serveWeb, let directory = webDirectory(config) {
            router.middlewares.add(FileMiddleware(directory, searchForIndexHtml: true, logger: logger))
        }
        if let preview {
            PreviewRoute.add(to: router, verifier: hub.verifier, frames: preview)
        }
        ArtifactRoute.add(to: router, verifier: hub.verifier, outbox: hub.outbox)
        if config.metrics.enabled {
            MetricsRoute.add(to: router, registry: PrometheusMetricsFactory.defaultRegistry)
        }
        router.get("healthz") { _, _ -> Response in
            let body = Wire.object([
                ("status", Wire.string("ok")), ("version", Wire.string(BoothVersion.string)),
                ("storage", Wire.storage(hub.outbox.storageState)), ("clients", "\(hub.connectionCount)"),
            ])
            return jsonResponse(.ok, body)
        }
        // Reached only when the upgrade was refused: say why, in plain words.
        router.get("ws") { request, _ -> Response in
            switch guardian.check(request) {
            case .failure(let refusal): jsonResponse(refusal.status, refusal.body)
            case .success:
                jsonResponse(
                    .upgradeRequired,
                    Wire.object([
                        ("error", Wire.string("upgrade_required")),
                        ("message", Wire.string("connect with a WebSocket client")),
                    ])
                )
            }
        }

        let webSocketRouter = Router(context: SessionRequestContext.self)
        // The upgrade is always accepted so that a refusal can carry a close code and a reason (a refused
        // upgrade only gives the client a bare HTTP 400); a refused connection is closed before anything is read
        // or sent.
        webSocketRouter.ws(
            "ws",
            onUpgrade: { inbound, outbound, context in
                let refusal: HandshakeGuard.Refusal?
                switch guardian.check(context.request) {
                case .success: refusal = nil
                case .failure(let reason):
                    hub.logger.warning("session connection refused", metadata: ["reason": "\(reason.code)"])
                    refusal = reason
                }
                await SessionConnection(
                    hub: hub,
                    inbound: inbound,
                    outbound: outbound,
                    preAuthenticated: HandshakeGuard.bearer(context.request) != nil && refusal == nil,
                    channel: context.requestContext.channel
                ).run(refusal: refusal)
            }
        )
        return Application(
            router: router,
            server: .http1WebSocketUpgrade(
                webSocketRouter: webSocketRouter,
                configuration: .init(
                    ws: .init(maxFrameSize: config.api.maxFrameBytes, autoPing: .enabled(timePeriod: .seconds(20)))
                )
            ),
            configuration: .init(address: address, serverName: "boothd"),
            onServerRunning: { _ in await onReady() },
            logger: logger
        )
    }

    /// `api.web_directory`, or `web/` in the current directory when running from a source checkout.
    static func webDirectory(_ config: BoothConfig) -> String? {
        for candidate in [config.api.webDirectory, FileManager.default.currentDirectoryPath + "/web"] {
            if FileManager.default.fileExists(atPath: candidate + "/index.html") { return candidate }
        }
        return nil
    }

    static func jsonResponse(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: body))
        )
    }
}

/// The checks made on the upgrade request.
struct HandshakeGuard: Sendable {
    struct Refusal: Error {
        var status: HTTPResponse.Status
        var closeCode: Int
        var code: String
        var message: String
        var body: String {
            Wire.object([("error", Wire.string(code)), ("message", Wire.string(message))])
        }
    }

    let allowedOrigins: Set<String>
    let verifier: TokenVerifier

    init(allowedOrigins: [String], verifier: TokenVerifier) {
        self.allowedOrigins = Set(allowedOrigins.map { $0.lowercased() })
        self.verifier = verifier
    }

    func check(_ request: Request) -> Result<Void, Refusal> {
        // Browsers always send Origin on a WebSocket upgrade; clients that are not browsers may omit it.
        if let origin = request.headers[.origin], !allowedOrigins.contains(origin.lowercased()) {
            return .failure(
                Refusal(
                    status: .forbidden,
                    closeCode: SessionProtocol.CloseCode.forbiddenOrigin,
                    code: "origin_not_allowed",
                    message: "origin \(origin.prefix(100)) is not in api.allowed_origins"
                )
            )
        }
        if let token = Self.bearer(request), !verifier.verify(token) {
            return .failure(
                Refusal(
                    status: .unauthorized,
                    closeCode: SessionProtocol.CloseCode.unauthorized,
                    code: "invalid_token",
                    message: "invalid bearer token"
                )
            )
        }
        return .success(())
    }

    static func bearer(_ request: Request) -> String? {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
            return nil
        }
        return String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    }
}
