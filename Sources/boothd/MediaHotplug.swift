import BoothCore
import BoothMedia
import BoothProfiles
import BoothService
import BoothUdev
import BoothV4L2
import Foundation
import Logging
import ServiceLifecycle

/// Cameras (video4linux) and stethoscopes (ALSA capture) as udev reports them, present at start and hotplugged:
/// matched to firmware profiles, given a pipeline (cameras) or a capture source (stethoscopes), registered for the
/// session commands and the device list. Unplug tears the pipeline down and marks the device `gone`; re-plug
/// brings it back as `ready` (the time from the uevent to a playing pipeline is logged as `resume_ms`).
actor MediaHotplug: Service {
    let media: MediaDeviceCommands
    let profiles: ProfileLibrary
    let logger: Logger
    /// Cameras run on demand and stop this long after their last use (nil: always running).
    let cameraIdleStop: Duration?
    /// The live H.264 encoder cameras use (`media.encoder`).
    let encoder: H264EncoderPreference
    /// Told which camera feeds the live WebRTC video: the most recently plugged one that is still present.
    let liveCamera: @Sendable (CameraPipeline?) async -> Void
    /// No frame for this long while streaming is a wedge (`media.camera_stall_seconds`); see `CameraWatchdog`.
    var stallTimeout: Duration = .seconds(5)
    var watchdogSettings = CameraWatchdogSettings()
    /// Snapshot buttons, told which cameras are present.
    let buttons: CameraButtons?
    /// Told which stethoscope feeds the live WebRTC audio: the most recently plugged one still present (nil: none).
    let liveAudio: @Sendable (LiveStethoscope?) async -> Void
    private struct Present {
        var id: String
        var pipeline: CameraPipeline?
        var watchdog: CameraWatchdog?
    }
    /// Registered devices by udev syspath (a `remove` event carries no attributes to rebuild the id from).
    private var present: [String: Present] = [:]
    /// Syspaths of present cameras, oldest first: the last one is live.
    private var cameraOrder: [String] = []
    /// Present stethoscopes' live sources by syspath, oldest first: the last one is live.
    private var stethoscopeOrder: [(syspath: String, live: LiveStethoscope)] = []

    init(
        media: MediaDeviceCommands,
        profiles: ProfileLibrary,
        logger: Logger,
        mediaConfig settings: BoothConfig.Media,
        buttons: CameraButtons? = nil,
        liveAudio: @escaping @Sendable (LiveStethoscope?) async -> Void = { _ in },
        liveCamera: @escaping @Sendable (CameraPipeline?) async -> Void = { _ in }
    ) {
        self.stallTimeout = .milliseconds(Int64(settings.cameraStallSeconds * 1000))
        self.watchdogSettings = CameraWatchdogSettings(settings)
        self.buttons = buttons
        self.media = media
        self.profiles = profiles
        self.logger = logger
        self.cameraIdleStop = settings.cameraIdleStop
        self.encoder = settings.encoder
        self.liveAudio = liveAudio
        self.liveCamera = liveCamera
    }

    func run() async throws {
        let events = UdevMonitor.events(subsystems: ["video4linux", "sound"])
        await cancelWhenGracefulShutdown {
            for await event in events {
                await self.handle(event)
            }
        }
        for (_, device) in present {
            await device.watchdog?.detach()
            await media.unregister(deviceID: device.id)
            await device.pipeline?.close()
        }
        present = [:]
    }

    private func handle(_ event: UdevEvent) async {
        switch event {
        case .failed(let reason):
            logger.error(
                "udev monitoring unavailable: cameras and stethoscopes are not discovered",
                metadata: ["reason": "\(reason)"]
            )
        case .enumerated:
            logger.info("media devices enumerated", metadata: ["present": "\(present.count)"])
        case .device(let device):
            switch device.action {
            case "remove": await remove(device)
            case "existing", "add": await add(device, at: ContinuousClock.now)
            default: break
            }
        }
    }

    private func remove(_ device: UdevDevice) async {
        guard let known = present.removeValue(forKey: device.syspath) else { return }
        logger.notice("media device unplugged", metadata: ["device": "\(known.id)"])
        if let index = cameraOrder.firstIndex(of: device.syspath) {
            let wasLive = index == cameraOrder.count - 1
            cameraOrder.remove(at: index)
            if wasLive { await liveCamera(cameraOrder.last.flatMap { present[$0]?.pipeline }) }
        }
        await known.watchdog?.detach()
        await buttons?.cameraRemoved(deviceID: known.id)
        if let index = stethoscopeOrder.firstIndex(where: { $0.syspath == device.syspath }) {
            let wasLive = index == stethoscopeOrder.count - 1
            stethoscopeOrder.remove(at: index)
            // Peers keep their audio track; it goes quiet (the device is `gone`) until a stethoscope is live again.
            if wasLive { await liveAudio(stethoscopeOrder.last?.live) }
        }
        await media.unregister(deviceID: known.id)
        await known.pipeline?.close()
    }

    private func add(_ device: UdevDevice, at seen: ContinuousClock.Instant) async {
        guard present[device.syspath] == nil else { return }
        var device = device
        if SoundCardRegistration.isPending(device) {
            // The kernel sends a PCM's `add` before it names the card: classified now, a re-plugged stethoscope
            // would match no profile and stay `gone`. Events are handled one at a time, so a `remove` of this
            // device waits behind this (its card's id file vanishing ends the wait).
            let waiting = ContinuousClock.now
            guard let named = await SoundCardRegistration.settled(device) else {
                logger.warning(
                    "sound card not named within 3 s; its capture device is skipped",
                    metadata: ["syspath": "\(device.syspath)"]
                )
                return
            }
            logger.info(
                "sound card named after its capture device was added",
                metadata: [
                    "syspath": "\(device.syspath)", "card": "\(named.attributes["card.id"] ?? "")",
                    "waited_ms": "\(MediaDeviceCommands.milliseconds(ContinuousClock.now - waiting))",
                ]
            )
            device = named
        }
        guard let found = MediaDiscovery.classify(device) else { return }
        switch found.kind {
        case .camera(let devnode):
            await addCamera(found, devnode: devnode, seen: seen, syspath: device.syspath)
        case .audioCapture(let alsaDevice, _, let pcm):
            await addStethoscope(found, alsaDevice: alsaDevice, pcm: pcm, syspath: device.syspath)
        }
    }

    private func addCamera(
        _ found: DiscoveredMedia,
        devnode: String,
        seen: ContinuousClock.Instant,
        syspath: String
    )
        async
    {
        var logger = self.logger
        logger[metadataKey: "device"] = "\(found.id)"
        let node: V4L2Device
        let info: BoothV4L2.V4L2DeviceInfo
        let formats: [V4L2PixelFormat]
        do {
            node = try V4L2Device(path: devnode)
            info = try node.info()
            formats = try node.formats()
            node.close()
        } catch {
            logger.debug("video node skipped", metadata: ["node": "\(devnode)", "error": "\(error)"])
            return
        }
        guard info.isVideoCapture, info.canStream, let choice = CameraModeChoice.best(formats) else {
            logger.debug("video node is not a streaming capture device", metadata: ["node": "\(devnode)"])
            return
        }
        var usb: USBDeviceInfo?
        if case .v4l2(let described) = found.description { usb = described.usb }
        let description = DeviceDescription.v4l2(
            BoothCore.V4L2DeviceInfo(card: info.card, driver: info.driver, usb: usb)
        )
        let match = profiles.current.bestMatch(description)
        let role = match?.profile.role ?? .roomCamera
        var configuration = CameraConfiguration(
            source: .v4l2(device: devnode, format: choice.format, mode: choice.mode)
        )
        configuration.startTimeout = .seconds(20)
        configuration.stallTimeout = stallTimeout
        configuration.idleStopDelay = cameraIdleStop
        configuration.encoder = encoder
        let pipeline = CameraPipeline(configuration: configuration, logger: logger)
        do {
            try await pipeline.start()
        } catch {
            logger.error("camera did not start", metadata: ["node": "\(devnode)", "error": "\(error)"])
            await pipeline.close()
            return
        }
        let watchdog = await CameraWatchdogWiring.attach(
            deviceID: found.id,
            node: devnode,
            pipeline: pipeline,
            media: media,
            settings: watchdogSettings,
            logger: logger
        )
        present[syspath] = Present(id: found.id, pipeline: pipeline, watchdog: watchdog)
        cameraOrder.append(syspath)
        await liveCamera(pipeline)
        // Clients see a fault (and the recovery) while the device is still plugged in.
        let events = pipeline.events()
        let media = self.media
        let deviceID = found.id
        Task {
            for await event in events {
                switch event {
                case .fault(let fault): await media.updateCameraState(deviceID: deviceID, .error(reason: "\(fault)"))
                case .restarted, .started: await media.updateCameraState(deviceID: deviceID, .ready)
                case .stopped: return
                case .rungChanged, .idle: break
                }
            }
        }
        await media.register(
            camera: CameraEndpoint(
                deviceID: found.id,
                role: role,
                model: info.card,
                transport: "v4l2",
                pipeline: pipeline,
                controls: ExtensionUnitCameraControls(
                    base: V4L2CameraControls(path: devnode, limits: match?.profile.quirks.cameraControls ?? []),
                    declared: match?.profile.quirks.extensionControls ?? [],
                    link: UVCNodeLink(path: devnode)
                )
            )
        )
        await buttons?.cameraAdded(deviceID: found.id, syspath: syspath, options: match?.profile.options ?? [:])
        logger.notice(
            "camera ready",
            metadata: [
                "node": "\(devnode)", "card": "\(info.card)", "role": "\(role.rawValue)",
                "profile": "\(match?.profile.id ?? "-")", "mode": "\(choice.format.rawValue) \(choice.mode)",
                "resume_ms": "\(MediaDeviceCommands.milliseconds(ContinuousClock.now - seen))",
            ]
        )
    }

    private func addStethoscope(_ found: DiscoveredMedia, alsaDevice: String, pcm: Int, syspath: String) async {
        guard let match = profiles.current.bestMatch(found.description), match.profile.role == .stethoscope else {
            logger.debug("audio capture device is not a stethoscope", metadata: ["device": "\(found.description)"])
            return
        }
        let options = match.profile.options
        func option(_ key: String) -> String? {
            if case .text(let value) = options[key] { return value }
            return nil
        }
        // A card with several capture PCMs (snd-aloop) is a stethoscope on the one its profile names.
        guard pcm == Int(option("pcm_device") ?? "0") else { return }
        present[syspath] = Present(id: found.id, pipeline: nil, watchdog: nil)
        // One capture owner per device: the live WebRTC audio, recordings and the level meter share its pipeline.
        let source = SharedStethoscopeSource(
            alsa: AlsaStethoscopeSource(
                device: alsaDevice,
                sampleRate: option("sample_rate").flatMap(Int.init),
                channels: option("channels").flatMap(Int.init),
                defaultMode: option("mode").flatMap(StethoscopeMode.init(rawValue:)) ?? .bell
            )
        )
        await media.register(
            stethoscope: StethoscopeEndpoint(
                deviceID: found.id,
                model: match.profile.name,
                transport: "alsa",
                source: source
            )
        )
        let live = LiveStethoscope(deviceID: found.id, source: StethoscopeLiveSource(owner: source.owner))
        stethoscopeOrder.append((syspath, live))
        await liveAudio(live)
        logger.notice(
            "stethoscope ready",
            metadata: ["device": "\(found.id)", "alsa": "\(alsaDevice)", "profile": "\(match.profile.id)"]
        )
    }
}

