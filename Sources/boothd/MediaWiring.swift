import BoothCore
import BoothMedia
import BoothService
import Foundation
import Logging

/// The media devices' session commands (snapshots, camera controls, stethoscope recordings) and the simulator's
/// camera and stethoscope registered with them.
enum MediaWiring {
    /// The handler boothd gives the session API; recordings are captured under `<state>/recording-scratch`.
    static func commands(config: BoothConfig, outbox: Outbox, devices: DeviceRegistry) -> MediaDeviceCommands {
        let scratch = (config.storage.stateDirectory as NSString).appendingPathComponent("recording-scratch")
        // A recording cut by a crash left only scratch files; the outbox never announced it.
        try? FileManager.default.removeItem(atPath: scratch)
        return MediaDeviceCommands(
            outbox: outbox,
            registry: devices,
            scratchDirectory: scratch,
            logger: Logger(label: "boothd.media")
        )
    }

    /// Registers the simulator's camera (when it runs) and its synthetic stethoscope.
    static func registerSimulated(camera: CameraPipeline?, with media: MediaDeviceCommands) async {
        if let camera {
            await media.register(
                camera: CameraEndpoint(
                    deviceID: "sim:camera",
                    role: .otoscope,
                    model: "Simulated camera (videotestsrc)",
                    transport: "simulated",
                    pipeline: camera,
                    controls: SimulatedCameraControls(pipeline: camera)
                )
            )
        }
        await media.register(
            stethoscope: StethoscopeEndpoint(
                deviceID: "sim:stethoscope",
                model: "Simulated stethoscope (synthetic heart sound, 72 bpm)",
                transport: "simulated",
                source: SimulatedStethoscopeSource()
            )
        )
    }
}
