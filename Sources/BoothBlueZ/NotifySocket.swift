import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The socket BlueZ hands over for AcquireNotify (SOCK_SEQPACKET): each notification is one packet of at most
/// `mtu` bytes. A dedicated thread blocks in `recv` and feeds an AsyncThrowingStream; closing the fd releases
/// the notification in bluetoothd (there is no StopNotify for it).
final class NotifySocket: Sendable {
    /// The fd, until the reader closes it; `shutdown` wakes a blocked `recv` without racing a reused number.
    private let fd: Mutex<Int32?>
    let mtu: Int

    /// Takes ownership of `fd`.
    init(fd: Int32, mtu: Int) {
        // bluetoothd creates the pair with SOCK_NONBLOCK, and the flag travels with the fd: the reader thread
        // blocks in recv, so it is cleared (otherwise recv fails at once with EAGAIN).
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0, flags & O_NONBLOCK != 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
        self.fd = Mutex(fd)
        // BlueZ reports the ATT MTU; a notification carries at most MTU - 3 bytes, but a bigger buffer is harmless
        // and a too-small one would cut a packet, so the buffer is never below the LE maximum.
        self.mtu = max(mtu, 517)
    }

    /// Starts the reader thread: every packet is yielded to `continuation`; the stream finishes when the socket
    /// is closed by BlueZ (device gone, notifications released: `recv` returns 0) or by `close()`, or with
    /// `failure` on a read error. The fd is closed when the thread ends.
    func start(
        name: String,
        into continuation: AsyncThrowingStream<[UInt8], any Error>.Continuation,
        failure: @escaping @Sendable (String) -> any Error
    ) {
        guard let descriptor = fd.withLock({ $0 }) else {
            continuation.finish()
            return
        }
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: mtu)
            var problem: (any Error)?
            while true {
                let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
                if count > 0 {
                    continuation.yield(Array(buffer[0..<count]))
                } else if count == 0 {
                    break
                } else if errno != EINTR {
                    problem = failure(String(cString: strerror(errno)))
                    break
                }
            }
            fd.withLock { fd in
                if let open = fd { _ = Glibc.close(open) }
                fd = nil
            }
            if let problem { continuation.finish(throwing: problem) } else { continuation.finish() }
        }
        thread.name = name
        thread.start()
    }

    /// Stops the reader: it sees end of stream and closes the fd. Safe to call more than once or after the end.
    func close() {
        fd.withLock { fd in
            if let open = fd { _ = shutdown(open, Int32(SHUT_RDWR)) }
        }
    }

    /// Whether the fd is still open (tests).
    var isOpen: Bool { fd.withLock { $0 != nil } }
}