/// The capture format and mode boothd asks of a camera: MJPEG when offered (cheap over USB) up to 1280x720, else
/// raw up to 640x480 (raw frames cost bus bandwidth and conversion); the largest discrete size with a whole frame
/// rate up to 30 fps (caps ask for `N/1`: a 30000/1001 interval would not negotiate as 30/1).
enum CameraModeChoice {
    static func best(_ formats: [V4L2PixelFormat]) -> (format: CaptureFormat, mode: VideoMode)? {
        let mjpeg = formats.first { $0.fourcc == "MJPG" }
        let raw = formats.first { $0.fourcc == "YUYV" } ?? formats.first { !$0.isCompressed }
        for (format, kind) in [(mjpeg, CaptureFormat.mjpeg), (raw, CaptureFormat.raw)] {
            guard let format else { continue }
            let largest: (width: UInt32, height: UInt32) = kind == .mjpeg ? (1280, 720) : (640, 480)
            let candidates = format.sizes.compactMap { size -> (V4L2FrameSize, Int)? in
                guard size.width <= largest.width, size.height <= largest.height else { return nil }
                let whole = size.intervals.filter {
                    $0.numerator > 0 && $0.denominator % $0.numerator == 0 && $0.denominator / $0.numerator <= 30
                }
                guard let best = whole.map({ Int($0.denominator / $0.numerator) }).max() else { return nil }
                return (size, best)
            }
            if let (size, fps) = candidates.max(by: { $0.0.width * $0.0.height < $1.0.width * $1.0.height }) {
                return (kind, VideoMode(width: Int(size.width), height: Int(size.height), framesPerSecond: fps))
            }
            if let range = format.sizeRange {
                let width = min(range.maxWidth, largest.width)
                let height = min(range.maxHeight, largest.height)
                return (kind, VideoMode(width: Int(width), height: Int(height), framesPerSecond: 30))
            }
        }
        return nil
    }
}

