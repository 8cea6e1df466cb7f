import BoothCore
import BoothService
import Foundation

/// The session protocol's version; a client announcing another one is refused with close code 4400.
public enum SessionProtocol {
    public static let version = 1

    /// Close codes (4000–4999 are the application range of RFC 6455).
    public enum CloseCode {
        public static let badHello = 4400
        public static let unauthorized = 4401
        public static let forbiddenOrigin = 4403
        public static let helloTimeout = 4408
        /// The client let more than `api.client_queue_bytes` of replies pile up unread.
        public static let notReading = 4429
        public static let flood = 1008
        /// boothd is stopping.
        public static let goingAway = 1001
        public static let tooManyClients = 1013
    }

    public static let commands = [
        "session.start", "session.end", "session.current", "measurement.assign", "measurement.discard",
        "measurements.pending", "devices.list", "measurement.start", "measurement.stop", "snapshot.take",
        "camera.control", "device.forget", "artifact.assign", "artifact.discard", "artifacts.pending",
        "status", "usage", "readiness", "measurement.manual",
        "ecg.strip", "waveform.subscribe", "waveform.unsubscribe",
        "stethoscope.level", "stethoscope.mode",
    ]

    public static let eventTypes = [
        "measurement", "measurement.assigned", "measurement.discarded", "session.started", "session.ended",
        "artifact", "artifact.assigned", "artifact.discarded", "readiness.report",
    ]
}

/// A client message that was understood.
enum Inbound {
    case hello(token: String?, clientID: String, version: Int, resumeAfter: Int64?)
    case ack(upTo: Int64)
    case command(id: String, name: String, params: [String: JSONValue])
    case ping(id: String?)
    /// `webrtc.*` signaling (SessionConnection+WebRTC.swift).
    case webrtc(type: String, body: [String: JSONValue])
}

/// Why a client message was not understood, sent back as an `error` message.
struct WireError: Error {
    var code: String
    var message: String
    var requestID: String?

    init(_ code: String, _ message: String, requestID: String? = nil) {
        self.code = code
        self.message = message
        self.requestID = requestID
    }
}

enum Wire {
    static func parse(_ text: String) throws(WireError) -> Inbound {
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        } catch {
            throw WireError("malformed_json", "the message is not valid JSON")
        }
        guard case .object(let message) = value else {
            throw WireError("invalid_message", "a message must be a JSON object")
        }
        guard let type = message["type"]?.string else {
            throw WireError("invalid_message", "the message has no \"type\" string")
        }
        switch type {
        case "hello":
            guard let clientID = message["clientId"]?.string, isValidClientID(clientID) else {
                throw WireError("invalid_message", "hello needs \"clientId\": 1 to 64 characters of A-Z a-z 0-9 . _ -")
            }
            guard let version = message["protocol"]?.int64 else {
                throw WireError(
                    "invalid_message",
                    "hello needs \"protocol\" (this server speaks \(SessionProtocol.version))"
                )
            }
            return .hello(
                token: message["token"]?.string,
                clientID: clientID,
                version: Int(clamping: version),
                resumeAfter: message["resumeAfter"]?.int64
            )
        case "ack":
            guard let upTo = message["upTo"]?.int64, upTo >= 0 else {
                throw WireError("invalid_message", "ack needs \"upTo\": the id of the last event handled")
            }
            return .ack(upTo: upTo)
        case "command":
            guard let id = message["id"]?.string, !id.isEmpty, id.count <= 128 else {
                throw WireError("invalid_message", "command needs a request \"id\" string (1 to 128 characters)")
            }
            guard let name = message["command"]?.string else {
                throw WireError("invalid_message", "command needs a \"command\" name", requestID: id)
            }
            switch message["params"] {
            case nil, .null: return .command(id: id, name: name, params: [:])
            case .object(let params): return .command(id: id, name: name, params: params)
            default: throw WireError("invalid_message", "\"params\" must be an object", requestID: id)
            }
        case "ping":
            return .ping(id: message["id"]?.string)
        case let webrtc where webrtc.hasPrefix("webrtc."):
            return .webrtc(type: webrtc, body: message)
        default:
            throw WireError(
                "unknown_type",
                "unknown message type \"\(type.prefix(64))\" (known: hello, ack, command, ping, webrtc.*)"
            )
        }
    }

    /// A command's string parameter: nil when absent and optional; otherwise a non-empty string of at most 512
    /// characters, or an `invalid_params` error naming the command and the key.
    static func stringParam(
        _ params: [String: JSONValue],
        _ key: String,
        command: String,
        required: Bool = true
    ) throws(WireError) -> String? {
        let value = params[key]
        if value == nil || value == .null, !required { return nil }
        guard let text = value?.string, !text.isEmpty, text.count <= 512 else {
            throw WireError(
                "invalid_params",
                "\(command) needs \"\(key)\": a non-empty string of at most 512 characters"
            )
        }
        return text
    }

    static func isValidClientID(_ id: String) -> Bool {
        !id.isEmpty && id.count <= 64
            && id.unicodeScalars.allSatisfy {
                CharacterSet.alphanumerics.contains($0) && $0.isASCII || $0 == "." || $0 == "_" || $0 == "-"
            }
    }

    /// JSON text of a string, or `null`.
    static func string(_ text: String?) -> String {
        guard let text else { return "null" }
        guard let data = try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes]) else {
            return "null"
        }
        // ["…"] → "…"
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }

    static func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }

    static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\(string($0.0)):\($0.1)" }.joined(separator: ",") + "}"
    }

    static func event(_ event: StoredEvent) -> String {
        "{\"type\":\"event\",\"id\":\(event.id),\"event\":\(string(event.type)),\"at\":\(event.createdAtMicros),"
            + "\"sessionId\":\(string(event.sessionID)),\"data\":\(event.payload)}"
    }

    static func error(_ error: WireError) -> String {
        object([
            ("type", string("error")), ("id", string(error.requestID)), ("code", string(error.code)),
            ("message", string(error.message)),
        ])
    }

    static func result(id: String, data: String) -> String {
        object([("type", string("result")), ("id", string(id)), ("ok", "true"), ("data", data)])
    }

    static func session(_ session: SessionInfo?) -> String {
        guard let session else { return "null" }
        return encode(session)
    }

    static func storage(_ state: StorageState) -> String {
        object([("state", string(state.name)), ("reason", string(state.reason))])
    }

    static func device(_ change: DeviceChange) -> String {
        switch change {
        case .updated(let status):
            object([("type", string("device")), ("device", encode(status))])
        case .removed(let id):
            object([("type", string("device.removed")), ("deviceId", string(id))])
        }
    }
}

/// Any JSON value, decoded strictly (a number is never a boolean).
enum JSONValue: Decodable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    var int64: Int64? {
        guard case .number(let number) = self, number.rounded() == number, abs(number) < 9e15 else { return nil }
        return Int64(number)
    }

    /// Text of a scalar (for device command arguments).
    var scalarText: String? {
        switch self {
        case .string(let text): text
        case .number(let number):
            number.rounded() == number && abs(number) < 9e15 ? String(Int64(number)) : String(number)
        case .bool(let flag): flag ? "true" : "false"
        default: nil
        }
    }
}
