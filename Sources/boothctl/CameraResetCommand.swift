import ArgumentParser
import BoothCore
import BoothUSB
import Foundation

/// `boothctl camera usb-reset`: what boothd's wedged-camera watchdog does, by hand (sysfs parent, libusb reset).
struct CameraUSBReset: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usb-reset",
        abstract: "Reset the USB device a camera node belongs to (libusb_reset_device), as the wedge watchdog does."
    )
    @Option(help: "Device node whose USB parent is reset, e.g. /dev/video0 (any character device on USB works).")
    var device: String
    @Flag(help: "Only print the USB device the node belongs to.") var dryRun = false
    @Flag(help: "Machine-readable output.") var json = false

    struct Report: Encodable {
        var node: String
        var bus: Int
        var address: Int
        var port: String
        var sysfs: String
        var outcome: String
        var milliseconds: Double
    }

    func run() async throws {
        guard let usb = USBSysfs.device(ofNode: device) else {
            throw ValidationError("\(device): no such character device, or it is not on USB (no busnum/devnum parent)")
        }
        var report = Report(
            node: device,
            bus: usb.bus,
            address: usb.address,
            port: usb.name,
            sysfs: usb.path,
            outcome: "dry-run",
            milliseconds: 0
        )
        if !dryRun {
            let started = ContinuousClock.now
            // The same object boothd's watchdog resets a wedged camera with.
            let resetter = LibUSBDeviceReset()
            guard let location = resetter.usbDevice(ofNode: device) else {
                throw ValidationError("\(device) is no longer on USB")
            }
            do {
                try await resetter.reset(location)
                report.outcome = "reset"
            } catch {
                throw ValidationError("\(device): \(error)")
            }
            let elapsed = ContinuousClock.now - started
            report.milliseconds =
                Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
        }
        if json { return try printJSON(report) }
        print(
            "\(device) → USB \(usb.name) (bus \(usb.bus) address \(usb.address), \(usb.path)): \(report.outcome)"
                + (dryRun ? "" : String(format: " in %.1f ms", report.milliseconds))
        )
    }
}
