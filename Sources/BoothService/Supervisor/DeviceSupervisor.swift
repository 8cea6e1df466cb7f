import BoothCore
import Foundation
import Logging
import Metrics
import ServiceLifecycle

/// A device the supervisor keeps connected: who it is, which driver reads it, and how to reach it.
public struct ManagedDevice: Sendable {
    public var identity: DeviceIdentity
    public var role: DeviceRole
    public var driver: GATTMeasurementDriver
    /// Opens a link to the device; throws when it cannot be reached now (the supervisor retries with backoff).
    public var connect: @Sendable () async throws -> any GATTLink
    /// How to make the device measure on request (`measurement.start`/`stop`); nil when it only measures on its
    /// own (the patient presses its button).
    public var measurementControl: (any MeasurementControl)?
    /// Waits until the device can be reached (a BLE device advertises again); the device keeps its last state
    /// meanwhile instead of showing "connecting" for hours. nil: always reachable.
    public var waitUntilReachable: (@Sendable () async throws -> Void)?
    /// A device-specific driver run instead of `driver` (e.g. `PolarECGDriver` for heart rate + ECG stream).
    public var customDriver: (any GATTDeviceDriver)? = nil

    public init(
        identity: DeviceIdentity,
        role: DeviceRole,
        driver: GATTMeasurementDriver,
        measurementControl: (any MeasurementControl)? = nil,
        waitUntilReachable: (@Sendable () async throws -> Void)? = nil,
        connect: @escaping @Sendable () async throws -> any GATTLink
    ) {
        self.identity = identity
        self.role = role
        self.driver = driver
        self.measurementControl = measurementControl
        self.waitUntilReachable = waitUntilReachable
        self.connect = connect
    }
}

/// Keeps every managed device connected and read: one task per device, reconnect with backoff, state published
/// to the device registry, and every measurement handed to the sink (the durable outbox) before the next
/// notification is read. A measurement the sink cannot store yet is retried, never dropped.
public struct DeviceSupervisor: Service {
    let devices: [ManagedDevice]
    let sink: any MeasurementSink
    let registry: DeviceRegistry
    let logger: Logger
    let backoff: ReconnectBackoff
    let now: @Sendable () -> Int64
    /// Stamps each reading's receive time on the boot clock too (session binding across wall-clock steps).
    let bootNow: @Sendable () -> BootInstant?
    /// Device commands (`measurement.start`, `measurement.stop`, `device.forget`) for the session API.
    public let commands: DeviceSupervisorCommands
    /// Record cursors and local time lent to the drivers (stored records, Current Time writes).
    let driverServices: DriverServices
    /// Where live waveform chunks go (session API, strip recorder); nil drops them.
    let waveforms: WaveformFeed?

