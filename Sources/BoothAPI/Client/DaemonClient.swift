import BoothCore
import BoothService
import Foundation

/// Where boothd listens for `boothctl`.
public enum DaemonEndpoint: Sendable, Equatable, CustomStringConvertible {
    case unix(path: String)
    case tcp(host: String, port: Int)

    /// The unix socket when `api.unix_socket` is set, else the TCP listener.
    public init(config: BoothConfig) {
        self =
            config.api.unixSocket.isEmpty
            ? .tcp(host: config.api.host, port: config.api.port) : .unix(path: config.api.unixSocket)
    }

    var hostHeader: String {
        switch self {
        case .unix: "localhost"
        case .tcp(let host, let port): "\(host):\(port)"
        }
    }

    public var description: String {
        switch self {
        case .unix(let path): "unix:\(path)"
        case .tcp(let host, let port): "ws://\(host):\(port)/ws"
        }
    }
}

/// Why `boothctl` could not talk to boothd, in words a technician can act on.
public enum DaemonClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Nothing listens: the daemon is stopped (the detail names the socket or port).
    case notRunning(String)
    case permissionDenied(String)
    case noToken(String)
    case refused(code: Int, reason: String)
    case commandFailed(code: String, message: String)
    case timeout(String)
    case connectionLost(String)
    case protocolError(String)
    case io(String)

    public var description: String {
        switch self {
        case .notRunning(let detail): "boothd is not running (\(detail))"
        case .permissionDenied(let detail): detail
        case .noToken(let detail): detail
        case .refused(let code, let reason): "boothd refused the connection (\(code)): \(reason)"
        case .commandFailed(let code, let message): "\(code): \(message)"
        case .timeout(let detail): "timed out: \(detail)"
        case .connectionLost(let detail): "connection to boothd lost: \(detail)"
        case .protocolError(let detail): "unexpected answer from boothd: \(detail)"
        case .io(let detail): detail
        }
    }
}

/// A message boothd pushed that is not the answer to a command.
public enum DaemonPush: Sendable {
    /// A durable event: `event` is its type, `data` its JSON text.
    case event(id: Int64, event: String, data: String)
    case devices([DeviceStatus])
    case device(DeviceStatus)
    case deviceRemoved(id: String)
    case other(type: String)
}

/// The session API as `boothctl` uses it: one connection, hello with the token from the token file,
/// commands answered in order. It never acknowledges events, so it never counts as a delivery for the
/// outbox's retention.
public final class DaemonClient {
    public let endpoint: DaemonEndpoint
    /// `server` of the welcome (e.g. `boothd 0.4.0`).
    public private(set) var server = ""
    /// The newest event id when the connection was made.
    public private(set) var lastEventID: Int64 = 0
    private let socket: RawWebSocket
    private var nextRequest = 0
    private var pushed: [DaemonPush] = []
    private let timeout: Duration

