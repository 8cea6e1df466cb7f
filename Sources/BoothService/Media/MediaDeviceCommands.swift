import BoothCore
import BoothMedia
import Foundation
import Logging
import Synchronization

/// A camera the session API can command: its pipeline (stills) and its controls.
public struct CameraEndpoint: Sendable {
    public var deviceID: String
    public var role: DeviceRole
    public var model: String
    public var transport: String
    public var pipeline: CameraPipeline
    public var controls: any CameraControlling

    public init(
        deviceID: String,
        role: DeviceRole,
        model: String,
        transport: String,
        pipeline: CameraPipeline,
        controls: any CameraControlling
    ) {
        self.deviceID = deviceID
        self.role = role
        self.model = model
        self.transport = transport
        self.pipeline = pipeline
        self.controls = controls
    }
}

/// A stethoscope the session API can ask for a recording.
public struct StethoscopeEndpoint: Sendable {
    public var deviceID: String
    public var model: String
    public var transport: String
    public var source: any StethoscopeCaptureSource

    public init(deviceID: String, model: String, transport: String, source: any StethoscopeCaptureSource) {
        self.deviceID = deviceID
        self.model = model
        self.transport = transport
        self.source = source
    }
}

/// The media devices' commands — `snapshot.take`, `camera.control` on cameras, `measurement.start` /
/// `measurement.stop` on stethoscopes (a recording) — turned into durable outbox artifacts.
///
/// A snapshot is committed (file fsynced, row and `artifact` event) before the command's result is sent, so a
/// crash right after the result loses nothing. A recording is started by the command and stored when it ends;
/// its `artifact` event announces it. Devices are registered and removed as they come and go (hotplug).
public final class MediaDeviceCommands: DeviceCommandHandler {
    /// The commands this handler answers (for a composite handler keyed by command name).
    public static let commandNames: Set<String> = [
        "snapshot.take", "camera.control", "measurement.start", "measurement.stop",
    ]

    let outbox: Outbox
    let registry: DeviceRegistry
    let scratchDirectory: String
    let logger: Logger
    /// Stethoscope level meters and live filter modes (StethoscopeLevels.swift); recordings hand the device over.
    public let levels: StethoscopeLevels
    private struct State {
        var cameras: [String: CameraEndpoint] = [:]
        var stethoscopes: [String: StethoscopeEndpoint] = [:]
        /// Recordings in progress, by device id: the capture, to end it early on `measurement.stop`.
        var recordings: [String: ActiveRecording] = [:]
        /// Cameras the wedged-camera watchdog gave up on, with the reason: their state stays `error` until the
        /// camera is registered again (re-plug).
        var cameraFailures: [String: String] = [:]
        /// Each registration of a device id (a plug) gets a new number: a recording of an earlier plug that ends
        /// late never writes the state of the device plugged since.
        var registrations: [String: Int] = [:]
        var lastRegistration = 0

        mutating func registered(_ deviceID: String) {
            lastRegistration += 1
            registrations[deviceID] = lastRegistration
        }

        /// Whether `deviceID` is the stethoscope of registration `number` (not unplugged, not plugged again since).
        func isCurrent(stethoscope deviceID: String, registration number: Int?) -> Bool {
            stethoscopes[deviceID] != nil && registrations[deviceID] == number
        }
    }
    private final class ActiveRecording: Sendable {
        let artifactID: String
        let capture = Mutex<StethoscopeCapture?>(nil)
        let stopRequested = Atomic<Bool>(false)
        init(artifactID: String) { self.artifactID = artifactID }
    }
    private let state = Mutex(State())

    /// `scratchDirectory` holds recordings while they are captured (the outbox then stores them durably).
    public init(outbox: Outbox, registry: DeviceRegistry, scratchDirectory: String, logger: Logger) {
        self.outbox = outbox
        self.registry = registry
        self.scratchDirectory = scratchDirectory
        self.logger = logger
        self.levels = StethoscopeLevels(registry: registry)
    }

    // MARK: devices

    public func register(camera: CameraEndpoint) async {
        state.withLock {
            $0.cameras[camera.deviceID] = camera
            $0.cameraFailures[camera.deviceID] = nil
            $0.registered(camera.deviceID)
        }
        await registry.update(status(camera.deviceID, camera.role, camera.model, camera.transport, .ready))
    }

