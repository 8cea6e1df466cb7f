import BoothCore
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A tty (USB serial bridge, CDC-ACM) as a `ByteStreamLink`. The line is set from the profile's settings with
/// termios in raw mode — nothing is inherited from the port's previous state. A dedicated thread blocks in `poll`
/// and feeds `received()`; unplugging the device ends the stream with `SerialLinkError.disconnected`.
public final class SerialPortLink: ByteStreamLink {
    public let path: String
    public let settings: SerialSettings

    private struct State {
        var descriptor: Int32
        /// Written to wake the reader thread when the link is closed.
        var wakeWrite: Int32
        var wakeRead: Int32
        var receiving = false
        var closed = false
    }

    private let state: Mutex<State>

    public init(path: String, settings: SerialSettings) throws(SerialLinkError) {
        self.path = path
        self.settings = settings
        let descriptor = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw SerialLinkError(path: path, operation: "open", code: errno) }
        do {
            try Self.configure(descriptor, settings: settings, path: path)
        } catch {
            Glibc.close(descriptor)
            throw error
        }
        var pipeEnds: [Int32] = [-1, -1]
        guard pipe(&pipeEnds) == 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw SerialLinkError(path: path, operation: "pipe", code: code)
        }
        for end in pipeEnds {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, O_NONBLOCK)
        }
        state = Mutex(State(descriptor: descriptor, wakeWrite: pipeEnds[1], wakeRead: pipeEnds[0]))
    }

    deinit { close() }

    /// Raw mode, exactly the profile's speed and framing, no flow control unless asked, reads never block.
    static func configure(_ descriptor: Int32, settings: SerialSettings, path: String) throws(SerialLinkError) {
        var options = termios()
        guard tcgetattr(descriptor, &options) == 0 else {
            throw SerialLinkError(path: path, operation: "tcgetattr", code: errno)
        }
        cfmakeraw(&options)
        options.c_cflag &= ~(tcflag_t(CSIZE | PARENB | PARODD | CSTOPB) | tcflag_t(CRTSCTS))
        options.c_cflag |= tcflag_t(CLOCAL | CREAD)
        switch settings.dataBits {
        case 5: options.c_cflag |= tcflag_t(CS5)
        case 6: options.c_cflag |= tcflag_t(CS6)
        case 7: options.c_cflag |= tcflag_t(CS7)
        default: options.c_cflag |= tcflag_t(CS8)
        }
        switch settings.parity {
        case .none: break
        case .even: options.c_cflag |= tcflag_t(PARENB)
        case .odd: options.c_cflag |= tcflag_t(PARENB | PARODD)
        }
        if settings.parity != .none {
            // Check parity on input; a byte with a parity error is read as 0 rather than silently passed through.
            options.c_iflag |= tcflag_t(INPCK)
        }
        if settings.stopBits == 2 { options.c_cflag |= tcflag_t(CSTOPB) }
        if settings.hardwareFlowControl { options.c_cflag |= tcflag_t(CRTSCTS) }
        withUnsafeMutableBytes(of: &options.c_cc) { controlCharacters in
            controlCharacters[Int(VMIN)] = 0
            controlCharacters[Int(VTIME)] = 0
        }
        guard let speed = speedConstant(settings.baudRate) else {
            throw SerialLinkError(path: path, operation: "configure", code: EINVAL, detail: "baud \(settings.baudRate)")
        }
        cfsetispeed(&options, speed)
        cfsetospeed(&options, speed)
        guard tcsetattr(descriptor, TCSANOW, &options) == 0 else {
            throw SerialLinkError(path: path, operation: "tcsetattr", code: errno)
        }
        // Drop whatever the port buffered before boothd owned it.
        tcflush(descriptor, TCIOFLUSH)
    }

    static func speedConstant(_ rate: Int) -> speed_t? {
        switch rate {
        case 1200: speed_t(B1200)
        case 2400: speed_t(B2400)
        case 4800: speed_t(B4800)
        case 9600: speed_t(B9600)
        case 19200: speed_t(B19200)
        case 38400: speed_t(B38400)
        case 57600: speed_t(B57600)
        case 115_200: speed_t(B115200)
        case 230_400: speed_t(B230400)
        case 460_800: speed_t(B460800)
        case 921_600: speed_t(B921600)
        default: nil
        }
    }

    /// The line settings the kernel has now (for checks and `boothctl`): speed, data bits, parity, stop bits.
    public func currentSettings() throws(SerialLinkError) -> SerialSettings {
        let descriptor = state.withLock { $0.descriptor }
        var options = termios()
        guard tcgetattr(descriptor, &options) == 0 else {
            throw SerialLinkError(path: path, operation: "tcgetattr", code: errno)
        }
        let speed = cfgetospeed(&options)
        let rate = SerialSettings.supportedBaudRates.first { Self.speedConstant($0) == speed } ?? 0
        let size = options.c_cflag & tcflag_t(CSIZE)
        let dataBits =
            size == tcflag_t(CS5) ? 5 : size == tcflag_t(CS6) ? 6 : size == tcflag_t(CS7) ? 7 : 8
        let parity: SerialSettings.Parity =
            options.c_cflag & tcflag_t(PARENB) == 0
            ? .none : (options.c_cflag & tcflag_t(PARODD) != 0 ? .odd : .even)
        return SerialSettings(
            baudRate: rate,
            dataBits: dataBits,
            parity: parity,
            stopBits: options.c_cflag & tcflag_t(CSTOPB) != 0 ? 2 : 1,
            hardwareFlowControl: options.c_cflag & tcflag_t(CRTSCTS) != 0
        )
    }

    public func send(_ bytes: [UInt8]) async throws {
        let descriptor = try state.withLock { state throws(SerialLinkError) in
            guard !state.closed else { throw SerialLinkError(path: path, operation: "write", code: EBADF) }
            return state.descriptor
        }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written > 0 {
                offset += written
                continue
            }
            let code = errno
            if written < 0 && (code == EAGAIN || code == EINTR) {
                // The tty's output buffer is full (19200 baud drains ~2 bytes/ms): wait for room, bounded.
                var pollEntry = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                if poll(&pollEntry, 1, 2000) <= 0 {
                    throw SerialLinkError(path: path, operation: "write", code: ETIMEDOUT)
                }
                continue
            }
            throw SerialLinkError(path: path, operation: "write", code: code == EIO ? ENODEV : code)
        }
    }

    /// The device's bytes as they arrive. One consumer: a second call throws.
    public func received() async throws -> AsyncThrowingStream<[UInt8], any Error> {
        let (descriptor, wakeRead) = try state.withLock { state throws(SerialLinkError) in
            guard !state.closed else { throw SerialLinkError(path: path, operation: "read", code: EBADF) }
            guard !state.receiving else {
                throw SerialLinkError(path: path, operation: "read", code: EBUSY, detail: "already being read")
            }
            state.receiving = true
            return (state.descriptor, state.wakeRead)
        }
        let (stream, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        let devicePath = self.path
        let thread = Thread {
            Self.readLoop(descriptor: descriptor, wake: wakeRead, path: devicePath, continuation: continuation)
            self.releaseAfterReader()
        }
        thread.name = "boothd.serial \(devicePath)"
        thread.start()
        return stream
    }

    private static func readLoop(
        descriptor: Int32,
        wake: Int32,
        path: String,
        continuation: AsyncThrowingStream<[UInt8], any Error>.Continuation
    ) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            var entries = [
                pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wake, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&entries, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                continuation.finish(throwing: SerialLinkError(path: path, operation: "poll", code: errno))
                return
            }
            if entries[1].revents != 0 {
                continuation.finish()
                return
            }
            let events = entries[0].revents
            if events & Int16(POLLIN) != 0 {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count > 0 {
                    continuation.yield(Array(buffer[0..<count]))
                    continue
                }
                if count < 0 && (errno == EAGAIN || errno == EINTR) { continue }
                // EOF or EIO on a tty: the device is gone (unplugged mid-reading).
                continuation.finish(throwing: SerialLinkError(path: path, operation: "read", code: ENODEV))
                return
            }
            if events & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 {
                continuation.finish(throwing: SerialLinkError(path: path, operation: "read", code: ENODEV))
                return
            }
        }
    }

    /// Stops the reader (its stream finishes) and closes the port. Idempotent.
    public func close() {
        state.withLock { state in
            guard !state.closed else { return }
            state.closed = true
            if state.receiving {
                // The reader thread closes the descriptors once it has left poll().
                var byte: UInt8 = 1
                _ = write(state.wakeWrite, &byte, 1)
            } else {
                Self.closeAll(state)
            }
        }
    }

    private func releaseAfterReader() {
        state.withLock { state in
            state.receiving = false
            state.closed = true
            Self.closeAll(state)
            state.descriptor = -1
        }
    }

    private static func closeAll(_ state: State) {
        if state.descriptor >= 0 { Glibc.close(state.descriptor) }
        Glibc.close(state.wakeRead)
        Glibc.close(state.wakeWrite)
    }
}

/// A tty operation failed; `disconnected` when the device went away.
public struct SerialLinkError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var operation: String
    public var code: Int32
    public var detail: String?

    public init(path: String, operation: String, code: Int32, detail: String? = nil) {
        self.path = path
        self.operation = operation
        self.code = code
        self.detail = detail
    }

    public var isDisconnected: Bool { code == ENODEV }

    public var description: String {
        let reason = isDisconnected ? "device disconnected" : detail ?? String(cString: strerror(code))
        return "\(path): \(operation): \(reason)"
    }
}
