import BoothCore
import BoothUSB
import Foundation
import Testing

/// The USB parent of a device node, found in a fake sysfs tree laid out as the kernel does for a UVC camera:
/// `/sys/dev/char/81:0 → devices/.../usb1/1-1/1-1.2/1-1.2:1.0/video4linux/video0`.
@Suite("USB parent in sysfs")
struct USBSysfsTests {
    static func withTree(_ body: (String) throws -> Void) throws {
        let root = NSTemporaryDirectory() + "boothd-sysfs-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let files = FileManager.default
        let hub = "\(root)/devices/pci0000:00/0000:00:14.0/usb1/1-1"
        let camera = "\(hub)/1-1.2"
        let video = "\(camera)/1-1.2:1.0/video4linux/video0"
        try files.createDirectory(atPath: video, withIntermediateDirectories: true)
        try files.createDirectory(
            atPath: "\(root)/devices/virtual/video4linux/video9",
            withIntermediateDirectories: true
        )
        try files.createDirectory(atPath: "\(root)/dev/char", withIntermediateDirectories: true)
        for (directory, bus, address) in [(hub, "1", "3"), (camera, "1\n", "12\n")] {
            try bus.write(toFile: "\(directory)/busnum", atomically: true, encoding: .utf8)
            try address.write(toFile: "\(directory)/devnum", atomically: true, encoding: .utf8)
        }
        // The interface has bInterfaceNumber but no busnum/devnum: it must be skipped.
        try "00".write(toFile: "\(camera)/1-1.2:1.0/bInterfaceNumber", atomically: true, encoding: .utf8)
        try files.createSymbolicLink(
            atPath: "\(root)/dev/char/81:0",
            withDestinationPath: "../../" + video.dropFirst(root.count + 1)
        )
        try files.createSymbolicLink(
            atPath: "\(root)/dev/char/81:9",
            withDestinationPath: "../../devices/virtual/video4linux/video9"
        )
        try body(root)
    }

    @Test("a video node's USB device is the nearest ancestor with busnum and devnum, not the hub above it")
    func cameraBehindHub() throws {
        try Self.withTree { root in
            let found = try #require(USBSysfs.device(ofSysfsPath: "\(root)/dev/char/81:0"))
            #expect(found.bus == 1)
            #expect(found.address == 12)
            #expect(found.name == "1-1.2")
            #expect(found.path.hasSuffix("/usb1/1-1/1-1.2"))
        }
    }

    @Test("a node that is not on USB (vivid, v4l2loopback, uinput) has no USB device")
    func virtualNode() throws {
        try Self.withTree { root in
            #expect(USBSysfs.device(ofSysfsPath: "\(root)/dev/char/81:9") == nil)
            #expect(USBSysfs.device(ofSysfsPath: "\(root)/dev/char/81:77") == nil)
        }
    }

    @Test("nodes that are not character devices, or absent, resolve to nothing")
    func notANode() {
        #expect(USBSysfs.device(ofNode: "/nonexistent/video0") == nil)
        #expect(USBSysfs.device(ofNode: NSTemporaryDirectory()) == nil)
        // /dev/null is a character device but not on USB.
        #expect(USBSysfs.device(ofNode: "/dev/null") == nil)
    }

    @Test("resetting an absent device fails with libusb's no-device error")
    func resetAbsent() throws {
        let context = try USBContext()
        #expect {
            _ = try context.resetDevice(bus: 250, address: 127)
        } throws: { error in
            (error as? USBError)?.isDisconnected == true
        }
    }

    @Test("boothd's resetter: a node off USB has no device; resetting an absent device is a typed failure")
    func libusbResetter() async {
        let resetter = LibUSBDeviceReset()
        #expect(resetter.usbDevice(ofNode: "/dev/null") == nil)
        let absent = USBDeviceLocation(bus: 250, address: 127, port: "250-9")
        await #expect {
            try await resetter.reset(absent)
        } throws: { error in
            "\(error)".hasPrefix("USB 250-9 (bus 250 address 127): reset 250:127: LIBUSB_ERROR_NO_DEVICE")
        }
    }
}