    public func register(stethoscope: StethoscopeEndpoint) async {
        state.withLock {
            $0.stethoscopes[stethoscope.deviceID] = stethoscope
            $0.registered(stethoscope.deviceID)
        }
        await levels.register(deviceID: stethoscope.deviceID, source: stethoscope.source)
        await registry.update(
            status(stethoscope.deviceID, .stethoscope, stethoscope.model, stethoscope.transport, .ready)
        )
    }

    /// Reports a registered camera's state (a pipeline fault while it restarts, back to ready); ignored for a device
    /// that is not registered (it went away).
    /// A camera the watchdog gave up on stays in `error` with the watchdog's reason; its warning is kept.
    public func updateCameraState(deviceID: String, _ newState: DeviceState) async {
        guard
            let (camera, failure) = state.withLock({ state in
                state.cameras[deviceID].map { ($0, state.cameraFailures[deviceID]) }
            })
        else { return }
        var updated = status(
            deviceID,
            camera.role,
            camera.model,
            camera.transport,
            failure.map { .error(reason: $0) } ?? newState
        )
        updated.warning = await registry.status(id: deviceID)?.warning
        await registry.update(updated)
    }

    /// Sets or clears a registered camera's operator warning (the wedged-camera watchdog's reset reports).
    public func setCameraWarning(deviceID: String, _ warning: String?) async {
        guard state.withLock({ $0.cameras[deviceID] }) != nil, var current = await registry.status(id: deviceID),
            current.warning != warning
        else { return }
        current.warning = warning
        current.lastSeenMicros = Outbox.currentMicros()
        await registry.update(current)
    }

    /// Puts a camera in `error` with `reason` until it is registered again (the watchdog gave up on it).
    public func cameraFailed(deviceID: String, reason: String) async {
        guard state.withLock({ $0.cameras[deviceID] }) != nil else { return }
        state.withLock { $0.cameraFailures[deviceID] = reason }
        await updateCameraState(deviceID: deviceID, .error(reason: reason))
    }

    /// Forgets a device that went away; a recording in progress on it ends with what it captured.
    public func unregister(deviceID: String) async {
        let (camera, stethoscope, recording) = state.withLock { state in
            (
                state.cameras.removeValue(forKey: deviceID), state.stethoscopes.removeValue(forKey: deviceID),
                state.recordings.removeValue(forKey: deviceID)
            )
        }
        if let recording, let capture = recording.capture.withLock({ $0 }) { await capture.close() }
        if stethoscope != nil { await levels.unregister(deviceID: deviceID) }
        if let camera {
            await registry.update(status(deviceID, camera.role, camera.model, camera.transport, .gone))
        } else if let stethoscope {
            await registry.update(status(deviceID, .stethoscope, stethoscope.model, stethoscope.transport, .gone))
        }
    }

    private func status(
        _ id: String,
        _ role: DeviceRole,
        _ model: String,
        _ transport: String,
        _ state: DeviceState
    ) -> DeviceStatus {
        DeviceStatus(
            id: id,
            role: role,
            model: model,
            transport: transport,
            state: state,
            lastSeenMicros: Outbox.currentMicros()
        )
    }

    // MARK: commands

    public func perform(_ command: DeviceCommand) async throws(DeviceCommandError) -> [String: String] {
        let (camera, stethoscope) = state.withLock { ($0.cameras[command.deviceID], $0.stethoscopes[command.deviceID]) }
        guard camera != nil || stethoscope != nil else {
            if let known = await registry.status(id: command.deviceID) {
                // A device of another kind (BLE, serial...): its commands are the device supervisor's.
                throw DeviceCommandError(
                    code: "not_available",
                    message: "\(command.name): \(known.id) (\(known.role.rawValue)) has no device command handler "
                        + "in this boothd; cameras and stethoscopes do"
                )
            }
            throw DeviceCommandError(
                code: "unknown_device",
                message: "no device \"\(command.deviceID.prefix(128))\" is connected"
            )
        }
        switch (command.name, camera, stethoscope) {
        case ("snapshot.take", let camera?, _):
            return try await snapshot(camera)
        case ("camera.control", let camera?, _):
            return try await control(camera, command.arguments)
        case ("measurement.start", _, let stethoscope?):
            return try await startRecording(stethoscope, command.arguments)
        case ("measurement.stop", _, let stethoscope?):
            return try stopRecording(stethoscope)
        default:
            let kind = camera != nil ? "camera" : "stethoscope"
            let supported =
                camera != nil ? "snapshot.take, camera.control" : "measurement.start, measurement.stop"
            throw DeviceCommandError(
                code: "not_supported",
                message: "\(command.name) is not supported by \(kind) \(command.deviceID); supported: \(supported)"
            )
        }
    }

