import Foundation
import Testing

@testable import BoothBlueZ

#if canImport(Glibc)
import Glibc
#endif

/// The AcquireNotify reader over a real SOCK_SEQPACKET socketpair, the kind bluetoothd hands over: one packet is
/// one notification (never merged or split), the stream ends when the peer closes, and `close()` ends it from
/// our side and closes the fd.
@Suite(.timeLimit(.minutes(1)))
struct NotifySocketTests {
    /// A socketpair: [ours, bluetoothd's side], non-blocking as bluetoothd creates it.
    static func pair() throws -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        let result = fds.withUnsafeMutableBufferPointer {
            socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue | SOCK_NONBLOCK.rawValue), 0, $0.baseAddress)
        }
        try #require(result == 0)
        return (fds[0], fds[1])
    }

    static func send(_ fd: Int32, _ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
    }

    struct ReadFailed: Error { var reason: String }

    @Test func eachPacketIsOneNotificationAndPeerCloseEndsTheStream() async throws {
        let (ours, theirs) = try Self.pair()
        let socket = NotifySocket(fd: ours, mtu: 23)
        let (stream, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        socket.start(name: "test-notify", into: continuation) { ReadFailed(reason: $0) }
        // Three PLX Continuous notifications sent back to back: three packets, byte for byte, in order; the
        // third longer than the reported MTU (the buffer never cuts a packet).
        let sent: [[UInt8]] = [
            [0x00, 0x61, 0x00, 0x48, 0x00],
            [0x00, 0x62, 0x00, 0x49, 0x00],
            Array(0..<40),
        ]
        for packet in sent { Self.send(theirs, packet) }
        _ = Glibc.close(theirs)
        var received: [[UInt8]] = []
        for try await packet in stream { received.append(packet) }
        #expect(received == sent)
        // The reader closed our fd when the stream ended.
        let deadline = ContinuousClock.now + .seconds(5)
        while socket.isOpen && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(!socket.isOpen)
    }

    @Test func closeEndsTheStreamAndTellsThePeer() async throws {
        let (ours, theirs) = try Self.pair()
        defer { _ = Glibc.close(theirs) }
        let socket = NotifySocket(fd: ours, mtu: 23)
        let (stream, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        socket.start(name: "test-notify", into: continuation) { ReadFailed(reason: $0) }
        Self.send(theirs, [0x01, 0x02])
        var iterator = stream.makeAsyncIterator()
        #expect(try await iterator.next() == [0x01, 0x02])
        // Unsubscribing while the reader is blocked in recv: the stream ends, the fd is closed.
        socket.close()
        #expect(try await iterator.next() == nil)
        let deadline = ContinuousClock.now + .seconds(5)
        while socket.isOpen && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(!socket.isOpen)
        // bluetoothd's side sees the hang-up (how BlueZ learns the notification was released).
        var byte: UInt8 = 0
        #expect(recv(theirs, &byte, 1, 0) == 0)
        socket.close()  // again: harmless
    }
}
