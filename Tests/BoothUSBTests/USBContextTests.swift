import BoothCore
import BoothUSB
import CLibUSB
import Testing

/// The host has no USB bus; these check the libusb adapter's plumbing. Transfers, hotplug and unplug are tested
/// against a dummy_hcd gadget in the lab (scripts/hwlab/guest-usb-serial.sh).
@Suite("libusb adapter")
struct USBContextTests {
    @Test func enumeratesWithoutError() throws {
        let context = try USBContext()
        let devices = try context.devices()
        for device in devices {
            #expect(device.port.hasPrefix("\(device.bus)-"))
        }
    }

    @Test func errorsCarryLibusbNames() {
        let error = USBError(operation: "read endpoint", code: LIBUSB_ERROR_NO_DEVICE.rawValue)
        #expect(error.isDisconnected)
        #expect("\(error)".hasPrefix("read endpoint: LIBUSB_ERROR_NO_DEVICE"))
        #expect(!USBError(operation: "x", code: LIBUSB_ERROR_TIMEOUT.rawValue).isDisconnected)
    }

    @Test func openingAnAbsentDeviceFailsClearly() throws {
        let context = try USBContext()
        #expect {
            _ = try USBTransferLink(context: context, bus: 250, address: 127, interface: 0)
        } throws: { error in
            (error as? USBError)?.isDisconnected == true
        }
    }

    @Test func hotplugStreamStartsAndStops() async throws {
        guard USBContext.hasHotplug else { return }
        let context = try USBContext()
        let events = try context.hotplugEvents()
        context.stopEvents()
        var count = 0
        for await _ in events { count += 1 }
        // With no bus there is nothing to enumerate; the stream must end once stopped.
        #expect(count == 0)
    }
}
