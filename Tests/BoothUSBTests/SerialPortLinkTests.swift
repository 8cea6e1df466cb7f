import BoothCore
import BoothUSB
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A pseudo-terminal pair: the link opens the slave like a real tty; the test plays the device on the master.
final class PseudoTerminal {
    var master: Int32
    let slavePath: String

    init() throws {
        // posix_openpt/ptsname are hidden by Glibc's module; the ioctls behind them are not. TIOCSPTLCK and
        // TIOCGPTN are _IOW/_IOR macros Swift cannot import: their values on Linux (all architectures we build).
        let unlock: UInt = 0x4004_5431
        let getNumber: UInt = 0x8004_5430
        master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        var locked: Int32 = 0
        var number: UInt32 = 0
        guard master >= 0, ioctl(master, unlock, &locked) == 0, ioctl(master, getNumber, &number) == 0 else {
            throw POSIXError(.EIO)
        }
        slavePath = "/dev/pts/\(number)"
    }

    func deviceSends(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
    }

    /// Reads what the host sent, waiting up to `timeout` milliseconds.
    func deviceReads(_ count: Int, timeout: Int32 = 2000) -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        while result.count < count {
            var entry = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, timeout) > 0 else { break }
            let n = buffer.withUnsafeMutableBytes { read(master, $0.baseAddress, min($0.count, count - result.count)) }
            guard n > 0 else { break }
            result += buffer[0..<n]
        }
        return result
    }

    /// Unplugs the "device": the slave side sees a hangup.
    func unplug() {
        if master >= 0 { close(master) }
        master = -1
    }

    deinit { unplug() }
}

@Suite("Serial tty link")
struct SerialPortLinkTests {
    let cms50 = SerialSettings(baudRate: 19200, dataBits: 8, parity: .odd, stopBits: 1)

    /// A pty keeps the speed and stop bits it is given but forces 8 data bits without parity (Linux pty.c), so
    /// parity and data bits are checked on a real CDC-ACM tty in the lab (scripts/hwlab/guest-usb-serial.sh).
    @Test func appliesTheProfileLineSettings() throws {
        let pty = try PseudoTerminal()
        let link = try SerialPortLink(path: pty.slavePath, settings: cms50)
        defer { link.close() }
        let applied = try link.currentSettings()
        #expect(applied.baudRate == 19200)
        #expect(applied.stopBits == 1)
        #expect(!applied.hardwareFlowControl)
        let other = try SerialPortLink(
            path: pty.slavePath,
            settings: SerialSettings(baudRate: 115_200, parity: .none, stopBits: 2, hardwareFlowControl: true)
        )
        defer { other.close() }
        #expect(
            try other.currentSettings() == SerialSettings(baudRate: 115_200, stopBits: 2, hardwareFlowControl: true)
        )
    }

    @Test func deliversDeviceBytesAndSendsCommands() async throws {
        let pty = try PseudoTerminal()
        let link = try SerialPortLink(path: pty.slavePath, settings: cms50)
        defer { link.close() }
        let stream = try await link.received()
        // The CMS50D+ trace's device bytes, in the chunks the trace has.
        let frames: [[UInt8]] = [[0xcf, 0x00, 0x20, 0x00, 0x00], [0x87, 0x32], [0x05, 0x48, 0x62]]
        for frame in frames { pty.deviceSends(frame) }
        var received: [UInt8] = []
        for try await chunk in stream {
            received += chunk
            if received.count >= 10 { break }
        }
        #expect(received == frames.flatMap { $0 })

        try await link.send([0xf5, 0xf5])
        #expect(pty.deviceReads(2) == [0xf5, 0xf5])
    }

    @Test func unplugMidReadingEndsTheStreamWithDisconnected() async throws {
        let pty = try PseudoTerminal()
        let link = try SerialPortLink(path: pty.slavePath, settings: cms50)
        defer { link.close() }
        let stream = try await link.received()
        pty.deviceSends([0x87, 0x32, 0x05])
        var received: [UInt8] = []
        var ending: (any Error)?
        do {
            for try await chunk in stream {
                received += chunk
                if received.count == 3 { pty.unplug() }
            }
        } catch {
            ending = error
        }
        #expect(received == [0x87, 0x32, 0x05])
        let error = try #require(ending as? SerialLinkError)
        #expect(error.isDisconnected)
        #expect("\(error)".hasSuffix("device disconnected"))
    }

    @Test func closeFinishesTheStreamAndRejectsFurtherUse() async throws {
        let pty = try PseudoTerminal()
        let link = try SerialPortLink(path: pty.slavePath, settings: cms50)
        let stream = try await link.received()
        await #expect(throws: SerialLinkError.self) { try await link.received() }
        link.close()
        var count = 0
        for try await _ in stream { count += 1 }
        #expect(count == 0)
        await #expect(throws: SerialLinkError.self) { try await link.send([1]) }
    }

    @Test func missingDeviceIsAClearError() {
        #expect {
            _ = try SerialPortLink(path: "/dev/booth-no-such-tty", settings: cms50)
        } throws: { error in
            "\(error)" == "/dev/booth-no-such-tty: open: No such file or directory"
        }
    }
}
