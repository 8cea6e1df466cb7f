import BoothCore
import BoothMedia
import Foundation
import Logging
import Metrics

/// Watchdog settings (`media.camera_stall_seconds` is the pipeline's `stallTimeout`).
public struct CameraWatchdogSettings: Sendable, Hashable {
    /// Resets tried for one wedge episode before the camera goes to `error`.
    public var maximumResets: Int
    /// A stall this long after the previous one starts a new episode (the reset count starts again).
    public var episodeWindow: Duration
    /// How long frames must flow after a restart before the warning is cleared (beyond the stall timeout).
    public var recoveredAfter: Duration

    public init(maximumResets: Int = 3, episodeWindow: Duration = .seconds(60), recoveredAfter: Duration = .seconds(1))
    {
        self.maximumResets = maximumResets
        self.episodeWindow = episodeWindow
        self.recoveredAfter = recoveredAfter
    }
}

/// Resets a wedged camera. The pipeline reports a stall when no frame arrived for its stall timeout while
/// PLAYING; the pipeline is then torn down, and before it restarts this resets the camera's USB device, warns
/// the clients (the device's `warning`), logs and counts it (`boothd_camera_usb_resets_total`). A camera still
/// wedged after `maximumResets` resets within one episode goes to `error` with the reason, and its pipeline stays
/// stopped until the camera is plugged in again. Other faults (unplug, stream errors) restart as before.
public actor CameraWatchdog {
    public let deviceID: String
    let node: String?
    let pipeline: CameraPipeline
    let media: MediaDeviceCommands
    let resetter: (any USBDeviceResetting)?
    let settings: CameraWatchdogSettings
    let logger: Logger
    private var attempts = 0
    private var lastStall: ContinuousClock.Instant?
    private var episode = 0
    private var events: Task<Void, Never>?
    /// USB resets done (successful or not), for tests and logs.
    public private(set) var resets = 0
    /// Set when the watchdog gave up on the camera.
    public private(set) var failure: String?

    public init(
        deviceID: String,
        node: String?,
        pipeline: CameraPipeline,
        media: MediaDeviceCommands,
        resetter: (any USBDeviceResetting)?,
        settings: CameraWatchdogSettings = CameraWatchdogSettings(),
        logger: Logger
    ) {
        self.deviceID = deviceID
        self.node = node
        self.pipeline = pipeline
        self.media = media
        self.resetter = resetter
        self.settings = settings
        self.logger = logger
    }

    /// Installs the watchdog on the pipeline (the recovery hook) and follows its restarts to clear the warning.
    public func attach() async {
        await pipeline.setRecoveryHook { [weak self] fault in
            guard let self else { return true }
            return await self.recover(after: fault)
        }
        let stream = pipeline.events()
        events = Task { [weak self] in
            for await event in stream {
                guard let self else { return }
                if case .restarted = event { await self.restarted() }
            }
        }
    }

    /// Stops following the pipeline (the camera went away).
    public func detach() async {
        events?.cancel()
        events = nil
        await pipeline.setRecoveryHook(nil)
    }

    /// Runs between the teardown of a faulted pipeline and its restart; false: do not restart.
    func recover(after fault: CameraFault) async -> Bool {
        guard case .stalled(let seconds) = fault else { return true }
        let now = ContinuousClock.now
        if let lastStall, now - lastStall > settings.episodeWindow { attempts = 0 }
        lastStall = now
        episode += 1
        let silent = String(format: "%.1f", seconds)
        let location = node.flatMap { resetter?.usbDevice(ofNode: $0) }
        Counter(label: "boothd_camera_stalls_total", dimensions: [("device", deviceID)]).increment()
        guard attempts < settings.maximumResets else {
            let what = location.map { "\(attempts) USB resets of \($0)" } ?? "\(attempts) restarts (not a USB device)"
            let reason = "camera wedged: no frames for \(silent) s after \(what); re-plug the camera"
            failure = reason
            logger.error("camera wedged, giving up", metadata: ["device": "\(deviceID)", "reason": "\(reason)"])
            Counter(label: "boothd_camera_wedged_total", dimensions: [("device", deviceID)]).increment()
            await media.cameraFailed(deviceID: deviceID, reason: reason)
            return false
        }
        attempts += 1
        let outcome: String
        if let location, let resetter {
            resets += 1
            do throws(USBResetFailure) {
                try await resetter.reset(location)
                outcome = "\(location) reset"
                Counter(label: "boothd_camera_usb_resets_total", dimensions: [("device", deviceID), ("result", "ok")])
                    .increment()
            } catch {
                outcome = "reset of \(location) failed: \(error)"
                Counter(
                    label: "boothd_camera_usb_resets_total",
                    dimensions: [("device", deviceID), ("result", "failed")]
                ).increment()
            }
        } else {
            outcome = "not a USB device: pipeline restarted without a reset"
        }
        let warning =
            "camera wedged (no frame for \(silent) s): \(outcome), restarting "
            + "(\(attempts)/\(settings.maximumResets))"
        logger.warning(
            "camera wedged, resetting",
            metadata: [
                "device": "\(deviceID)", "node": "\(node ?? "-")", "silent_s": "\(silent)", "outcome": "\(outcome)",
                "attempt": "\(attempts)", "max": "\(settings.maximumResets)",
            ]
        )
        await media.setCameraWarning(deviceID: deviceID, warning)
        return true
    }

    /// After a restart: when no new stall came within the stall timeout plus `recoveredAfter`, frames flow again:
    /// the warning is cleared (the reset count is kept for the episode window).
    private func restarted() {
        guard lastStall != nil, failure == nil else { return }
        let episode = self.episode
        let wait = pipeline.configuration.stallTimeout + settings.recoveredAfter
        Task { [weak self] in
            try? await Task.sleep(for: wait)
            await self?.recoveredIfQuiet(since: episode)
        }
    }

    private func recoveredIfQuiet(since episode: Int) async {
        guard episode == self.episode, failure == nil else { return }
        logger.notice("camera recovered after a stall", metadata: ["device": "\(deviceID)", "resets": "\(resets)"])
        await media.setCameraWarning(deviceID: deviceID, nil)
    }
}
