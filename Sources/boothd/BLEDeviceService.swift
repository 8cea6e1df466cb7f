import BoothBlueZ
import BoothCore
import BoothProfiles
import BoothService
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Real Bluetooth LE devices: discovers with the firmware profiles' service UUIDs, decides once per address what
/// to do with an advertiser (`BLEDeviceMatcher`), and hands every device it reads to the device supervisor, the
/// same path as the simulator's devices (driver → SafeRecorder → outbox → WebSocket). Keeping each device
/// connected (backoff, bluetoothd restarts, devices that connect only briefly after a measurement) is
/// `BLEDeviceSession`'s job.
struct BLEDeviceService: Service {
    let settings: BoothConfig.BLE
    let profiles: ProfileLibrary
    let supervisor: DeviceSupervisor
    let registry: DeviceRegistry
    let logger: Logger

    /// The BLE service when BLE is enabled and this machine has a Bluetooth adapter; none otherwise.
    static func services(
        config: BoothConfig,
        profiles: ProfileLibrary,
        sink: any MeasurementSink,
        registry: DeviceRegistry,
        waveforms: WaveformFeed? = nil
    ) -> [any Service] {
        make(config: config, profiles: profiles, sink: sink, registry: registry, waveforms: waveforms).map { [$0] }
            ?? []
    }

    static func make(
        config: BoothConfig,
        profiles: ProfileLibrary,
        sink: any MeasurementSink,
        registry: DeviceRegistry,
        waveforms: WaveformFeed? = nil
    ) -> BLEDeviceService? {
        let logger = Logger(label: "boothd.ble")
        guard config.ble.enabled else { return nil }
        guard !DeviceTransports.probe().bluetoothAdapters.isEmpty else {
            logger.info("no Bluetooth adapter on this machine: BLE devices are not read")
            return nil
        }
        return BLEDeviceService(
            settings: config.ble,
            profiles: profiles,
            // BLEDeviceSession backs off itself; the supervisor only paces a driver that fails on a live link.
            supervisor: DeviceSupervisor(
                devices: [],
                sink: sink,
                registry: registry,
                logger: Logger(label: "boothd.ble.supervisor"),
                backoff: ReconnectBackoff(
                    initial: .milliseconds(200),
                    maximum: .milliseconds(Int64(config.ble.driverRestartMaxSeconds * 1000))
                ),
                driverServices: DriverServices(
                    cursors: RecordCursorFile(directory: config.storage.stateDirectory),
                    localTime: Self.localTime
                ),
                waveforms: waveforms
            ),
            registry: registry,
            logger: logger
        )
    }

