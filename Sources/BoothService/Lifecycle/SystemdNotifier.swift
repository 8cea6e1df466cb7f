import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The sd_notify(3) protocol in plain Swift: one datagram per state change to the unix socket named by
/// `$NOTIFY_SOCKET` (a leading `@` means the abstract namespace). Without that variable every call is a no-op,
/// so the same binary runs under systemd and from a terminal.
public struct SystemdNotifier: Sendable {
    /// The socket address, or nil when not started by systemd with `Type=notify`.
    public let socketPath: String?

    public init(environment: [String: String]) {
        let path = environment["NOTIFY_SOCKET"] ?? ""
        socketPath = path.isEmpty ? nil : path
    }

    public var isEnabled: Bool { socketPath != nil }

    /// Sends `READY=1` with a status line.
    public func ready(status: String) throws(NotifyError) {
        try send(["READY=1", "STATUS=\(status)", "MAINPID=\(getpid())"])
    }

    public func status(_ status: String) throws(NotifyError) {
        try send(["STATUS=\(status)"])
    }

    public func watchdog() throws(NotifyError) {
        try send(["WATCHDOG=1"])
    }

    public func stopping(status: String) throws(NotifyError) {
        try send(["STOPPING=1", "STATUS=\(status)"])
    }

    /// Sends newline-separated assignments as one datagram. Newlines inside values are replaced, since
    /// they would start a new assignment.
    public func send(_ assignments: [String]) throws(NotifyError) {
        guard let socketPath else { return }
        let message = assignments.map { $0.replacingOccurrences(of: "\n", with: " ") }.joined(separator: "\n")
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw NotifyError(operation: "socket", errno: errno) }
        defer { close(fd) }

        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(socketPath.utf8)
        let isAbstract = pathBytes.first == UInt8(ascii: "@")
        if isAbstract { pathBytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else { throw NotifyError(operation: "address too long", errno: ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: pathBytes)
        }
        // Abstract addresses are not NUL-terminated: pass the exact length.
        let length = MemoryLayout<sa_family_t>.size + pathBytes.count + (isAbstract ? 0 : 1)
        let sent = message.withCString { text in
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                    sendto(fd, text, strlen(text), Int32(MSG_NOSIGNAL), socketAddress, socklen_t(length))
                }
            }
        }
        guard sent >= 0 else { throw NotifyError(operation: "sendto \(socketPath)", errno: errno) }
    }

    /// Half of `$WATCHDOG_USEC` (the recommended ping interval), if the watchdog is enabled for this process.
    public static func watchdogInterval(environment: [String: String]) -> Duration? {
        guard let text = environment["WATCHDOG_USEC"], let micros = Int64(text), micros > 0 else { return nil }
        if let pidText = environment["WATCHDOG_PID"], let pid = Int32(pidText), pid != getpid() { return nil }
        return .microseconds(micros / 2)
    }
}

public struct NotifyError: Error, Sendable, CustomStringConvertible {
    public var operation: String
    public var errno: Int32

    public var description: String { "sd_notify \(operation): \(String(cString: strerror(errno)))" }
}
