import BoothCore
import BoothMedia
import Foundation
import Logging

/// One level-meter reading of a stethoscope, as the session API sends it (`stethoscope.level`).
public struct StethoscopeLevelReading: Sendable, Equatable {
    public var deviceID: String
    public var level: AudioLevel
    /// The input's condition after this reading (clipping, no signal, ok).
    public var condition: SignalCondition
    /// The filter mode of the pipeline that measured it.
    public var mode: StethoscopeMode
    /// `recording` when a recording's pipeline measured it, `live` the live WebRTC audio's, `monitor` the capture the
    /// level meter opened.
    public var source: String
}

/// Stethoscope level meters and filter modes for the session API.
///
/// Levels come from the pipeline already running on the device — a recording's, else the live WebRTC audio's — or
/// else from a capture the meter opens for as long as someone listens (a recording or live audio that starts takes
/// the device over, and the meter goes back to its own capture when it ends). The input stage's condition (clipping, no signal; `SignalMonitor`) becomes the
/// device's `warning` in the `DeviceRegistry`, cleared when the signal is fine again or nobody listens any more.
///
/// The mode (`setMode`) applies to the live WebRTC audio of the device, to the meter's capture, and is the mode the
/// next live or meter capture opens in; a recording keeps the mode it was asked for.
public actor StethoscopeLevels {
    struct Device {
        var source: any StethoscopeCaptureSource
        var mode: StethoscopeMode
        var live: StethoscopeLiveSource?
    }

    /// Where a device's levels currently come from.
    private struct Feed {
        var pipeline: StethoscopePipeline
        var source: String
        /// The meter's own capture (closed when nobody listens), nil for a recording's pipeline.
        var capture: StethoscopeCapture?
        var task: Task<Void, Never>
    }

    private let registry: DeviceRegistry
    private let logger: Logger
    private let thresholds: SignalMonitor.Thresholds
    private var devices: [String: Device] = [:]
    /// Live WebRTC sources registered before their device (the simulator wires live media first).
    private var pendingLive: [String: StethoscopeLiveSource] = [:]
    private var listeners: [String: [Int: AsyncStream<StethoscopeLevelReading>.Continuation]] = [:]
    private var feeds: [String: Feed] = [:]
    private var recordings: [String: StethoscopePipeline] = [:]
    private var livePipelines: [String: StethoscopePipeline] = [:]
    /// Devices a recording is opening: the meter must not reopen them meanwhile.
    private var handedOver: Set<String> = []
    /// Devices the meter is opening a capture on (a second listener waits for that one instead of opening again).
    private var opening: Set<String> = []
    private var monitors: [String: SignalMonitor] = [:]
    private var nextListener = 0

    public init(
        registry: DeviceRegistry,
        thresholds: SignalMonitor.Thresholds = .init(),
        logger: Logger = Logger(label: "boothd.stethoscope.levels")
    ) {
        self.registry = registry
        self.thresholds = thresholds
        self.logger = logger
    }

    // MARK: devices

    public func register(deviceID: String, source: any StethoscopeCaptureSource) {
        devices[deviceID] = Device(
            source: source,
            mode: source.defaultMode,
            live: pendingLive.removeValue(forKey: deviceID)
        )
    }

    /// The device went away: its listeners' streams end, its meter capture closes.
    public func unregister(deviceID: String) async {
        devices.removeValue(forKey: deviceID)
        for listener in (listeners.removeValue(forKey: deviceID) ?? [:]).values { listener.finish() }
        recordings.removeValue(forKey: deviceID)
        await stopFeed(deviceID)
    }

    /// The live WebRTC audio of `deviceID`: `setMode` changes its filter too, and its pipeline, while it runs, is
    /// where the meter reads levels.
    public func setLiveSource(_ source: StethoscopeLiveSource?, deviceID: String) async {
        await source?.observe(
            LiveAudioObserver(
                opening: { [weak self] in await self?.handOver(deviceID: deviceID) },
                running: { [weak self] pipeline in await self?.liveRunning(deviceID: deviceID, pipeline: pipeline) }
            )
        )
        if devices[deviceID] != nil {
            devices[deviceID]?.live = source
        } else {
            pendingLive[deviceID] = source
        }
    }

    // MARK: recordings

    /// A recording is about to open the device: the meter releases its own capture (an ALSA device opens once).
    public func handOver(deviceID: String) async {
        handedOver.insert(deviceID)
        if feeds[deviceID]?.capture != nil { await stopFeed(deviceID) }
    }

    /// The recording's pipeline runs (or failed to open: nil): the meter follows it.
    public func recordingStarted(deviceID: String, pipeline: StethoscopePipeline?) async {
        handedOver.remove(deviceID)
        if let pipeline { recordings[deviceID] = pipeline }
        await refeed(deviceID)
    }

    /// The recording ended (its pipeline is stopped): the meter opens its own capture again if someone listens.
    public func recordingEnded(deviceID: String) async {
        recordings.removeValue(forKey: deviceID)
        await refeed(deviceID)
    }

    /// The live audio's pipeline runs (or stopped: nil): the meter follows it unless a recording runs.
    public func liveRunning(deviceID: String, pipeline: StethoscopePipeline?) async {
        handedOver.remove(deviceID)
        livePipelines[deviceID] = pipeline
        await refeed(deviceID)
    }

    // MARK: listeners

    /// Starts delivering `deviceID`'s levels (opening a capture when no pipeline runs on it). A listener that does
    /// not keep up loses the oldest readings (`buffer`). Errors: `unknown_device`, `device_busy`, `device_error`.
    public func subscribe(
        deviceID: String,
        buffer: Int = 16
    ) async throws(DeviceCommandError) -> (
        key: Int, mode: StethoscopeMode, readings: AsyncStream<StethoscopeLevelReading>
    ) {
        guard let device = devices[deviceID] else { throw Self.unknown(deviceID) }
        nextListener += 1
        let key = nextListener
        let (stream, continuation) = AsyncStream.makeStream(
            of: StethoscopeLevelReading.self,
            bufferingPolicy: .bufferingNewest(max(buffer, 1))
        )
        listeners[deviceID, default: [:]][key] = continuation
        if feeds[deviceID] == nil {
            do {
                try await startFeed(deviceID)
            } catch {
                listeners[deviceID]?.removeValue(forKey: key)
                continuation.finish()
                throw error
            }
        }
        return (key, devices[deviceID]?.mode ?? device.mode, stream)
    }

    /// Stops a listener; the meter's capture closes with the last one, and its warning is cleared.
    public func unsubscribe(deviceID: String, key: Int) async {
        listeners[deviceID]?.removeValue(forKey: key)?.finish()
        guard listeners[deviceID]?.isEmpty ?? true else { return }
        listeners.removeValue(forKey: deviceID)
        await stopFeed(deviceID)
    }

    public func listenerCount(deviceID: String) -> Int { listeners[deviceID]?.count ?? 0 }
    /// Whether the meter holds its own capture of the device (no recording runs on it).
    public func hasOwnCapture(deviceID: String) -> Bool { feeds[deviceID]?.capture != nil }

    // MARK: mode

    /// Sets the filter mode of the device's live audio (and of the meter's capture). Returns the mode in force and
    /// whether a live WebRTC pipeline applied it now. Errors: `unknown_device`, `invalid_argument` (unknown mode).
    public func setMode(
        deviceID: String,
        mode text: String
    ) async throws(DeviceCommandError) -> (
        mode: StethoscopeMode, live: Bool
    ) {
        guard let device = devices[deviceID] else { throw Self.unknown(deviceID) }
        guard let mode = StethoscopeMode(rawValue: text) else {
            throw DeviceCommandError(
                code: "invalid_argument",
                message: "mode \"\(text.prefix(32))\" is not one of "
                    + StethoscopeMode.allCases.map(\.rawValue).joined(separator: ", ")
            )
        }
        devices[deviceID]?.mode = mode
        if let shared = device.source as? SharedStethoscopeSource {
            // One capture for everyone: the owner applies it (or keeps it until a recording's own mode ends).
            await shared.owner.setMode(mode)
        } else if let feed = feeds[deviceID], feed.capture != nil {
            await feed.pipeline.setMode(mode)
        }
        let live = await device.live?.setMode(mode) ?? false
        logger.info("stethoscope mode set", metadata: ["device": "\(deviceID)", "mode": "\(mode.rawValue)"])
        return (mode, live)
    }

    /// The mode the device's live audio and meter use now.
    public func mode(deviceID: String) -> StethoscopeMode? { devices[deviceID]?.mode }

    // MARK: feeds

    private func refeed(_ deviceID: String) async {
        await stopFeed(deviceID, clearWarning: false)
        guard !(listeners[deviceID]?.isEmpty ?? true) else { return }
        do {
            try await startFeed(deviceID)
        } catch {
            logger.warning(
                "stethoscope level meter not restarted",
                metadata: ["device": "\(deviceID)", "error": "\(error)"]
            )
        }
    }

    private func startFeed(_ deviceID: String) async throws(DeviceCommandError) {
        guard feeds[deviceID] == nil, let device = devices[deviceID] else { return }
        if let pipeline = recordings[deviceID] {
            attach(deviceID, pipeline: pipeline, source: "recording", capture: nil)
            return
        }
        if let pipeline = livePipelines[deviceID] {
            attach(deviceID, pipeline: pipeline, source: "live", capture: nil)
            return
        }
        // A recording is opening the device: its pipeline arrives through `recordingStarted`.
        guard !handedOver.contains(deviceID), !opening.contains(deviceID) else { return }
        opening.insert(deviceID)
        let capture: StethoscopeCapture
        do {
            capture = try await device.source.open(mode: device.mode)
            opening.remove(deviceID)
        } catch {
            opening.remove(deviceID)
            let code = if case .deviceBusy = error { "device_busy" } else { "device_error" }
            let failure = DeviceCommandError(code: code, message: "\(deviceID): \(error)")
            // Listeners that joined while it opened wait on this capture: their streams end (their owners let go).
            if feeds[deviceID] == nil {
                for listener in (listeners[deviceID] ?? [:]).values { listener.finish() }
            }
            throw failure
        }
        // Things moved while the device opened (a recording began, the listeners left, the device went away).
        guard feeds[deviceID] == nil, devices[deviceID] != nil, recordings[deviceID] == nil,
            livePipelines[deviceID] == nil, !handedOver.contains(deviceID), !(listeners[deviceID]?.isEmpty ?? true)
        else {
            await capture.close()
            if feeds[deviceID] == nil, !(listeners[deviceID]?.isEmpty ?? true) {
                if let pipeline = recordings[deviceID] {
                    attach(deviceID, pipeline: pipeline, source: "recording", capture: nil)
                } else if let pipeline = livePipelines[deviceID] {
                    attach(deviceID, pipeline: pipeline, source: "live", capture: nil)
                }
            }
            return
        }
        if device.mode != devices[deviceID]?.mode, let mode = devices[deviceID]?.mode {
            await capture.pipeline.setMode(mode)
        }
        attach(deviceID, pipeline: capture.pipeline, source: "monitor", capture: capture)
    }

    private func attach(
        _ deviceID: String,
        pipeline: StethoscopePipeline,
        source: String,
        capture: StethoscopeCapture?
    ) {
        let readings = pipeline.levelReadings()
        let task = Task { [weak self] in
            for await level in readings {
                guard let self else { return }
                let mode = await pipeline.currentMode
                await self.deliver(level, deviceID: deviceID, mode: mode, source: source)
            }
        }
        feeds[deviceID] = Feed(pipeline: pipeline, source: source, capture: capture, task: task)
    }

    private func stopFeed(_ deviceID: String, clearWarning: Bool = true) async {
        if let feed = feeds.removeValue(forKey: deviceID) {
            feed.task.cancel()
            if let capture = feed.capture { await capture.close() }
        }
        guard clearWarning else { return }
        monitors.removeValue(forKey: deviceID)
        await setWarning(nil, deviceID: deviceID)
    }

    private func deliver(_ level: AudioLevel, deviceID: String, mode: StethoscopeMode, source: String) async {
        var monitor = monitors[deviceID] ?? SignalMonitor(thresholds: thresholds)
        if level.stage == .input {
            _ = monitor.update(level)
            monitors[deviceID] = monitor
            // Checked on every input reading: a state change written by someone else (recording → measuring)
            // must not lose the warning.
            await setWarning(Self.warning(monitor.condition), deviceID: deviceID)
        }
        let reading = StethoscopeLevelReading(
            deviceID: deviceID,
            level: level,
            condition: monitor.condition,
            mode: mode,
            source: source
        )
        for listener in (listeners[deviceID] ?? [:]).values { listener.yield(reading) }
    }

    private func setWarning(_ warning: String?, deviceID: String) async {
        guard var status = await registry.status(id: deviceID), status.warning != warning else { return }
        // Only the meter's own warnings are replaced (never another component's).
        if warning == nil, let current = status.warning, !Self.isOwn(current) { return }
        status.warning = warning
        await registry.update(status)
    }

    static func warning(_ condition: SignalCondition) -> String? {
        switch condition {
        case .ok: nil
        case .clipping:
            "stethoscope clipping: the input reaches full scale (lower the gain, hold the chest piece still)"
        case .noSignal: "stethoscope no signal: the chest piece picks up nothing (check its placement and cable)"
        }
    }

    static func isOwn(_ warning: String) -> Bool {
        warning.hasPrefix("stethoscope clipping") || warning.hasPrefix("stethoscope no signal")
    }

    static func unknown(_ deviceID: String) -> DeviceCommandError {
        DeviceCommandError(code: "unknown_device", message: "no stethoscope \"\(deviceID.prefix(128))\" is connected")
    }
}
