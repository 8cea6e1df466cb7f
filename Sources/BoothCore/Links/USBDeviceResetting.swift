/// A USB device by bus number and device address (what libusb opens), with its port chain for logs.
public struct USBDeviceLocation: Sendable, Hashable, CustomStringConvertible {
    /// USB bus number (`busnum` in sysfs).
    public var bus: Int
    /// Device address on the bus (`devnum`); changes when the device is re-plugged.
    public var address: Int
    /// sysfs name of the device, e.g. `1-1.2` (stable per physical port).
    public var port: String

    /// A device at `bus`/`address`, named `port` in sysfs.
    public init(bus: Int, address: Int, port: String) {
        self.bus = bus
        self.address = address
        self.port = port
    }

    /// `USB 1-1.2 (bus 1 address 12)`.
    public var description: String { "USB \(port) (bus \(bus) address \(address))" }
}

/// Why a USB reset did not happen.
public struct USBResetFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    /// A one-line reason, e.g. libusb's error name and the device.
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Finds the USB device a device node belongs to and resets it (libusb `libusb_reset_device` in boothd; a fake
/// in tests). The wedged-camera watchdog uses it between tearing a stalled pipeline down and restarting it.
public protocol USBDeviceResetting: Sendable {
    /// The USB device that is the parent of `node` (e.g. `/dev/video0`); nil when the node is not on USB.
    func usbDevice(ofNode node: String) -> USBDeviceLocation?
    /// Resets the device: the kernel re-enumerates it and rebinds its drivers.
    func reset(_ device: USBDeviceLocation) async throws(USBResetFailure)
}