    /// The booth's local wall-clock time, as a device clock shows it after a Current Time write.
    @Sendable static func localTime() -> DeviceTimestamp {
        .wallClock(in: .current)
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await runUntilCancelled()
        }
    }

    private func runUntilCancelled() async {
        var central: BlueZCentral?
        while central == nil && !Task.isCancelled {
            do {
                central = try await BlueZCentral.connect()
            } catch {
                logger.error("cannot reach the system bus; retrying in 5 s", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(5))
            }
        }
        guard let central else { return }
        defer { central.close() }
        central.useAcquireNotify(settings.acquireNotify)
        let events = central.events()
        let state = DiscoveryState(
            matcher: BLEDeviceMatcher(profiles: profiles.current, bondedOnly: settings.connect == .bonded)
        )
        logger.notice(
            "BLE discovery",
            metadata: [
                "services": "\(state.matcher.discoveryServices.map(\.description).joined(separator: ","))",
                "names": "\(state.matcher.discoveryNamePrefixes.joined(separator: ","))",
                "connect": "\(settings.connect.rawValue)",
            ]
        )
        await withDiscardingTaskGroup { group in
            group.addTask { await Self.sampleLeakGauges(central) }
            await ensureDiscovery(central, state)
            for device in central.objects.devices() { await consider(device, central, state, &group) }
            for await event in events {
                switch event {
                case .bluezAppeared:
                    state.adapter = nil
                    await ensureDiscovery(central, state)
                case .bluezVanished:
                    logger.warning("bluetoothd left the bus; waiting for it")
                    state.adapter = nil
                    await report("bluetoothd is not running (org.bluez left the system bus)", state)
                case .adapterChanged(let adapter):
                    if !adapter.powered, adapter.name == (state.adapter ?? settings.adapter) {
                        logger.warning("Bluetooth adapter powered off", metadata: ["adapter": "\(adapter.name)"])
                        await report("Bluetooth adapter \(adapter.name) is powered off", state)
                    } else if state.adapter == nil
                        || (state.adapter == adapter.name && adapter.powered && !adapter.discovering)
                    {
                        await ensureDiscovery(central, state)
                    }
                case .adapterRemoved(let path):
                    if path.hasSuffix("/" + (state.adapter ?? (settings.adapter.isEmpty ? "-" : settings.adapter))) {
                        logger.warning("Bluetooth adapter removed", metadata: ["adapter": "\(path)"])
                        state.adapter = nil
                        await report("Bluetooth adapter \(path.split(separator: "/").last ?? "") was removed", state)
                    }
                case .deviceChanged(let device):
                    await consider(device, central, state, &group)
                case .deviceRemoved(let path):
                    await forget(path, state)
                }
            }
        }
    }

    /// Scans on the configured adapter (powering it on); failures are logged once per kind and retried on the
    /// next adapter or bluetoothd event.
    private func ensureDiscovery(_ central: BlueZCentral, _ state: DiscoveryState) async {
        do {
            let adapter = try await central.adapter(preferred: settings.adapter.isEmpty ? nil : settings.adapter)
            let filter = BLEDiscoveryFilter(
                serviceUUIDs: state.matcher.discoveryServices,
                namePrefixes: state.matcher.discoveryNamePrefixes,
                minimumRSSI: settings.minimumRSSI == 0 ? nil : settings.minimumRSSI
            )
            try await central.startDiscovery(adapter: adapter.name, filter: filter)
            if state.adapter != adapter.name {
                logger.info("discovering", metadata: ["adapter": "\(adapter.name)"])
            }
            state.adapter = adapter.name
            state.lastProblem = nil
            await report(nil, state)
        } catch {
            let problem = "\(error)"
            if state.lastProblem != problem {
                logger.warning("cannot discover BLE devices yet", metadata: ["error": "\(problem)"])
            }
            state.lastProblem = problem
            await report(problem, state)
        }
    }

    /// Why no BLE device can be reached right now (nil: the adapter works): every BLE device shows it as its
    /// `error` reason, so the operator sees "adapter off" instead of devices silently `gone`.
    private func report(_ problem: String?, _ state: DiscoveryState) async {
        guard state.adapterProblem != problem else { return }
        state.adapterProblem = problem
        if let problem {
            logger.warning("BLE devices unreachable", metadata: ["reason": "\(problem)"])
        } else {
            logger.notice("BLE adapter usable again")
        }
        await registry.setProblem(problem, transport: "ble")
        Gauge(label: "boothd_ble_adapter_usable").record(problem == nil ? 1 : 0)
    }

    /// Leak gauges for `/metrics`: D-Bus signal subscriptions (fixed at four), live notification streams and
    /// event listeners. They must stay flat over any number of device reconnects (docs/reliability.md).
    static func sampleLeakGauges(_ central: BlueZCentral) async {
        while !Task.isCancelled {
            Gauge(label: "boothd_ble_dbus_signal_subscriptions").record(central.signalSubscriptionCount)
            Gauge(label: "boothd_ble_notification_streams").record(central.notificationStreamCount)
            Gauge(label: "boothd_ble_event_listeners").record(central.eventListenerCount)
            try? await Task.sleep(for: .seconds(2))
        }
    }

    /// One advertisement or property change: a dictionary lookup for devices already decided.
    private func consider(
        _ device: BlueZDeviceInfo,
        _ central: BlueZCentral,
        _ state: DiscoveryState,
        _ group: inout DiscardingTaskGroup
    ) async {
        if let adapter = state.adapter, device.adapter != adapter { return }
        switch state.decided[device.address] {
        case .managed, .ignored: return
        case .waitingForBonding: if !device.paired { return }
        case .modeDependent(let seen): if seen == Self.modeKey(device) { return }
        case nil: break
        }
        // Wait for the advertisement's content (a first sighting may carry only the address).
        if device.serviceUUIDs.isEmpty && device.name == nil && device.manufacturerData.isEmpty { return }
        let advertisement = BLEAdvertisement(
            name: device.name,
            services: device.serviceUUIDs,
            manufacturerData: device.manufacturerData
        )
        switch state.matcher.verdict(advertisement, bonded: device.paired) {
        case .ignore(let reason):
            state.decided[device.address] = .ignored
            logger.debug("BLE device ignored", metadata: ["address": "\(device.address)", "reason": "\(reason)"])
        case .waitForBonding(let profile):
            state.decided[device.address] = .waitingForBonding
            logger.notice(
                "BLE device found but not bonded: pair it with `boothctl pair \(device.address)`",
                metadata: ["profile": "\(profile.id)"]
            )
            await registry.update(
                DeviceStatus(
                    id: device.deviceID,
                    role: profile.role,
                    model: profile.name,
                    transport: "ble",
                    state: .discovered,
                    lastSeenMicros: Int64(Date().timeIntervalSince1970 * 1_000_000)
                )
            )
        case .pairingMode(let profile):
            state.decided[device.address] = .modeDependent(Self.modeKey(device))
            logger.notice(
                "BLE device in pairing mode: pair it now with `boothctl pair \(device.address)`",
                metadata: ["profile": "\(profile.id)", "paired": "\(device.paired)"]
            )
            await registry.update(
                DeviceStatus(
                    id: device.deviceID,
                    role: profile.role,
                    model: profile.name,
                    transport: "ble",
                    state: .discovered,
                    lastSeenMicros: Int64(Date().timeIntervalSince1970 * 1_000_000)
                )
            )
        case .notNow(let profile, let reason):
            state.decided[device.address] = .modeDependent(Self.modeKey(device))
            logger.info(
                "BLE device not read now",
                metadata: ["address": "\(device.address)", "profile": "\(profile.id)", "reason": "\(reason)"]
            )
        case .manage(let profile, let driver):
            state.decided[device.address] = .managed
            logger.notice(
                "BLE device managed",
                metadata: ["address": "\(device.address)", "profile": "\(profile.id)", "driver": "\(driver.id)"]
            )
            let managed = Self.managedDevice(
                device,
                profile: profile,
                driver: driver,
                central: central,
                logger: logger,
                policy: ReconnectPolicy(initialDelay: settings.reconnectDelaySeconds)
            )
            group.addTask { await supervisor.supervise(managed) }
        }
    }

    /// What a mode-advertising device's verdict depends on: its manufacturer data and whether it is bonded.
    static func modeKey(_ device: BlueZDeviceInfo) -> String {
        device.manufacturerData.sorted { $0.key < $1.key }.map { "\($0.key):\(Hex.string($0.value))" }
            .joined(separator: ";") + (device.paired ? " bonded" : "")
    }

    private func forget(_ path: String, _ state: DiscoveryState) async {
        guard let address = BlueZPath(path)?.deviceAddress else { return }
        if case .modeDependent = state.decided[address] {
            state.decided[address] = nil
            await registry.remove(id: "ble:" + address)
            return
        }
        guard state.decided[address] == .waitingForBonding else { return }
        state.decided[address] = nil
        await registry.remove(id: "ble:" + address)
    }

    static func managedDevice(
        _ device: BlueZDeviceInfo,
        profile: DeviceProfile,
        driver: GATTMeasurementDriver,
        central: BlueZCentral,
        logger: Logger,
        policy: ReconnectPolicy = ReconnectPolicy()
    ) -> ManagedDevice {
        let source = BLELinkSource(
            central: central,
            adapter: device.adapter,
            address: device.address,
            logger: logger,
            policy: policy
        )
        var managed = ManagedDevice(
            identity: DeviceIdentity(
                id: device.deviceID,
                transport: "ble",
                model: profile.name,
                manufacturer: profile.manufacturer,
                profile: profile.id
            ),
            role: profile.role,
            driver: driver,
            waitUntilReachable: { try await source.waitUntilConnected() },
            connect: { try source.takeLink() }
        )
        // An ECG strap (heart rate + live ECG) or a vendor protocol (BerryMed, Jumper, Viatom ...).
        managed.customDriver = BLEDeviceMatcher.customDriver(for: profile)
        return managed
    }
}

