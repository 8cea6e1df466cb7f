import BoothCore
import Foundation
import Synchronization

/// An evdev node (`/dev/input/eventN`) as the camera-button binder needs it.
public struct InputDeviceInfo: Sendable, Hashable {
    public var syspath: String
    public var devnode: String
    /// The input device's name (`UVC Camera (046d:0825)` for uvcvideo's button).
    public var name: String
    /// sysfs `capabilities/key` bitmap.
    public var keyBitmap: String
    /// The USB device it belongs to (sysfs directory), nil when not on USB (uinput).
    public var usbDevicePath: String?

    public init(syspath: String, devnode: String, name: String, keyBitmap: String, usbDevicePath: String?) {
        self.syspath = syspath
        self.devnode = devnode
        self.name = name
        self.keyBitmap = keyBitmap
        self.usbDevicePath = usbDevicePath
    }

    /// An `input` udev device that is an evdev node, with its input device's name and key bitmap read from sysfs
    /// (`<eventN>/device/name`, `<eventN>/device/capabilities/key`); nil for other input nodes (mouseN, jsN).
    public static func evdev(_ device: UdevDevice, usbDevicePath: String?) -> InputDeviceInfo? {
        guard device.subsystem == "input", device.sysname.hasPrefix("event"), let devnode = device.devnode else {
            return nil
        }
        func read(_ name: String) -> String {
            let text = (try? String(contentsOfFile: device.syspath + "/device/" + name, encoding: .utf8)) ?? ""
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return InputDeviceInfo(
            syspath: device.syspath,
            devnode: devnode,
            name: read("name"),
            keyBitmap: read("capabilities/key"),
            usbDevicePath: usbDevicePath
        )
    }
}

/// Which input device is a camera's snapshot button.
public struct CameraButtonTarget: Sendable, Hashable {
    public var deviceID: String
    /// The camera's USB device (sysfs directory); nil when not on USB.
    public var usbDevicePath: String?
    /// The key that takes a snapshot (`KEY_CAMERA` unless the profile says `button_key`).
    public var key: UInt16
    /// The profile's `button_input`: bind the input device with this name (`*` matches any run of characters)
    /// instead of the one on the camera's USB device. For buttons that are a separate device (a foot switch, a
    /// HID keypad), and for the lab's uinput button.
    public var inputName: String?

    public init(deviceID: String, usbDevicePath: String?, key: UInt16 = InputKeyCode.camera, inputName: String? = nil) {
        self.deviceID = deviceID
        self.usbDevicePath = usbDevicePath
        self.key = key
        self.inputName = inputName
    }

    /// Whether `input` is this camera's button: it reports the key, and either has the profile's name or (no name
    /// given) shares the camera's USB device — uvcvideo hangs its button's input device on the camera's interface.
    public func matches(_ input: InputDeviceInfo) -> Bool {
        guard InputKeyCode.bitmap(input.keyBitmap, has: key) else { return false }
        if let inputName { return Self.glob(inputName, input.name) }
        guard let usbDevicePath, let inputUSB = input.usbDevicePath else { return false }
        return usbDevicePath == inputUSB
    }

    static func glob(_ pattern: String, _ text: String) -> Bool {
        let parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        guard parts.count > 1 else { return pattern == text }
        guard text.hasPrefix(parts[0]), let last = parts.last, text.hasSuffix(last),
            text.count >= parts[0].count + last.count
        else { return false }
        var rest = Substring(text.dropFirst(parts[0].count).dropLast(last.count))
        for middle in parts.dropFirst().dropLast() where !middle.isEmpty {
            guard let range = rest.range(of: middle) else { return false }
            rest = rest[range.upperBound...]
        }
        return true
    }
}

/// Reads an evdev node on a dedicated thread and delivers the presses of one key.
public enum InputButtonReader {
    /// Presses of `key` on `node` until the consumer stops or the device goes away (the stream then ends).
    /// `onOpen` runs on the reader thread with nil once the node is open, or the reason it could not be opened.
    public static func presses(
        node: String,
        key: UInt16,
        onOpen: @escaping @Sendable (String?) -> Void = { _ in }
    ) -> AsyncStream<InputEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: InputEvent.self, bufferingPolicy: .bufferingNewest(8))
        let flag = StopFlag()
        continuation.onTermination = { _ in flag.value.store(true, ordering: .releasing) }
        let thread = Thread {
            let descriptor = open(node, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
            guard descriptor >= 0 else {
                onOpen("cannot open \(node): \(String(cString: strerror(errno)))")
                continuation.finish()
                return
            }
            defer { close(descriptor) }
            onOpen(nil)
            var framer = InputEventFramer()
            var buffer = [UInt8](repeating: 0, count: InputEvent.size * 16)
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            while !flag.value.load(ordering: .acquiring) {
                poller.revents = 0
                guard poll(&poller, 1, 200) > 0 else { continue }
                // POLLERR/POLLHUP without data: the device was unplugged (a read then fails with ENODEV).
                if poller.revents & Int16(POLLIN) == 0 { break }
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count < 0 && (errno == EAGAIN || errno == EINTR) { continue }
                guard count > 0 else { break }
                for event in framer.feed(buffer[0..<count]) where event.isPress(of: key) {
                    continuation.yield(event)
                }
            }
            continuation.finish()
        }
        thread.name = "booth-input"
        thread.start()
        return stream
    }

    private final class StopFlag: Sendable {
        let value = Atomic<Bool>(false)
    }
}
