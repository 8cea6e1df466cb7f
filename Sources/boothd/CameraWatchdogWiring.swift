import BoothMedia
import BoothService
import BoothUSB
import Foundation
import Logging

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
            resetter: LibUSBDeviceReset(),
            settings: settings,
            logger: logger
        )
        await watchdog.attach()
        return watchdog
    }
}
