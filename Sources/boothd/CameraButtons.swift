import BoothCore
import BoothService
import BoothUSB
import BoothUdev
import Foundation
import Logging
import ServiceLifecycle

/// Cameras' snapshot buttons: evdev input devices (udev `input` subsystem, present and hotplugged) bound to the
/// camera that shares their USB device (uvcvideo's `KEY_CAMERA` input device), or to the camera whose profile
/// names them (`button_input`, with `button_key` for another key). A press takes a snapshot exactly as
/// `snapshot.take` does: an artifact in the outbox, announced to session clients.
actor CameraButtons: Service {
    let media: MediaDeviceCommands
    let logger: Logger
    private var cameras: [String: CameraButtonTarget] = [:]
    private var inputs: [String: InputDeviceInfo] = [:]
    /// Readers by input syspath, with the camera they serve.
    private var readers: [String: (deviceID: String, task: Task<Void, Never>)] = [:]
    /// Cameras taking a button snapshot right now (a second press meanwhile is ignored).
    private var busy: Set<String> = []

    init(media: MediaDeviceCommands, logger: Logger) {
        self.media = media
        self.logger = logger
    }

    func run() async throws {
        let events = UdevMonitor.events(subsystems: ["input"])
        await cancelWhenGracefulShutdown {
            for await event in events {
                switch event {
                case .device(let device): await self.handle(device)
                case .failed(let reason):
                    self.logger.error(
                        "udev monitoring unavailable: camera buttons are not read",
                        metadata: ["reason": "\(reason)"]
                    )
                case .enumerated: break
                }
            }
        }
        for (_, reader) in readers { reader.task.cancel() }
        readers = [:]
    }

    /// A camera became available: its button binding from the profile's options (`button_key`, `button_input`).
    func cameraAdded(deviceID: String, syspath: String, options: [String: ProfileOption]) {
        func text(_ key: String) -> String? {
            if case .text(let value) = options[key], !value.isEmpty { return value }
            return nil
        }
        var key = InputKeyCode.camera
        if let name = text("button_key") {
            if let code = InputKeyCode.code(name) {
                key = code
            } else {
                logger.error(
                    "profile option button_key is not a key name or code; using KEY_CAMERA",
                    metadata: ["device": "\(deviceID)", "button_key": "\(name)"]
                )
            }
        }
        cameras[deviceID] = CameraButtonTarget(
            deviceID: deviceID,
            usbDevicePath: USBSysfs.device(ofSysfsPath: syspath)?.path,
            key: key,
            inputName: text("button_input")
        )
        bindAll()
    }

    func cameraRemoved(deviceID: String) {
        cameras[deviceID] = nil
        for (syspath, reader) in readers where reader.deviceID == deviceID {
            reader.task.cancel()
            readers[syspath] = nil
        }
    }

    private func handle(_ device: UdevDevice) {
        switch device.action {
        case "remove":
            inputs[device.syspath] = nil
            readers.removeValue(forKey: device.syspath)?.task.cancel()
        case "existing", "add":
            let usb = USBSysfs.device(ofSysfsPath: device.syspath)?.path
            guard let input = InputDeviceInfo.evdev(device, usbDevicePath: usb) else { return }
            logger.debug(
                "input device",
                metadata: [
                    "node": "\(input.devnode)", "name": "\(input.name)", "keys": "\(input.keyBitmap)",
                    "usb": "\(usb ?? "-")",
                ]
            )
            inputs[device.syspath] = input
            bindAll()
        default:
            break
        }
    }

    private func bindAll() {
        for (syspath, input) in inputs where readers[syspath] == nil {
            guard
                let camera = cameras.values.sorted(by: { $0.deviceID < $1.deviceID }).first(where: { $0.matches(input) }
                )
            else { continue }
            readers[syspath] = (camera.deviceID, startReader(input, camera))
        }
    }

    private func startReader(_ input: InputDeviceInfo, _ camera: CameraButtonTarget) -> Task<Void, Never> {
        let logger = self.logger
        let presses = InputButtonReader.presses(node: input.devnode, key: camera.key) { error in
            if let error {
                logger.error(
                    "camera button cannot be read",
                    metadata: ["device": "\(camera.deviceID)", "error": "\(error)"]
                )
            } else {
                logger.notice(
                    "camera button bound",
                    metadata: [
                        "device": "\(camera.deviceID)", "input": "\(input.devnode)", "name": "\(input.name)",
                        "key": "\(camera.key)",
                    ]
                )
            }
        }
        return Task { [weak self] in
            for await press in presses {
                guard let self else { return }
                await self.pressed(camera.deviceID, press)
            }
        }
    }

    private func pressed(_ deviceID: String, _ press: InputEvent) {
        guard cameras[deviceID] != nil, busy.insert(deviceID).inserted else {
            logger.info(
                "camera button pressed while a snapshot is in progress: ignored",
                metadata: ["device": "\(deviceID)"]
            )
            return
        }
        let media = self.media
        let logger = self.logger
        Task {
            defer { self.done(deviceID) }
            do {
                let reply = try await media.perform(DeviceCommand(name: "snapshot.take", deviceID: deviceID))
                logger.notice(
                    "snapshot taken by the camera button",
                    metadata: [
                        "device": "\(deviceID)", "artifact": "\(reply["artifactId"] ?? "-")",
                        "latency_ms": "\(reply["latencyMs"] ?? "-")",
                    ]
                )
            } catch {
                logger.error("camera button snapshot failed", metadata: ["device": "\(deviceID)", "error": "\(error)"])
            }
        }
    }

    private func done(_ deviceID: String) {
        busy.remove(deviceID)
    }
}
