import ArgumentParser
import BoothCore
import BoothProfiles
import BoothUSB
import Foundation

extension ProfilesCommand {
    /// `boothctl profiles scan-usb`: the USB devices present and the profile that claims each.
    struct ScanUSB: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "scan-usb",
            abstract: "List USB devices (libusb) with the profile that claims each."
        )
        @OptionGroup var source: Source
        @Flag(help: "Machine-readable output.") var json = false

        struct Row: Encodable {
            var bus: UInt8
            var address: UInt8
            var port: String
            var device: String
            var profile: String?
        }

        func run() throws {
            let set = try source.load(checkDrivers: false)
            let context = try USBContext()
            let rows = try context.devices().map { record in
                Row(
                    bus: record.bus,
                    address: record.address,
                    port: record.port,
                    device: DeviceDescription.usb(record.info).description,
                    profile: set.bestMatch(.usb(record.info))?.profile.id
                )
            }
            if json {
                try printJSON(rows)
                return
            }
            for row in rows {
                print("\(row.bus):\(row.address)\t\(row.port)\t\(row.device)\t→ \(row.profile ?? "no profile")")
            }
        }
    }

    /// `boothctl profiles watch-usb`: hotplug events as they happen, matched against the profiles.
    struct WatchUSB: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "watch-usb",
            abstract: "Print USB arrivals and departures (libusb hotplug) with the profile that claims each."
        )
        @OptionGroup var source: Source
        @Option(help: "Stop after this many seconds.") var seconds: Double = 10

        func run() async throws {
            let set = try source.load(checkDrivers: false)
            let context = try USBContext()
            let events = try context.hotplugEvents()
            print("watching USB for \(seconds) s")
            let watcher = Task {
                for await event in events {
                    switch event {
                    case .arrived(let record):
                        let claim = set.bestMatch(.usb(record.info))?.profile.id ?? "no profile"
                        print("arrived \(record.bus):\(record.address) \(record.info.summary) → \(claim)")
                    case .left(let bus, let address):
                        print("left \(bus):\(address)")
                    }
                    fflush(nil)
                }
            }
            try await Task.sleep(for: .seconds(seconds))
            context.stopEvents()
            watcher.cancel()
            _ = await watcher.value
        }
    }

    /// `boothctl profiles probe PROFILE TARGET`: reads a device through the link its profile describes.
    struct Probe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read a device through its profile's link and print what arrives.",
            discussion: """
                TARGET is a tty for usb-serial profiles (the profile's baud rate and framing are applied), or
                usb:BUS:ADDRESS:INTERFACE for usb-hid/usb profiles (libusb; the kernel driver is detached meanwhile).
                With --expect-trace the bytes must equal the device bytes of the profile's trace (exit 1 if not);
                exit 3 when the device is unplugged mid-reading.
                """
        )
        @OptionGroup var source: Source
        @Argument(help: "Profile id.") var profile: String
        @Argument(help: "Device: /dev/ttyUSB0, or usb:BUS:ADDRESS:INTERFACE.") var target: String
        @Option(help: "Stop reading after this many seconds.") var seconds: Double = 10
        @Option(help: "Stop after this many bytes.") var bytes: Int?
        @Flag(help: "Compare what arrives with the profile's trace.") var expectTrace = false

        func run() async throws {
            let set = try source.load(checkDrivers: false)
            guard let chosen = set[profile] else { throw ValidationError("no profile \(profile)") }
            var expected: [UInt8]?
            if expectTrace {
                guard let path = ProfileDirectoryLoader.tracePath(of: chosen) else {
                    throw ValidationError("\(profile) has no trace")
                }
                expected = try ProfileDirectoryLoader.loadTrace(path).receivedBytes
            }
            let limit = bytes ?? expected?.count ?? Int.max
            let link: any ByteStreamLink
            let closeLink: @Sendable () -> Void
            switch chosen.transport {
            case .usbSerial:
                guard let settings = chosen.serial else { throw ValidationError("\(profile) has no serial settings") }
                let serial = try SerialPortLink(path: target, settings: settings)
                print("opened \(target): \(try serial.currentSettings())")
                link = serial
                closeLink = { serial.close() }
            case .usbHID, .usb:
                let parts = target.split(separator: ":").map(String.init)
                guard parts.count == 4, parts[0] == "usb", let bus = UInt8(parts[1]), let address = UInt8(parts[2]),
                    let interface = Int32(parts[3])
                else { throw ValidationError("expected usb:BUS:ADDRESS:INTERFACE, got \(target)") }
                let context = try USBContext()
                let usb = try USBTransferLink(context: context, bus: bus, address: address, interface: interface)
                print("claimed \(bus):\(address) interface \(interface): \(usb.record.info.summary)")
                link = usb
                closeLink = { usb.close() }
            default:
                throw ValidationError(
                    "probe reads usb-serial, usb-hid and usb profiles; \(profile) is \(chosen.transport.rawValue)"
                )
            }
            fflush(nil)
            let stream = try await link.received()
            let timeout = Task {
                try await Task.sleep(for: .seconds(seconds))
                closeLink()
            }
            var received: [UInt8] = []
            var chunks = 0
            var unplugged = false
            do {
                for try await chunk in stream {
                    chunks += 1
                    received += chunk
                    print("< \(Hex.string(chunk))")
                    fflush(nil)
                    if received.count >= limit { break }
                }
            } catch let error as SerialLinkError where error.isDisconnected {
                print("unplugged: \(error)")
                unplugged = true
            } catch let error as USBError where error.isDisconnected {
                print("unplugged: \(error)")
                unplugged = true
            }
            timeout.cancel()
            closeLink()
            print("received \(received.count) bytes in \(chunks) chunks")
            if unplugged { throw ExitCode(3) }
            if let expected {
                // HID reports are padded to the report length: compare the trace's bytes, in order, ignoring padding.
                let matches = chosen.transport == .usbSerial ? received == expected : hidMatches(received, expected)
                if matches {
                    print("trace match: \(expected.count) device bytes as recorded")
                } else {
                    print("trace MISMATCH: expected \(Hex.string(expected))")
                    throw ExitCode(1)
                }
            }
        }

        /// Each trace byte appears in order; zero padding between reports is skipped.
        private func hidMatches(_ received: [UInt8], _ expected: [UInt8]) -> Bool {
            var index = 0
            for byte in received where index < expected.count {
                if byte == expected[index] {
                    index += 1
                } else if byte != 0 {
                    return false
                }
            }
            return index == expected.count
        }
    }
}