    /// A full-resolution JPEG from the camera's still branch, committed to the outbox before the reply.
    func snapshot(_ camera: CameraEndpoint) async throws(DeviceCommandError) -> [String: String] {
        let started = ContinuousClock.now
        var still: Snapshot?
        // A camera that is starting, or restarting after a fault (re-plug resumes within 2 s), gets 3 s.
        while still == nil {
            do {
                still = try await camera.pipeline.snapshot()
            } catch .notRunning where ContinuousClock.now - started < .seconds(3) {
                if let failure = state.withLock({ $0.cameraFailures[camera.deviceID] }) {
                    throw DeviceCommandError(code: "device_error", message: "\(camera.deviceID): \(failure)")
                }
                try? await Task.sleep(for: .milliseconds(100))
            } catch {
                throw DeviceCommandError(code: "device_error", message: "\(camera.deviceID): \(error)")
            }
        }
        guard let still else { throw DeviceCommandError(code: "device_error", message: "no snapshot") }
        let takenAt = Int64(still.capturedAtUnixSeconds * 1_000_000)
        let artifact = NewArtifact(
            kind: "snapshot",
            deviceID: camera.deviceID,
            takenAtMicros: takenAt,
            metadata: [
                "device": camera.deviceID,
                "model": camera.model,
                "source": still.device,
                "width": "\(still.width)",
                "height": "\(still.height)",
                "takenAt": Self.iso8601(micros: takenAt),
            ],
            parts: [ArtifactPart(name: "snapshot.jpg", mediaType: "image/jpeg", bytes: still.jpeg)],
            takenBoot: BootClock.now()  // the frame was captured just now
        )
        let stored: StoredArtifact
        do {
            stored = try await outbox.recordArtifact(artifact)
        } catch {
            throw DeviceCommandError(code: error.code.rawValue, message: error.message)
        }
        let total = ContinuousClock.now - started
        logger.info(
            "snapshot stored",
            metadata: [
                "device": "\(camera.deviceID)", "artifact": "\(stored.info.id)",
                "capture_ms": "\(Self.milliseconds(still.latency))", "total_ms": "\(Self.milliseconds(total))",
            ]
        )
        return [
            "artifactId": stored.info.id,
            "binding": stored.binding.rawValue,
            "width": "\(still.width)",
            "height": "\(still.height)",
            "captureMs": Self.milliseconds(still.latency),
            "latencyMs": Self.milliseconds(total),
        ]
    }