/// What the discovery loop knows; touched only by that loop's task.
private final class DiscoveryState: @unchecked Sendable {
    enum Decision: Equatable {
        case managed, ignored, waitingForBonding
        /// A device whose profile reads its mode from the advertisement: judged again when this key (its
        /// manufacturer data and bond) changes.
        case modeDependent(String)
    }
    let matcher: BLEDeviceMatcher
    var adapter: String?
    var lastProblem: String?
    /// What `report` last told the device registry.
    var adapterProblem: String?
    var decided: [String: Decision] = [:]

    init(matcher: BLEDeviceMatcher) {
        self.matcher = matcher
    }
}

/// Bridges one `BLEDeviceSession` (which keeps the device connected) to the supervisor's wait-then-connect loop:
/// each usable connection becomes one link for one driver run.
final class BLELinkSource: Sendable {
    private let central: BlueZCentral
    private let session: BLEDeviceSession
    private let logger: Logger
    private struct State {
        var events: AsyncStream<BLEDeviceSession.Event>?
        var link: BlueZGATTLink?
        /// The generation of the connection whose link the last driver run got.
        var linkGeneration: Int?
        var handedOutGeneration: Int?
    }
    private let state = Mutex(State())

    init(
        central: BlueZCentral,
        adapter: String,
        address: String,
        logger: Logger,
        policy: ReconnectPolicy = ReconnectPolicy()
    ) {
        self.central = central
        self.session = BLEDeviceSession(
            central: central,
            adapter: adapter,
            address: address,
            policy: policy,
            powerOn: false
        )
        var logger = logger
        logger[metadataKey: "device"] = "ble:\(address)"
        self.logger = logger
    }

