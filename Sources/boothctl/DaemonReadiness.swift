import BoothAPI
import BoothService
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Asks the running boothd for its readiness check over the session API (the `readiness` command), within a few
/// seconds.
///
/// boothctl speaks the session WebSocket itself, on a plain socket, because the client libraries at hand always
/// send an `Origin` header, which boothd refuses unless it is in `api.allowed_origins` (browsers' cross-site
/// protection); a technician's tool sends none, like other local clients. The exchange is a handful of small
/// frames, run on its own thread with socket time limits.
enum DaemonReadiness {
    struct Answer {
        var url: String
        var durationMicros: Int64
        var eventID: Int64
        var report: ReadinessReport
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private struct Reply: Decodable {
        struct Data: Decodable {
            var durationMicros: Int64
            var eventId: Int64
            var report: ReadinessReport
        }
        var type: String
        var code: String?
        var message: String?
        var data: Data?
    }

    static func query(config: BoothConfig, timeoutSeconds: Int = 8) async throws -> Answer {
        let tokenPath = TokenFile.path(for: config)
        guard let token = try TokenFile.read(path: tokenPath) else {
            throw Failure(description: "no API token at \(tokenPath): boothd has not run here")
        }
        // A daemon listening on every address is still reached on loopback.
        let host = ["0.0.0.0", "::", ""].contains(config.api.host) ? "127.0.0.1" : config.api.host
        let port = config.api.port
        let url = "ws://\(host):\(port)/ws"
        let text: String = try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                do {
                    let socket = try PlainWebSocket(
                        host: host,
                        port: port,
                        token: token,
                        timeoutSeconds: timeoutSeconds
                    )
                    defer { socket.close() }
                    continuation.resume(returning: try socket.readinessAnswer(token: token))
                } catch {
                    continuation.resume(throwing: Failure(description: "boothd at \(url): \(error)"))
                }
            }
            thread.start()
        }
        let reply: Reply
        do {
            reply = try JSONDecoder().decode(Reply.self, from: Data(text.utf8))
        } catch {
            throw Failure(description: "boothd at \(url) sent an answer boothctl does not understand: \(error)")
        }
        guard reply.type == "result", let data = reply.data else {
            throw Failure(
                description:
                    "boothd at \(url) refused the readiness check: \(reply.code ?? "?"): \(reply.message ?? "")"
            )
        }
        return Answer(url: url, durationMicros: data.durationMicros, eventID: data.eventId, report: data.report)
    }
}

/// A minimal blocking WebSocket client (RFC 6455): upgrade, masked text frames out, text and close frames in.
private final class PlainWebSocket {
    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    private let descriptor: Int32
    private var buffer: [UInt8] = []

    init(host: String, port: Int, token: String, timeoutSeconds: Int) throws {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            throw Problem(description: "cannot resolve \(host)")
        }
        defer { freeaddrinfo(list) }
        descriptor = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard descriptor >= 0 else { throw Problem(description: "socket: \(String(cString: strerror(errno)))") }
        var limit = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        guard connect(descriptor, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(descriptor)
            throw Problem(description: "not reachable (\(reason))")
        }
        let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        try write(
            Array(
                ("GET /ws HTTP/1.1\r\nHost: \(host):\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n"
                    + "Authorization: Bearer \(token)\r\n\r\n").utf8
            )
        )
        var head: [UInt8] = []
        while !head.ends(with: [13, 10, 13, 10]) {
            head += try read(1)
            if head.count > 8192 { throw Problem(description: "the upgrade answer is too long") }
        }
        let status = String(decoding: head.prefix { $0 != 13 }, as: UTF8.self)
        guard status.hasPrefix("HTTP/1.1 101") else { throw Problem(description: "upgrade refused: \(status)") }
    }

    /// Sends hello and the `readiness` command; returns the text of the answer (result or error).
    func readinessAnswer(token: String) throws -> String {
        try send(
            json(["type": "hello", "protocol": SessionProtocol.version, "clientId": "boothctl-check", "token": token])
        )
        while true {
            let text = try receiveText()
            guard
                let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                let type = object["type"] as? String
            else { continue }
            if type == "welcome" {
                try send(json(["type": "command", "id": "check", "command": "readiness"]))
            } else if type == "result" || type == "error", object["id"] as? String == "check" {
                return text
            }
        }
    }

    func close() {
        // Close frame 1000 (masked), then the socket.
        try? frame(opcode: 0x8, payload: [0x03, 0xE8])
        Glibc.close(descriptor)
    }

    private func json(_ object: [String: any Sendable]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    private func send(_ text: String) throws {
        try frame(opcode: 0x1, payload: Array(text.utf8))
    }

    private func frame(opcode: UInt8, payload: [UInt8]) throws {
        var bytes: [UInt8] = [0x80 | opcode]
        switch payload.count {
        case 0..<126: bytes.append(0x80 | UInt8(payload.count))
        case 126...0xFFFF: bytes += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default: bytes += [0x80 | 127] + (0..<8).reversed().map { UInt8((payload.count >> ($0 * 8)) & 0xFF) }
        }
        // Client frames are masked (RFC 6455 5.3).
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        bytes += mask
        bytes += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        try write(bytes)
    }

    /// The next complete text message; a close frame ends the exchange with its code and reason.
    private func receiveText() throws -> String {
        var message: [UInt8] = []
        while true {
            let header = try read(2)
            let opcode = header[0] & 0x0F
            var length = Int(header[1] & 0x7F)
            if length == 126 {
                length = try read(2).reduce(0) { $0 << 8 | Int($1) }
            } else if length == 127 {
                length = try read(8).reduce(0) { $0 << 8 | Int($1) }
            }
            guard length <= 1 << 24 else { throw Problem(description: "a message of \(length) bytes is too big") }
            let payload = try read(length)
            switch opcode {
            case 0x8:
                let code = payload.count >= 2 ? Int(payload[0]) << 8 | Int(payload[1]) : 1005
                let reason = String(decoding: payload.dropFirst(2), as: UTF8.self)
                throw Problem(description: "closed the connection (\(code) \(reason))")
            case 0x1, 0x0:
                message += payload
                if header[0] & 0x80 != 0 { return String(decoding: message, as: UTF8.self) }
            default:
                continue  // ping, pong, binary: not part of this exchange
            }
        }
    }

    private func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, 0) }
            guard sent > 0 else { throw Problem(description: "send failed (\(String(cString: strerror(errno))))") }
            offset += sent
        }
    }

    private func read(_ count: Int) throws -> [UInt8] {
        while buffer.count < count {
            var chunk = [UInt8](repeating: 0, count: 4096)
            let received = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard received > 0 else {
                throw Problem(description: received == 0 ? "closed the connection" : "no answer in time")
            }
            buffer += chunk.prefix(received)
        }
        let result = Array(buffer.prefix(count))
        buffer.removeFirst(count)
        return result
    }
}

extension Array where Element == UInt8 {
    fileprivate func ends(with suffix: [UInt8]) -> Bool {
        count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix
    }
}
