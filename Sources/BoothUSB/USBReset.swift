import BoothCore
import CLibUSB
import Foundation

/// A USB device found in sysfs as the parent of a device node.
public struct USBSysfsDevice: Sendable, Hashable {
    public var bus: Int
    public var address: Int
    /// The USB device's sysfs name (`1-1`, `1-1.2`): its port chain.
    public var name: String
    /// The USB device's sysfs directory (resolved, under `/sys/devices`).
    public var path: String
}

/// Walks sysfs from a device node to the USB device it belongs to (pure file reads: tested on a fake tree).
public enum USBSysfs {
    /// The USB device that is a parent of the character device `node` (`/dev/video0`, `/dev/ttyACM0`,
    /// `/dev/input/event3`): `<sysfs>/dev/char/<major>:<minor>` leads to the device, whose first ancestor with
    /// `busnum` and `devnum` is the USB device (the node's own directory is the class device, its parent the USB
    /// interface). nil when the node does not exist or is not on USB (vivid, v4l2loopback, uinput).
    public static func device(ofNode node: String, sysfs: String = "/sys") -> USBSysfsDevice? {
        var info = stat()
        guard stat(node, &info) == 0, info.st_mode & S_IFMT == S_IFCHR else { return nil }
        let major = (info.st_rdev >> 8) & 0xfff | (info.st_rdev >> 32) & ~0xfff
        let minor = info.st_rdev & 0xff | (info.st_rdev >> 12) & ~0xff
        return device(ofSysfsPath: "\(sysfs)/dev/char/\(major):\(minor)")
    }

    /// The first ancestor (or the path itself) of a sysfs device directory that is a USB device.
    public static func device(ofSysfsPath path: String) -> USBSysfsDevice? {
        var current = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        while current.count > 1 {
            if let bus = number(current, "busnum"), let address = number(current, "devnum") {
                return USBSysfsDevice(
                    bus: bus,
                    address: address,
                    name: (current as NSString).lastPathComponent,
                    path: current
                )
            }
            current = (current as NSString).deletingLastPathComponent
        }
        return nil
    }

    private static func number(_ directory: String, _ attribute: String) -> Int? {
        guard let text = try? String(contentsOfFile: directory + "/" + attribute, encoding: .utf8) else { return nil }
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// What `libusb_reset_device` did.
public enum USBResetOutcome: Sendable, Hashable {
    /// Reset; the device kept its descriptors and address.
    case reset
    /// Reset, and the device changed its descriptors: the kernel re-enumerated it as a new device.
    case reenumerated
}

extension USBContext {
    /// Opens the device at `bus`/`address` and resets it (USBDEVFS_RESET: a port reset, after which the kernel
    /// rebinds the device's drivers, e.g. uvcvideo). Needs write access to `/dev/bus/usb/BBB/DDD`.
    public func resetDevice(bus: Int, address: Int) throws(USBError) -> USBResetOutcome {
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let count = libusb_get_device_list(context, &list)
        guard count >= 0, let list else { throw USBError(operation: "libusb_get_device_list", code: Int32(count)) }
        defer { libusb_free_device_list(list, 1) }
        let target = (0..<Int(count)).compactMap { list[$0] }.first {
            Int(libusb_get_bus_number($0)) == bus && Int(libusb_get_device_address($0)) == address
        }
        guard let target else {
            throw USBError(operation: "reset \(bus):\(address)", code: LIBUSB_ERROR_NO_DEVICE.rawValue)
        }
        var handle: OpaquePointer?
        let opened = libusb_open(target, &handle)
        guard opened == 0, let handle else { throw USBError(operation: "libusb_open \(bus):\(address)", code: opened) }
        defer { libusb_close(handle) }
        let code = libusb_reset_device(handle)
        switch code {
        case 0: return .reset
        // libusb: "the device has been disconnected and re-enumerated" (descriptors changed): the reset happened.
        case LIBUSB_ERROR_NOT_FOUND.rawValue: return .reenumerated
        default: throw USBError(operation: "libusb_reset_device \(bus):\(address)", code: code)
        }
    }
}

/// The wedged-camera watchdog's USB side: sysfs finds a node's USB device, libusb resets it on its own thread
/// (a port reset takes tens to hundreds of milliseconds; it must not hold a cooperative-pool thread).
public struct LibUSBDeviceReset: USBDeviceResetting {
    public init() {}

    public func usbDevice(ofNode node: String) -> USBDeviceLocation? {
        USBSysfs.device(ofNode: node).map { USBDeviceLocation(bus: $0.bus, address: $0.address, port: $0.name) }
    }

    public func reset(_ device: USBDeviceLocation) async throws(USBResetFailure) {
        let result: Result<USBResetOutcome, USBError> = await withCheckedContinuation { continuation in
            let thread = Thread {
                continuation.resume(
                    returning: Result { () throws(USBError) -> USBResetOutcome in
                        try USBContext().resetDevice(bus: device.bus, address: device.address)
                    }
                )
            }
            thread.name = "booth-usb-reset"
            thread.start()
        }
        if case .failure(let error) = result { throw USBResetFailure("\(device): \(error)") }
    }
}