/// A V4L2 camera's controls a doctor may drive (brightness, contrast, zoom, focus, exposure, LED, ...), with the
/// ranges the driver reports, narrowed by the profile's `camera_controls` where it declares them. Named by role
/// (`zoom`, `focus`, `autoFocus`...).
struct V4L2CameraControls: CameraControlling {
    let path: String
    let limits: [CameraControlRange]

    func controls() async throws(DeviceCommandError) -> [CameraControlInfo] {
        try withDevice { device throws(V4L2Error) in
            try device.controls().compactMap { control -> CameraControlInfo? in
                guard let role = control.role, !control.isReadOnly, !control.isDisabled else { return nil }
                var minimum = control.minimum
                var maximum = control.maximum
                if let limit = limits.first(where: {
                    V4L2Control.key(for: $0.control) == control.key || $0.control == role.rawValue
                }) {
                    minimum = max(minimum, Int64(limit.minimum))
                    maximum = min(maximum, Int64(limit.maximum))
                }
                let value = (try? device.value(of: control)) ?? control.defaultValue
                return CameraControlInfo(
                    name: role.rawValue,
                    minimum: minimum,
                    maximum: maximum,
                    step: control.step,
                    defaultValue: control.defaultValue,
                    value: value
                )
            }
        }
    }

    func apply(_ control: CameraControlInfo, value: Int64) async throws(DeviceCommandError) -> CameraControlInfo {
        try withDevice { device throws(V4L2Error) in
            guard let target = try device.controls().first(where: { $0.role?.rawValue == control.name }) else {
                throw V4L2Error.unsupportedControl(name: control.name, device: path)
            }
            try device.set(target, to: value)
            var applied = control
            applied.value = (try? device.value(of: target)) ?? value
            return applied
        }
    }

    private func withDevice<T>(_ body: (V4L2Device) throws(V4L2Error) -> T) throws(DeviceCommandError) -> T {
        do {
            let device = try V4L2Device(path: path)
            defer { device.close() }
            return try body(device)
        } catch {
            throw DeviceCommandError(code: "device_error", message: "\(path): \(error)")
        }
    }
}

/// A stethoscope's live WebRTC audio, borrowed from its capture owner.
struct LiveStethoscope: Sendable {
    var deviceID: String
    var source: StethoscopeLiveSource
}