    /// `camera.control` with `control` and `value` (an integer in the control's range and step).
    func control(
        _ camera: CameraEndpoint,
        _ arguments: [String: String]
    ) async throws(DeviceCommandError)
        -> [String: String]
    {
        guard let name = arguments["control"], !name.isEmpty else {
            let names = try await camera.controls.controls().map(\.description).joined(separator: ", ")
            throw DeviceCommandError(
                code: "invalid_params",
                message: "camera.control needs \"control\" and \"value\"; this camera has: \(names)"
            )
        }
        guard let text = arguments["value"], let value = Int64(text) else {
            throw DeviceCommandError(
                code: "invalid_params",
                message:
                    "camera.control needs \"value\": an integer (got \(arguments["value"].map { "\"\($0.prefix(32))\"" } ?? "none"))"
            )
        }
        let applied = try await camera.controls.set(name, to: value)
        logger.info(
            "camera control set",
            metadata: ["device": "\(camera.deviceID)", "control": "\(applied.name)", "value": "\(applied.value)"]
        )
        return [
            "control": applied.name, "value": "\(applied.value)", "minimum": "\(applied.minimum)",
            "maximum": "\(applied.maximum)", "step": "\(applied.step)",
        ]
    }

    /// Starts a recording of `seconds` (default 20, 1–600) in `mode` (bell, diaphragm, wide; default the
    /// device's); replies at once with the artifact id, the artifact event follows when it is stored.
    func startRecording(
        _ device: StethoscopeEndpoint,
        _ arguments: [String: String]
    ) async throws(DeviceCommandError)
        -> [String: String]
    {
        let seconds: Double
        if let text = arguments["seconds"] {
            guard let value = Double(text), value.isFinite, value >= 1, value <= 600 else {
                throw DeviceCommandError(
                    code: "invalid_argument",
                    message: "seconds \"\(text.prefix(32))\" must be a number from 1 to 600"
                )
            }
            seconds = value
        } else {
            seconds = 20
        }
        let mode: StethoscopeMode
        if let text = arguments["mode"] {
            guard let value = StethoscopeMode(rawValue: text) else {
                throw DeviceCommandError(
                    code: "invalid_argument",
                    message: "mode \"\(text.prefix(32))\" is not one of "
                        + StethoscopeMode.allCases.map(\.rawValue).joined(separator: ", ")
                )
            }
            mode = value
        } else {
            mode = device.source.defaultMode
        }
        let artifactID = UUID().uuidString.lowercased()
        let recording = ActiveRecording(artifactID: artifactID)
        let (busy, registration) = state.withLock { state -> (String?, Int?) in
            if let current = state.recordings[device.deviceID] { return (current.artifactID, nil) }
            state.recordings[device.deviceID] = recording
            return (nil, state.registrations[device.deviceID])
        }
        if let busy {
            throw DeviceCommandError(
                code: "device_busy",
                message: "\(device.deviceID) is already recording (artifact \(busy)); stop it or wait"
            )
        }
        let capture: StethoscopeCapture
        // The level meter lets go of the device (an ALSA device opens once) and follows the recording's pipeline;
        // a shared capture (live audio, meter) is borrowed instead, with no gap.
        if !device.source.sharesCapture { await levels.handOver(deviceID: device.deviceID) }
        do {
            capture = try await device.source.openForRecording(mode: mode)
        } catch {
            _ = state.withLock { $0.recordings.removeValue(forKey: device.deviceID) }
            await levels.recordingStarted(deviceID: device.deviceID, pipeline: nil)
            let code = if case .deviceBusy = error { "device_busy" } else { "device_error" }
            throw DeviceCommandError(code: code, message: "\(device.deviceID): \(error)")
        }
        recording.capture.withLock { $0 = capture }
        await levels.recordingStarted(deviceID: device.deviceID, pipeline: capture.pipeline)
        let directory = (scratchDirectory as NSString).appendingPathComponent(artifactID)
        let job: RecordingJob
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            job = try await capture.pipeline.beginRecording(
                seconds: seconds,
                flacPath: (directory as NSString).appendingPathComponent("recording.flac"),
                picturePath: (directory as NSString).appendingPathComponent("phonocardiogram.png")
            )
        } catch {
            await capture.close()
            _ = state.withLock { $0.recordings.removeValue(forKey: device.deviceID) }
            await levels.recordingEnded(deviceID: device.deviceID)
            try? FileManager.default.removeItem(atPath: directory)
            throw DeviceCommandError(code: "device_error", message: "\(device.deviceID): \(error)")
        }
        await registry.update(status(device.deviceID, .stethoscope, device.model, device.transport, .measuring))
        Task {
            await self.finish(
                job,
                of: device,
                registration: registration,
                recording: recording,
                capture: capture,
                directory: directory
            )
        }
        return [
            "artifactId": artifactID, "seconds": Self.decimal(seconds), "mode": mode.rawValue,
            "sampleRate": "\(capture.info.sampleRate)", "state": "recording",
        ]
    }

    func stopRecording(_ device: StethoscopeEndpoint) throws(DeviceCommandError) -> [String: String] {
        guard let recording = state.withLock({ $0.recordings[device.deviceID] }) else {
            throw DeviceCommandError(code: "invalid_argument", message: "\(device.deviceID) is not recording")
        }
        recording.stopRequested.store(true, ordering: .relaxed)
        if let capture = recording.capture.withLock({ $0 }) {
            // Stopping the capture finishes the file with what was captured (a partial recording, kept).
            Task { await capture.close() }
        }
        return ["artifactId": recording.artifactID, "state": "stopping"]
    }

    /// Waits for the recording, stores it (retrying until the outbox takes it: nothing recorded is lost), then
    /// releases the device. The device's state is written only while it is still the plug (`registration`) the
    /// recording began on: an unplugged device stays `gone`, a re-plugged one keeps its own state.
    private func finish(
        _ job: RecordingJob,
        of device: StethoscopeEndpoint,
        registration: Int?,
        recording: ActiveRecording,
        capture: StethoscopeCapture,
        directory: String
    ) async {
        let logger = self.logger
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result: StethoscopeRecording
        do {
            result = try await job.result()
        } catch {
            await capture.close()
            await levels.recordingEnded(deviceID: device.deviceID)
            let current = state.withLock { state in
                if state.recordings[device.deviceID] === recording {
                    state.recordings.removeValue(forKey: device.deviceID)
                }
                return state.isCurrent(stethoscope: device.deviceID, registration: registration)
            }
            if current {
                await registry.update(
                    status(device.deviceID, .stethoscope, device.model, device.transport, .error(reason: "\(error)"))
                )
            }
            logger.error("recording failed", metadata: ["device": "\(device.deviceID)", "error": "\(error)"])
            return
        }
        if device.source.sharesCapture {
            // The meter borrows the shared capture before the recording gives it back: no gap in its readings.
            await levels.recordingEnded(deviceID: device.deviceID)
            await capture.close()
        } else {
            await capture.close()
            await levels.recordingEnded(deviceID: device.deviceID)
        }
        // The device is free again (a re-plugged device may already record anew: only this recording is released).
        let stillRegistered = state.withLock { state in
            if state.recordings[device.deviceID] === recording { state.recordings.removeValue(forKey: device.deviceID) }
            return state.isCurrent(stethoscope: device.deviceID, registration: registration)
                && state.recordings[device.deviceID] == nil
        }
        if stillRegistered {
            await registry.update(status(device.deviceID, .stethoscope, device.model, device.transport, .ready))
        }
        let takenAt = Int64(result.startedAt.timeIntervalSince1970 * 1_000_000)
        var metadata = [
            "device": device.deviceID,
            "model": device.model,
            "mode": result.mode.rawValue,
            "durationSeconds": Self.decimal(result.duration),
            "requestedSeconds": Self.decimal(result.requestedSeconds),
            "sampleRate": "\(result.sampleRate)",
            "channels": "\(result.channels)",
            "frames": "\(result.frames)",
            "peakDb": Self.decimal(result.peakDB),
            "rmsDb": Self.decimal(result.rmsDB),
            "takenAt": Self.iso8601(micros: takenAt),
        ]
        if let heart = result.heartRate {
            metadata["heartRateBpm"] = Self.decimal(heart.beatsPerMinute)
        }
        if result.truncated {
            metadata["truncatedBy"] = recording.stopRequested.load(ordering: .relaxed) ? "stop" : "device"
        }
        var parts: [ArtifactPart] = []
        do {
            parts.append(
                ArtifactPart(
                    name: "recording.flac",
                    mediaType: "audio/flac",
                    bytes: Array(try Data(contentsOf: URL(fileURLWithPath: result.flacPath)))
                )
            )
            if let picture = result.picturePath {
                parts.append(
                    ArtifactPart(
                        name: "phonocardiogram.png",
                        mediaType: "image/png",
                        bytes: Array(try Data(contentsOf: URL(fileURLWithPath: picture)))
                    )
                )
            }
        } catch {
            logger.error("recording files unreadable", metadata: ["device": "\(device.deviceID)", "error": "\(error)"])
        }
        let artifact = NewArtifact(
            id: recording.artifactID,
            kind: "recording",
            deviceID: device.deviceID,
            takenAtMicros: takenAt,
            complete: !result.truncated,
            metadata: metadata,
            parts: parts
        )
        var attempt = 0
        while true {
            do {
                let stored = try await outbox.recordArtifact(artifact)
                logger.info(
                    "recording stored",
                    metadata: [
                        "device": "\(device.deviceID)", "artifact": "\(stored.info.id)",
                        "seconds": "\(metadata["durationSeconds"] ?? "")",
                    ]
                )
                break
            } catch {
                attempt += 1
                logger.error(
                    "cannot store recording yet; retrying",
                    metadata: ["artifact": "\(artifact.id)", "attempt": "\(attempt)", "error": "\(error)"]
                )
                try? await Task.sleep(for: .milliseconds(min(5000, 100 * attempt * attempt)))
            }
        }
    }

    // MARK: formatting

    /// A duration as milliseconds with one decimal, for logs and results.
    public static func milliseconds(_ duration: Duration) -> String {
        let value = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        return String(format: "%.1f", value)
    }

    static func decimal(_ value: Double) -> String {
        String(format: "%.3f", value)
    }

    static func iso8601(micros: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(micros) / 1e6))
    }
}