    /// Connects to boothd as configured and authenticates. `resumeAfter` is the event id after which events
    /// are wanted (nil: none of the stored ones).
    public init(
        config: BoothConfig,
        resumeAfter: Int64? = nil,
        timeout: Duration = .seconds(5)
    ) throws(DaemonClientError) {
        self.endpoint = DaemonEndpoint(config: config)
        self.timeout = timeout
        // Connect first: "not running" is the more useful message when both the daemon and the token are missing.
        socket = try RawWebSocket(endpoint: endpoint, tokenGroup: config.api.tokenGroup, timeout: timeout)
        let token = try Self.token(config: config)
        // Stored events are not wanted unless asked for: start past any id the daemon can have.
        let resume = resumeAfter ?? 8_000_000_000_000_000
        let hello =
            "{\"type\":\"hello\",\"protocol\":\(SessionProtocol.version),\"clientId\":\"boothctl-\(getpid())\","
            + "\"token\":\(Wire.string(token)),\"resumeAfter\":\(resume)}"
        try socket.send(hello)
        let deadline = ContinuousClock.now + timeout
        while true {
            guard let message = try socket.receive(until: deadline) else { throw .timeout("no welcome from boothd") }
            switch message {
            case .closed(let code, let reason): throw .refused(code: code, reason: reason)
            case .text(let text):
                guard let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(text.utf8)) else { continue }
                if envelope.type == "welcome" {
                    server = envelope.server ?? ""
                    lastEventID = envelope.lastEventId ?? 0
                    return
                }
                if envelope.type == "error" {
                    throw .commandFailed(code: envelope.code ?? "error", message: envelope.message ?? "")
                }
            }
        }
    }

    deinit {
        socket.close()
    }

    /// Reads the API token; a file the user may not read gets the group to join.
    static func token(config: BoothConfig) throws(DaemonClientError) -> String {
        let path = TokenFile.path(for: config)
        let manager = FileManager.default
        let directory = (path as NSString).deletingLastPathComponent
        // A state directory the user may not enter hides the file itself: same cause, same fix.
        let hidden =
            !manager.fileExists(atPath: path) && manager.fileExists(atPath: directory)
            && !manager.isExecutableFile(atPath: directory)
        if hidden || manager.fileExists(atPath: path) && !manager.isReadableFile(atPath: path) {
            throw .permissionDenied(
                "permission denied reading the token \(path): add yourself to group \(config.api.tokenGroup) "
                    + "(usermod -aG \(config.api.tokenGroup) $USER, then log in again)"
            )
        }
        do {
            guard let token = try TokenFile.read(path: path) else {
                throw DaemonClientError.noToken(
                    "no API token at \(path): boothd writes it at its first start (or run `boothctl token rotate`)"
                )
            }
            return token
        } catch let error as DaemonClientError {
            throw error
        } catch {
            throw .noToken("\(error)")
        }
    }

    private struct Envelope: Decodable {
        var type: String
        /// The request id of a result or error (an event's numeric id is not one).
        var id: String?
        var code: String?
        var message: String?
        var server: String?
        var lastEventId: Int64?

        enum CodingKeys: String, CodingKey { case type, id, code, message, server, lastEventId }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            type = try container.decode(String.self, forKey: .type)
            id = try? container.decodeIfPresent(String.self, forKey: .id)
            code = try? container.decodeIfPresent(String.self, forKey: .code)
            message = try? container.decodeIfPresent(String.self, forKey: .message)
            server = try? container.decodeIfPresent(String.self, forKey: .server)
            lastEventId = try? container.decodeIfPresent(Int64.self, forKey: .lastEventId)
        }
    }

    private struct ResultData<T: Decodable>: Decodable {
        var data: T
    }

    /// Sends a command and waits for its answer, keeping pushed messages for `nextPush`.
    public func command<T: Decodable>(
        _ name: String,
        params: [String: String] = [:],
        as type: T.Type
    ) throws(DaemonClientError) -> T {
        nextRequest += 1
        let id = "c\(nextRequest)"
        let fields = params.sorted { $0.key < $1.key }.map { (key: $0.key, value: Wire.string($0.value)) }
        let message = Wire.object([
            ("type", Wire.string("command")), ("id", Wire.string(id)), ("command", Wire.string(name)),
            ("params", Wire.object(fields.map { ($0.key, $0.value) })),
        ])
        try socket.send(message)
        let deadline = ContinuousClock.now + timeout
        while true {
            guard let reply = try socket.receive(until: deadline) else { throw .timeout("no answer to \(name)") }
            guard case .text(let text) = reply else {
                if case .closed(let code, let reason) = reply { throw .refused(code: code, reason: reason) }
                continue
            }
            let data = Data(text.utf8)
            guard let envelope = try? JSONDecoder().decode(Envelope.self, from: data) else {
                throw .protocolError(String(text.prefix(200)))
            }
            if envelope.id == id, envelope.type == "result" {
                do {
                    return try JSONDecoder().decode(ResultData<T>.self, from: data).data
                } catch {
                    throw .protocolError("\(name) answer: \(error)")
                }
            }
            if envelope.id == id, envelope.type == "error" {
                throw .commandFailed(code: envelope.code ?? "error", message: envelope.message ?? "")
            }
            if let push = Self.push(envelope.type, data) { pushed.append(push) }
        }
    }

    /// The next pushed message (event, device change), waiting until `deadline`; nil when it passes first.
    public func nextPush(until deadline: ContinuousClock.Instant) throws(DaemonClientError) -> DaemonPush? {
        if !pushed.isEmpty { return pushed.removeFirst() }
        while true {
            guard let message = try socket.receive(until: deadline) else { return nil }
            switch message {
            case .closed(let code, let reason): throw .refused(code: code, reason: reason)
            case .text(let text):
                let data = Data(text.utf8)
                guard let envelope = try? JSONDecoder().decode(Envelope.self, from: data) else { continue }
                if let push = Self.push(envelope.type, data) { return push }
            }
        }
    }

    private struct EventMessage: Decodable {
        var id: Int64
        var event: String
    }

    private struct DevicesMessage: Decodable {
        var devices: [DeviceStatus]
    }

    private struct DeviceMessage: Decodable {
        var device: DeviceStatus
    }

    private struct RemovedMessage: Decodable {
        var deviceId: String
    }

    static func push(_ type: String, _ data: Data) -> DaemonPush? {
        let decoder = JSONDecoder()
        switch type {
        case "event":
            guard let event = try? decoder.decode(EventMessage.self, from: data) else { return nil }
            return .event(id: event.id, event: event.event, data: Self.dataField(of: data) ?? "{}")
        case "devices":
            return (try? decoder.decode(DevicesMessage.self, from: data)).map { .devices($0.devices) }
        case "device":
            return (try? decoder.decode(DeviceMessage.self, from: data)).map { .device($0.device) }
        case "device.removed":
            return (try? decoder.decode(RemovedMessage.self, from: data)).map { .deviceRemoved(id: $0.deviceId) }
        case "result", "error", "welcome", "pong":
            return nil
        default:
            return .other(type: type)
        }
    }

    /// The `data` member of an event as JSON text.
    private static func dataField(of data: Data) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let inner = object["data"],
            let text = try? JSONSerialization.data(withJSONObject: inner)
        else { return nil }
        return String(decoding: text, as: UTF8.self)
    }
}
