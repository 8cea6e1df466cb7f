import BoothMedia
import BoothService
import BoothUSB
import Foundation
import Logging

/// The wedged-camera watchdog's USB side in boothd: sysfs finds the camera's USB device, libusb resets it.
struct LibUSBCameraReset: USBDeviceResetting {
    func usbDevice(ofNode node: String) -> USBDeviceLocation? {
        USBSysfs.device(ofNode: node).map { USBDeviceLocation(bus: $0.bus, address: $0.address, port: $0.name) }
    }

    func reset(_ device: USBDeviceLocation) async throws(USBResetFailure) {
        // A port reset takes tens of milliseconds up to a few hundred: off the cooperative pool.
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
        if case .failure(let error) = result { throw USBResetFailure("\(error)") }
    }
}

extension CameraWatchdogSettings {
    /// The watchdog settings of boothd's configuration (`media.camera_max_resets`).
    init(_ media: BoothConfig.Media) {
        self.init(maximumResets: media.cameraMaxResets)
    }
}

enum CameraWatchdogWiring {
    /// Watches a hotplugged V4L2 camera's pipeline for wedges.
    static func attach(
        deviceID: String,
        node: String,
        pipeline: CameraPipeline,
        media: MediaDeviceCommands,
        settings: CameraWatchdogSettings,
        logger: Logger
    ) async -> CameraWatchdog {
        let watchdog = CameraWatchdog(
            deviceID: deviceID,
            node: node,
            pipeline: pipeline,
            media: media,
            resetter: LibUSBCameraReset(),
            settings: settings,
            logger: logger
        )
        await watchdog.attach()
        return watchdog
    }
}
