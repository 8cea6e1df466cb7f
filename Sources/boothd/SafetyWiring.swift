import BoothAPI
import BoothCore
import BoothMedia
import BoothService
import Foundation

/// Consultation safety for the session API (issue 11): readiness and manual entry through the SafeRecorder.
extension Daemon {
    static func sessionSafety(recorder: SafeRecorder, inventory: BoothInventory, config: BoothConfig) -> SessionSafety {
        SessionSafety(recorder: recorder, inventory: inventory, config: config)
    }

    /// Lets the readiness check probe the simulator's camera: it serves the first camera role of the inventory
    /// (the room camera when the inventory lists none), and is ready when a preview frame arrives within 2 s.
    static func addReadinessProbe(for camera: CameraPipeline, id: String, model: String, to safety: SessionSafety) {
        let cameraRoles: [DeviceRole] = [.otoscope, .dermatoscope, .oralCamera, .roomCamera]
        let role = safety.inventoryRoles.first { cameraRoles.contains($0) } ?? .roomCamera
        let status = DeviceStatus(
            id: id,
            role: role,
            model: model,
            transport: "simulated",
            state: .ready,
            lastSeenMicros: Outbox.currentMicros()
        )
        safety.addCamera(ReadinessCamera(status: status) { await firstFrame(of: camera, within: .seconds(2)) })
    }

    static func firstFrame(of camera: CameraPipeline, within limit: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await _ in camera.previewFrames() { return true }
                return false
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}
