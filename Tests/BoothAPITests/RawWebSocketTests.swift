import Foundation
import Testing

@testable import BoothAPI

#if canImport(Glibc)
import Glibc
#endif

/// boothctl's WebSocket framing against hand-written server frames over a socket pair: 16- and 64-bit lengths,
/// fragments, ping answered with a masked pong, the close code and reason, and masked client frames.
@Suite struct RawWebSocketTests {
    private func pair() throws -> (client: RawWebSocket, server: Int32) {
        var fds: [Int32] = [0, 0]
        let result = fds.withUnsafeMutableBufferPointer {
            socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, $0.baseAddress)
        }
        try #require(result == 0)
        return (RawWebSocket(connected: fds[0]), fds[1])
    }

    private func frame(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true) -> [UInt8] {
        var bytes: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        if payload.count < 126 {
            bytes.append(UInt8(payload.count))
        } else if payload.count <= 0xFFFF {
            bytes += [126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            bytes.append(127)
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((payload.count >> shift) & 0xFF)) }
        }
        return bytes + payload
    }

    private func write(_ fd: Int32, _ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if count <= 0 { return }
            sent += count
        }
    }

    /// Reads one client frame (masked) and returns its opcode and unmasked payload.
    private func readClientFrame(_ fd: Int32) -> (opcode: UInt8, masked: Bool, payload: [UInt8]) {
        func read(_ count: Int) -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: count)
            var got = 0
            while got < count {
                let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + got, count - got) }
                if n <= 0 { break }
                got += n
            }
            return bytes
        }
        let head = read(2)
        var length = Int(head[1] & 0x7F)
        if length == 126 { length = read(2).reduce(0) { $0 << 8 | Int($1) } }
        if length == 127 { length = read(8).reduce(0) { $0 << 8 | Int($1) } }
        let masked = head[1] & 0x80 != 0
        let mask = masked ? read(4) : [0, 0, 0, 0]
        let payload = read(length).enumerated().map { $0.element ^ mask[$0.offset % 4] }
        return (head[0] & 0x0F, masked, payload)
    }

    @Test func framesInAndOut() throws {
        let (client, server) = try pair()
        defer { close(server) }
        let deadline = ContinuousClock.now + .seconds(5)
        let big = String(repeating: "x", count: 70_000)
        let medium = String(repeating: "y", count: 300)
        write(server, frame(1, Array(big.utf8)))
        write(server, frame(1, Array(medium.utf8)))
        write(server, frame(1, Array("hel".utf8), fin: false) + frame(0, Array("lo".utf8)))
        #expect(try client.receive(until: deadline) == .text(big))
        #expect(try client.receive(until: deadline) == .text(medium))
        #expect(try client.receive(until: deadline) == .text("hello"))

        // A ping is answered with a pong carrying the same bytes; the client's frames are masked.
        write(server, frame(9, [1, 2, 3]) + frame(1, Array("after".utf8)))
        #expect(try client.receive(until: deadline) == .text("after"))
        let pong = readClientFrame(server)
        #expect(pong.opcode == 10 && pong.masked && pong.payload == [1, 2, 3])

        try client.send("{\"type\":\"ping\"}")
        let sent = readClientFrame(server)
        #expect(
            sent.opcode == 1 && sent.masked && String(decoding: sent.payload, as: UTF8.self) == "{\"type\":\"ping\"}"
        )

        // Nothing more within the deadline: nil, not an error.
        #expect(try client.receive(until: ContinuousClock.now + .milliseconds(50)) == nil)

        write(server, frame(8, [0x11, 0x31] + Array("invalid or missing token".utf8)))
        #expect(try client.receive(until: deadline) == .closed(code: 4401, reason: "invalid or missing token"))
        #expect(readClientFrame(server).opcode == 8)
    }

    @Test func aClosedSocketIsAConnectionLoss() throws {
        let (client, server) = try pair()
        close(server)
        #expect(throws: DaemonClientError.connectionLost("the daemon closed the connection")) {
            try client.receive(until: ContinuousClock.now + .seconds(2))
        }
    }
}