    public init(
        devices: [ManagedDevice],
        sink: any MeasurementSink,
        registry: DeviceRegistry,
        logger: Logger,
        backoff: ReconnectBackoff = ReconnectBackoff(),
        driverServices: DriverServices = DriverServices(),
        // The outbox's clock: readings and session starts/ends are stamped (and compared) the same way.
        now: @escaping @Sendable () -> Int64 = Outbox.currentMicros,
        bootNow: @escaping @Sendable () -> BootInstant? = BootClock.now,
        waveforms: WaveformFeed? = nil
    ) {
        self.driverServices = driverServices
        self.devices = devices
        self.sink = sink
        self.registry = registry
        self.logger = logger
        self.backoff = backoff
        self.now = now
        self.bootNow = bootNow
        self.commands = DeviceSupervisorCommands(devices: devices, registry: registry)
        self.waveforms = waveforms
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await runDevices()
        }
    }

    /// Supervises every device until the calling task is cancelled.
    func runDevices() async {
        await withDiscardingTaskGroup { group in
            for device in devices {
                group.addTask {
                    // Its own task, so that `device.forget` can stop this device alone.
                    let task = Task { await supervise(device) }
                    guard commands.adopt(device.identity.id, task: task) else { return task.cancel() }
                    await withTaskCancellationHandler {
                        await task.value
                    } onCancel: {
                        task.cancel()
                    }
                }
            }
        }
    }

    private func status(
        _ device: ManagedDevice,
        _ state: DeviceState,
        info: GATTMeasurementDriver.DeviceInfo? = nil,
        warning: String? = nil
    )
        -> DeviceStatus
    {
        DeviceStatus(
            id: device.identity.id,
            role: device.role,
            model: info?.model ?? device.identity.model,
            transport: device.identity.transport,
            state: state,
            batteryPercent: info?.batteryPercent,
            firmware: info?.firmware ?? device.identity.firmware,
            lastSeenMicros: now(),
            warning: warning
        )
    }

    /// One device's life: connect, read until the link ends, wait, reconnect — until cancelled. Devices found
    /// later (BLE discovery) are supervised by calling this from the discovering service's task group.
    public func supervise(_ device: ManagedDevice) async {
        var backoff = self.backoff
        var generator = SystemRandomNumberGenerator()
        let logger = self.logger.with(device: device.identity.id)
        // Battery and firmware stay known across reconnects: a device that is gone still shows its last battery.
        let info = InfoBox()
        await registry.update(status(device, .discovered))
        while !Task.isCancelled {
            if let waitUntilReachable = device.waitUntilReachable {
                do {
                    try await waitUntilReachable()
                } catch {
                    break
                }
            }
            let started = ContinuousClock.now
            await registry.update(status(device, .connecting, info: info.value))
            do {
                let link = try await device.connect()
                Counter(label: "boothd_device_connects_total", dimensions: labels(device)).increment()
                try await read(device, over: link, info: info, logger: logger)
                logger.info("device link ended")
                await registry.update(status(device, .gone, info: info.value))
            } catch is CancellationError {
                break
            } catch {
                if Task.isCancelled { break }
                logger.warning("device failed", metadata: ["error": "\(error)"])
                Counter(label: "boothd_device_failures_total", dimensions: labels(device)).increment()
                await registry.update(status(device, .error(reason: "\(error)"), info: info.value))
            }
            let delay = backoff.delay(afterUptime: ContinuousClock.now - started, using: &generator)
            do {
                try await Task.sleep(for: delay)
            } catch {
                break
            }
        }
    }

    private func read(_ device: ManagedDevice, over link: any GATTLink, info: InfoBox, logger: Logger) async throws {
        let identity = device.identity
        let makeContext: @Sendable () -> MeasurementContext = { [now, bootNow] in
            MeasurementContext(
                id: UUID().uuidString.lowercased(),
                device: identity,
                receivedAtMicros: now(),
                receivedBoot: bootNow()
            )
        }
        let emit: @Sendable (GATTMeasurementDriver.Event) async throws -> Void = { event in
            switch event {
            case .connected(let deviceInfo):
                info.value = deviceInfo
                logger.info(
                    "device ready",
                    metadata: [
                        "battery": "\(deviceInfo.batteryPercent.map(String.init) ?? "-")",
                        "firmware": "\(deviceInfo.firmware ?? "-")",
                    ]
                )
                info.warning = nil  // a new connection starts without the last one's warning
                await registry.update(status(device, .ready, info: deviceInfo))
            case .measurement(let measurement):
                try await deliver(measurement, logger: logger)
                Counter(
                    label: "boothd_measurements_total",
                    dimensions: labels(device) + [("kind", measurement.kind.rawValue)]
                ).increment()
                await registry.update(status(device, .ready, info: info.value, warning: info.warning))
            case .waveform(let chunk):
                waveforms?.publish(deviceID: identity.id, chunk, device: identity)
            case .deviceWarning(let warning):
                info.warning = warning
                if let warning { logger.warning("device warning", metadata: ["warning": "\(warning)"]) }
                await registry.update(status(device, .ready, info: info.value, warning: warning))
            case .measuring(let active):
                await registry.update(
                    status(device, active ? .measuring : .ready, info: info.value, warning: info.warning)
                )
            case .undecodable(let raw, let error):
                logger.warning("undecodable bytes", metadata: ["bytes": "\(Hex.string(raw))", "error": "\(error)"])
                Counter(label: "boothd_undecodable_total", dimensions: labels(device)).increment()
            case .clockSet(let time):
                logger.info("device clock set", metadata: ["local_time": "\(time)"])
                // The clock is now known to be right: readings it stamps are trusted by the safety rules.
                (sink as? SafeRecorder)?.deviceConnected(id: identity.id, deviceNow: time, receivedAtMicros: now())
            case .recordsFetched(let delivered, let duplicates, let problem):
                logger.info(
                    "stored records fetched",
                    metadata: [
                        "delivered": "\(delivered)", "duplicates": "\(duplicates)",
                        "problem": "\(problem.map(String.init(describing:)) ?? "-")",
                    ]
                )
            }
        }
        // A device-specific driver (ECG strap) replaces the standard SIG measurement driver.
        if let custom = device.customDriver {
            try await custom.run(on: link, makeContext: makeContext, emit: emit)
        } else {
            try await device.driver.run(on: link, makeContext: makeContext, services: driverServices, emit: emit)
        }
    }

    /// Metric labels for a device: its id and role, never anything about the patient.
    private func labels(_ device: ManagedDevice) -> [(String, String)] {
        [("device", device.identity.id), ("role", device.role.rawValue)]
    }

    /// Hands a measurement to the sink, retrying until it is stored: a measurement taken is never lost. The
    /// device's next notification waits meanwhile (an unacknowledged indication stays in the device's memory).
    /// If the device's task is cancelled while the measurement is still held back — the device was forgotten —
    /// the retries go on in a task of their own instead of dropping it.
    private func deliver(_ measurement: BoothCore.Measurement, logger: Logger) async throws {
        var attempt = 0
        while !(await Self.store(measurement, in: sink, attempt: &attempt, logger: logger)) {
            do {
                try await Task.sleep(for: Self.retryDelay(attempt))
            } catch {
                let sink = self.sink
                logger.notice("device stopped with a measurement held back; it is still retried")
                Task {
                    var attempt = attempt
                    while !(await Self.store(measurement, in: sink, attempt: &attempt, logger: logger)) {
                        try? await Task.sleep(for: Self.retryDelay(attempt))
                    }
                }
                throw error
            }
        }
    }

    static func retryDelay(_ attempt: Int) -> Duration { .milliseconds(min(5000, 100 * attempt * attempt)) }

    /// One attempt; true once stored.
    private static func store(
        _ measurement: BoothCore.Measurement,
        in sink: any MeasurementSink,
        attempt: inout Int,
        logger: Logger
    ) async -> Bool {
        do {
            try await sink.record(measurement)
            logger.debug("measurement stored", metadata: ["measurement": "\(measurement.id)"])
            return true
        } catch {
            attempt += 1
            logger.error(
                "cannot store measurement yet; retrying",
                metadata: ["measurement": "\(measurement.id)", "attempt": "\(attempt)", "error": "\(error)"]
            )
            return false
        }
    }
}

/// The last device info of one device, written and read only by that device's supervising task (the driver's
/// callbacks run one at a time on it).
private final class InfoBox: @unchecked Sendable {
    var value: GATTMeasurementDriver.DeviceInfo?
    /// The device's current warning (contact lost ...), kept on every status update until the driver clears it.
    var warning: String?
}

extension Logger {
    func with(device id: String) -> Logger {
        var copy = self
        copy[metadataKey: "device"] = "\(id)"
        return copy
    }
}