    private var devicePath: String { BlueZPath.device(adapter: session.adapter, address: session.address) ?? "" }

    /// Returns when the device is connected with its services resolved; the link is then ready in `takeLink()`.
    func waitUntilConnected() async throws {
        let existing = state.withLock { $0.events }
        let events: AsyncStream<BLEDeviceSession.Event>
        if let existing {
            events = existing
        } else {
            events = await session.run()
            state.withLock { $0.events = events }
        }
        // A driver run that ended while the device stayed connected (it failed on a live link): start the next
        // run on a fresh connection, so the session's reconnect logic stays the only one. Only when it is still
        // the same connection: a device that went away and was connected again meanwhile (bluetoothd reconnects
        // a device it knows within a fraction of a second of its advertising) is read on that new connection --
        // disconnecting it would throw the good link away and race the queued `connected` event.
        let handedOut = state.withLock { $0.handedOutGeneration }
        if let handedOut, await session.connectedGeneration == handedOut,
            central.objects.device(devicePath)?.connected == true
        {
            logger.info("restarting the connection after the driver ended on a live link")
            try? await central.disconnect(device: devicePath)
        }
        for await event in events {
            switch event {
            case .connected(let link, let generation):
                guard central.objects.device(devicePath)?.connected == true else { continue }
                logger.info("connected", metadata: ["generation": "\(generation)"])
                state.withLock {
                    $0.link = link
                    $0.linkGeneration = generation
                    $0.handedOutGeneration = nil
                }
                return
            case .disconnected(let generation):
                logger.info("disconnected", metadata: ["generation": "\(generation)"])
            case .attemptFailed(let reason, let retryIn):
                logger.info("connection attempt failed", metadata: ["error": "\(reason)", "retry_s": "\(retryIn)"])
            case .waiting(let what):
                if what.hasPrefix("power-cycling") {
                    logger.warning("connections keep failing with I/O errors: \(what)")
                } else {
                    logger.debug("waiting", metadata: ["for": "\(what)"])
                }
            }
        }
        throw CancellationError()
    }

    func takeLink() throws -> any GATTLink {
        try state.withLock { state in
            guard let link = state.link else { throw BlueZError.notConnected(session.address) }
            state.link = nil
            state.handedOutGeneration = state.linkGeneration
            return DisconnectEndsStreams(link: link)
        }
    }
}

/// A BLE device disconnecting is its normal way of leaving (a cuff after its reading, a device switched off):
/// the supervisor shows it `gone`, not `error`. Other failures still end the streams with their error.
struct DisconnectEndsStreams: GATTLink {
    let link: BlueZGATTLink

    func read(_ characteristic: GATTUUID) async throws -> [UInt8] { try await link.read(characteristic) }

    func write(_ characteristic: GATTUUID, _ value: [UInt8], withResponse: Bool) async throws {
        try await link.write(characteristic, value, withResponse: withResponse)
    }

    func notifications(_ characteristic: GATTUUID) async throws -> AsyncThrowingStream<[UInt8], any Error> {
        let upstream = try await link.notifications(characteristic)
        return AsyncThrowingStream { continuation in
            let pump = Task {
                do {
                    for try await bytes in upstream { continuation.yield(bytes) }
                    continuation.finish()
                } catch BlueZError.linkLost {
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in pump.cancel() }
        }
    }
}
