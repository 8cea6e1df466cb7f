import BoothCore
import BoothUdev
import Foundation
import Synchronization
import Testing

@Suite("Camera snapshot buttons")
struct CameraButtonTests {
    static let camera = "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-1"
    static func input(name: String, bitmap: String = "100000 0 0 0", usb: String?) -> InputDeviceInfo {
        InputDeviceInfo(
            syspath: "/sys/devices/x/input/input7/event5",
            devnode: "/dev/input/event5",
            name: name,
            keyBitmap: bitmap,
            usbDevicePath: usb
        )
    }

    @Test("uvcvideo's button: KEY_CAMERA on the camera's own USB device")
    func sameUSBDevice() {
        let target = CameraButtonTarget(deviceID: "v4l2:046d:0825@1-1:1.0", usbDevicePath: Self.camera)
        #expect(target.matches(Self.input(name: "UVC Camera (046d:0825)", usb: Self.camera)))
        // Another USB device's button, a keyboard without KEY_CAMERA, a virtual device: not this camera's.
        #expect(!target.matches(Self.input(name: "UVC Camera (046d:0825)", usb: Self.camera + ".2")))
        #expect(!target.matches(Self.input(name: "UVC Camera", bitmap: "200000010000000", usb: Self.camera)))
        #expect(!target.matches(Self.input(name: "UVC Camera", usb: nil)))
        // A camera not on USB binds nothing by parent.
        #expect(
            !CameraButtonTarget(deviceID: "v4l2:vivid.0", usbDevicePath: nil).matches(Self.input(name: "x", usb: nil))
        )
    }

    @Test("profile fallback: button_input binds by name, button_key changes the key")
    func profileBinding() {
        let byName = CameraButtonTarget(deviceID: "v4l2:vivid.0", usbDevicePath: nil, inputName: "Lab camera button")
        #expect(byName.matches(Self.input(name: "Lab camera button", usb: nil)))
        #expect(!byName.matches(Self.input(name: "Lab camera button 2", usb: nil)))
        let glob = CameraButtonTarget(deviceID: "c", usbDevicePath: nil, key: 28, inputName: "Foot*switch*")
        #expect(glob.matches(Self.input(name: "Footswitch v2", bitmap: "10000000", usb: nil)))
        #expect(glob.matches(Self.input(name: "Foot switch", bitmap: "10000000", usb: nil)))
        #expect(!glob.matches(Self.input(name: "Foot switch", usb: nil)))  // no KEY_ENTER
        #expect(!glob.matches(Self.input(name: "Hand switch", bitmap: "10000000", usb: nil)))
    }

    @Test("a node that cannot be opened ends the press stream at once")
    func unopenable() async {
        let opened = Mutex<String?>(nil)
        let presses = InputButtonReader.presses(node: "/nonexistent/event9", key: 212) { error in
            opened.withLock { $0 = error }
        }
        var count = 0
        for await _ in presses { count += 1 }
        #expect(count == 0)
        #expect(opened.withLock { $0 }?.contains("cannot open /nonexistent/event9") == true)
    }

    @Test("presses are read from a real file descriptor (a pipe standing in for the evdev node)")
    func readsPresses() async throws {
        let path = NSTemporaryDirectory() + "boothd-evdev-\(UUID().uuidString)"
        #expect(mkfifo(path, 0o600) == 0)
        defer { unlink(path) }
        let presses = InputButtonReader.presses(node: path, key: 212)
        let writer = open(path, O_WRONLY)
        #expect(writer >= 0)
        func event(_ type: UInt16, _ code: UInt16, _ value: Int32) -> [UInt8] {
            InputEvent(seconds: 1, microseconds: 2, type: type, code: code, value: value).bytes
        }
        // Press, release, auto-repeat, another key, press again, split across writes.
        let stream =
            event(1, 212, 1) + event(0, 0, 0) + event(1, 212, 0) + event(1, 212, 2) + event(1, 28, 1)
            + event(1, 212, 1)
        _ = stream[0..<30].withUnsafeBytes { write(writer, $0.baseAddress, $0.count) }
        _ = stream[30...].withUnsafeBytes { write(writer, $0.baseAddress, $0.count) }
        close(writer)
        var seen: [InputEvent] = []
        for await press in presses { seen.append(press) }
        #expect(seen.count == 2)
        #expect(seen.allSatisfy { $0.isPress(of: 212) })
    }
}
