import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small blocking WebSocket client (RFC 6455, text frames) over a unix socket or TCP, for `boothctl`.
///
/// The WebSocket client library only dials host:port, and boothctl's first choice is the daemon's unix socket;
/// this one is a few hundred lines with no event loop, which also keeps boothctl's start fast. It answers
/// pings, joins fragments and reports the server's close code and reason.
final class RawWebSocket {
    enum Message: Equatable {
        case text(String)
        case closed(code: Int, reason: String)
    }

    private let fd: Int32
    private var buffer: [UInt8] = []
    private var isClosed = false

    /// Connects and upgrades; `describe` names the endpoint in errors.
    init(endpoint: DaemonEndpoint, tokenGroup: String, timeout: Duration) throws(DaemonClientError) {
        fd = try Self.dial(endpoint, tokenGroup: tokenGroup)
        do {
            try handshake(host: endpoint.hostHeader, timeout: timeout)
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    /// Wraps an already connected and upgraded socket (tests drive the framing over a socket pair).
    init(connected fd: Int32) {
        self.fd = fd
    }

    deinit {
        Glibc.close(fd)
    }

    // MARK: connecting

    private static func dial(_ endpoint: DaemonEndpoint, tokenGroup: String) throws(DaemonClientError) -> Int32 {
        switch endpoint {
        case .unix(let path):
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw .io("socket(): \(String(cString: strerror(errno)))") }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
                Glibc.close(fd)
                throw .io("socket path too long: \(path)")
            }
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (index, byte) in bytes.enumerated() { raw[index] = byte }
                raw[bytes.count] = 0
            }
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            if result != 0 {
                let code = errno
                Glibc.close(fd)
                switch code {
                case ENOENT: throw .notRunning("no socket at \(path)")
                case ECONNREFUSED: throw .notRunning("nothing listens on \(path)")
                case EACCES, EPERM:
                    throw .permissionDenied(
                        "permission denied on the socket \(path): add yourself to group \(tokenGroup) "
                            + "(usermod -aG \(tokenGroup) $USER, then log in again)"
                    )
                default: throw .io("cannot connect to \(path): \(String(cString: strerror(code)))")
                }
            }
            return fd
        case .tcp(let host, let port):
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var list: UnsafeMutablePointer<addrinfo>?
            let status = getaddrinfo(host, String(port), &hints, &list)
            guard status == 0, let first = list else {
                throw .io("cannot resolve \(host): \(String(cString: gai_strerror(status)))")
            }
            defer { freeaddrinfo(list) }
            var lastError: Int32 = ECONNREFUSED
            var entry: UnsafeMutablePointer<addrinfo>? = first
            while let info = entry {
                let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
                if fd >= 0 {
                    if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return fd }
                    lastError = errno
                    Glibc.close(fd)
                }
                entry = info.pointee.ai_next
            }
            if lastError == ECONNREFUSED { throw .notRunning("nothing listens on \(host):\(port)") }
            throw .io("cannot connect to \(host):\(port): \(String(cString: strerror(lastError)))")
        }
    }

    private func handshake(host: String, timeout: Duration) throws(DaemonClientError) {
        var nonce: [UInt8] = []
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<16 { nonce.append(UInt8.random(in: 0...255, using: &generator)) }
        let request =
            "GET /ws HTTP/1.1\r\nHost: \(host)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(Data(nonce).base64EncodedString())\r\nSec-WebSocket-Version: 13\r\n"
            + "User-Agent: boothctl\r\n\r\n"
        try write(Array(request.utf8))
        let deadline = ContinuousClock.now + timeout
        let terminator: [UInt8] = [13, 10, 13, 10]
        while true {
            if let end = Self.find(terminator, in: buffer) {
                let head = String(decoding: buffer[..<end], as: UTF8.self)
                buffer.removeFirst(end + 4)
                let statusLine = head.split(separator: "\r\n").first.map(String.init) ?? ""
                guard statusLine.hasPrefix("HTTP/1.1 101") else {
                    throw .protocolError("the daemon refused the WebSocket upgrade: \(statusLine)")
                }
                return
            }
            guard try fill(until: deadline) else { throw .timeout("no answer to the WebSocket upgrade") }
        }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count)
        where haystack[start..<start + needle.count].elementsEqual(needle) {
            return start
        }
        return nil
    }

    // MARK: frames

    func send(_ text: String) throws(DaemonClientError) {
        try sendFrame(opcode: 1, payload: Array(text.utf8))
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        try? sendFrame(opcode: 8, payload: [0x03, 0xE8])
    }

    private func sendFrame(opcode: UInt8, payload: [UInt8]) throws(DaemonClientError) {
        var frame: [UInt8] = [0x80 | opcode]
        let count = payload.count
        if count < 126 {
            frame.append(0x80 | UInt8(count))
        } else if count <= 0xFFFF {
            frame.append(0x80 | 126)
            frame += [UInt8(count >> 8), UInt8(count & 0xFF)]
        } else {
            frame.append(0x80 | 127)
            for shift in stride(from: 56, through: 0, by: -8) {
                frame.append(UInt8((UInt64(count) >> UInt64(shift)) & 0xFF))
            }
        }
        // Client frames are masked (RFC 6455 §5.3).
        var generator = SystemRandomNumberGenerator()
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255, using: &generator) }
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        try write(frame)
    }

    /// The next text message or the close, waiting until `deadline`; nil when it passes first.
    func receive(until deadline: ContinuousClock.Instant) throws(DaemonClientError) -> Message? {
        var fragments: [UInt8] = []
        while true {
            guard let (fin, opcode, payload) = try nextFrame(until: deadline) else { return nil }
            switch opcode {
            case 0, 1, 2:
                fragments += payload
                if fin { return .text(String(decoding: fragments, as: UTF8.self)) }
            case 8:
                let code = payload.count >= 2 ? Int(payload[0]) << 8 | Int(payload[1]) : 1005
                let reason = payload.count > 2 ? String(decoding: payload[2...], as: UTF8.self) : ""
                if !isClosed {
                    isClosed = true
                    try? sendFrame(opcode: 8, payload: Array(payload.prefix(2)))
                }
                return .closed(code: code, reason: reason)
            case 9:
                try sendFrame(opcode: 10, payload: payload)
            default:
                continue
            }
        }
    }

    private func nextFrame(until deadline: ContinuousClock.Instant) throws(DaemonClientError) -> (Bool, UInt8, [UInt8])?
    {
        while true {
            if buffer.count >= 2 {
                let fin = buffer[0] & 0x80 != 0
                let opcode = buffer[0] & 0x0F
                let masked = buffer[1] & 0x80 != 0
                var length = Int(buffer[1] & 0x7F)
                var offset = 2
                var complete = true
                if length == 126 {
                    if buffer.count >= 4 { length = Int(buffer[2]) << 8 | Int(buffer[3]) } else { complete = false }
                    offset = 4
                } else if length == 127 {
                    if buffer.count >= 10 {
                        length = buffer[2..<10].reduce(0) { $0 << 8 | Int($1) }
                    } else {
                        complete = false
                    }
                    offset = 10
                }
                guard length <= 64 * 1024 * 1024 else { throw .protocolError("frame of \(length) bytes") }
                let maskOffset = offset
                if masked { offset += 4 }
                if complete, buffer.count >= offset + length {
                    var payload = Array(buffer[offset..<offset + length])
                    if masked {
                        let mask = Array(buffer[maskOffset..<maskOffset + 4])
                        payload = payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
                    }
                    buffer.removeFirst(offset + length)
                    return (fin, opcode, payload)
                }
            }
            guard try fill(until: deadline) else { return nil }
        }
    }

    // MARK: I/O

    /// Reads what is available into the buffer; false when the deadline passed with nothing to read.
    private func fill(until deadline: ContinuousClock.Instant) throws(DaemonClientError) -> Bool {
        let remaining = deadline - ContinuousClock.now
        let millis = max(
            0,
            remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000
        )
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, Int32(clamping: millis))
        if ready == 0 { return false }
        if ready < 0 {
            if errno == EINTR { return true }
            throw .io("poll: \(String(cString: strerror(errno)))")
        }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count == 0 { throw .connectionLost("the daemon closed the connection") }
        if count < 0 {
            if errno == EINTR || errno == EAGAIN { return true }
            throw .connectionLost("read failed: \(String(cString: strerror(errno)))")
        }
        buffer += chunk[0..<count]
        return true
    }

    private func write(_ bytes: [UInt8]) throws(DaemonClientError) {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .connectionLost("write failed: \(String(cString: strerror(errno)))")
            }
            sent += count
        }
    }
}
