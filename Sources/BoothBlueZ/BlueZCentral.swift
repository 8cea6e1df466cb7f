import BoothCore
import Foundation
import Synchronization

/// Something that changed in BlueZ's world.
public enum BlueZEvent: Sendable, Equatable {
    case bluezAppeared
    case bluezVanished
    case adapterChanged(BlueZAdapterInfo)
    case adapterRemoved(path: String)
    /// A device object appeared or its properties changed (advertisement, connection state...).
    case deviceChanged(BlueZDeviceInfo)
    case deviceRemoved(path: String)
}

/// boothd's client of bluetoothd: one system bus connection on its own GLib thread, a mirror of BlueZ's objects,
/// and the operations the device drivers need. Signal subscriptions are fixed (four, made once); notifications of
/// every characteristic are routed from the one PropertiesChanged subscription, so reconnecting never adds
/// D-Bus matches and a stream's callback cannot be registered twice.
public final class BlueZCentral: Sendable {
    private let bus: GDBusBus
    private let connectGate = SerialGate()
    private let state = Mutex(State())

    private struct NotificationSink {
        var device: String
        var continuation: AsyncThrowingStream<[UInt8], any Error>.Continuation
        /// The AcquireNotify socket feeding this stream; nil for a StartNotify stream fed by property changes.
        var socket: NotifySocket? = nil
    }

    private struct State {
        var tree = BlueZObjectTree()
        var bluezPresent = false
        var listeners: [UInt64: AsyncStream<BlueZEvent>.Continuation] = [:]
        /// characteristic path → stream id → sink
        var sinks: [String: [UInt64: NotificationSink]] = [:]
        var nextID: UInt64 = 0
        var counters: [String: BLEUsageCounters] = [:]
        var agentRegistration: UInt32?
        /// The registered agent's answers and what it was asked.
        var agent: PairingAgentLogic?
        /// `ble.acquire_notify`: notifications through AcquireNotify sockets where BlueZ offers them.
        var acquireNotify = false
    }

    private init(bus: GDBusBus) {
        self.bus = bus
    }

    /// Connects to the system bus and loads BlueZ's objects (if bluetoothd runs; it may start later).
    public static func connect() async throws(BlueZError) -> BlueZCentral {
        let central = BlueZCentral(bus: try await GDBusBus.system())
        await central.subscribeSignals()
        try? await central.reload()
        return central
    }

    /// Ends every stream and the bus connection.
    public func close() {
        let (listeners, sinks) = state.withLock { state in
            defer {
                state.listeners = [:]
                state.sinks = [:]
            }
            return (Array(state.listeners.values), state.sinks.values.flatMap(\.values))
        }
        for listener in listeners { listener.finish() }
        for sink in sinks { sink.continuation.finish(throwing: BlueZError.linkLost(sink.device)) }
        bus.close()
    }

    // MARK: observing

    /// A snapshot of BlueZ's objects as last seen.
    public var objects: BlueZObjectTree { state.withLock { $0.tree } }
    public var isBlueZRunning: Bool { state.withLock { $0.bluezPresent } }
    /// D-Bus signal subscriptions held (constant: 4 once connected).
    public var signalSubscriptionCount: Int { bus.subscriptionCount }
    /// Event listeners held (leak checks over many reconnects).
    public var eventListenerCount: Int { state.withLock { $0.listeners.count } }
    /// Notification streams open, all characteristics together.
    public var notificationStreamCount: Int { state.withLock { $0.sinks.values.reduce(0) { $0 + $1.count } } }
    /// Connects and measurements seen per device id, since this central started.
    public var usage: [String: BLEUsageCounters] { state.withLock { $0.counters } }

    /// Every change from now on. The stream ends when the consumer stops iterating or the central closes.
    public func events() -> AsyncStream<BlueZEvent> {
        let (stream, continuation) = AsyncStream<BlueZEvent>.makeStream(bufferingPolicy: .bufferingNewest(256))
        let id = state.withLock { state in
            state.nextID += 1
            state.listeners[state.nextID] = continuation
            return state.nextID
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.listeners.removeValue(forKey: id) }
        }
        return stream
    }

    /// Waits until `condition` on the object tree is true (returns), false (throws `failure`) or time runs out.
    public func wait(
        for what: String,
        timeout: Double,
        failure: BlueZError? = nil,
        _ condition: @escaping @Sendable (BlueZObjectTree, Bool) -> Bool?
    ) async throws {
        let stream = events()
        if let verdict = state.withLock({ condition($0.tree, $0.bluezPresent) }) {
            if verdict { return }
            throw failure ?? BlueZError.linkLost(what)
        }
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await _ in stream {
                    if let verdict = self.state.withLock({ condition($0.tree, $0.bluezPresent) }) { return verdict }
                }
                return false
            }
            group.addTask {
                try await Task.sleep(for: .seconds(timeout))
                throw BlueZError.timeout(what, seconds: timeout)
            }
            defer { group.cancelAll() }
            guard let verdict = try await group.next() else { return }
            if !verdict { throw failure ?? BlueZError.linkLost(what) }
        }
    }

    // MARK: adapters

    /// The adapter to use: `preferred` (e.g. `hci0`) or the first powered one, else the first one.
    /// Throws a clear error when bluetoothd or the adapter is missing, blocked, or (unless `powerOn`) off.
    public func adapter(preferred: String? = nil, powerOn: Bool = true) async throws -> BlueZAdapterInfo {
        if !isBlueZRunning { try? await reload() }
        guard isBlueZRunning else { throw BlueZError.bluetoothdNotRunning }
        let adapters = objects.adapters()
        let chosen: BlueZAdapterInfo?
        if let preferred {
            chosen = adapters.first {
                $0.name == preferred || $0.address.caseInsensitiveCompare(preferred) == .orderedSame
            }
        } else {
            chosen = adapters.first(where: \.powered) ?? adapters.first
        }
        guard let adapter = chosen else { throw BlueZError.adapterAbsent(wanted: preferred) }
        if adapter.powered { return adapter }
        if RFKill.isBluetoothBlocked(adapter: adapter.name) { throw BlueZError.adapterBlocked(adapter.name) }
        guard powerOn else { throw BlueZError.adapterOff(adapter.name) }
        do {
            try await setProperty(adapter.path, BlueZName.adapter, "Powered", .boolean(true))
        } catch {
            if error.isBlueZError(".Blocked") { throw BlueZError.adapterBlocked(adapter.name) }
            // Busy: bluetoothd is powering the adapter itself (right after it started): wait for that below.
            if !error.isBlueZError(".Busy") { throw error }
        }
        let path = adapter.path
        try await wait(for: "powering \(adapter.name) on", timeout: 10, failure: .adapterOff(adapter.name)) {
            tree,
            running in
            guard running else { return false }
            return tree.adapters().first { $0.path == path }?.powered == true ? true : nil
        }
        return objects.adapters().first { $0.path == path } ?? adapter
    }

    /// Powers the adapter off and on again, resetting the controller's connection state: the recovery when every
    /// LE connect fails with an I/O error after bluetoothd restarted (the kernel refuses the ATT socket with
    /// ENOMEM; seen with emulated controllers, and what a user does by toggling Bluetooth).
    public func powerCycle(adapter name: String) async throws {
        let path = "/org/bluez/\(name)"
        try await setProperty(path, BlueZName.adapter, "Powered", .boolean(false))
        try await wait(for: "powering \(name) off", timeout: 10) { tree, running in
            guard running else { return false }
            return tree.adapters().first { $0.path == path }?.powered == false ? true : nil
        }
        _ = try await adapter(preferred: name)
    }

    // MARK: discovery

    public func startDiscovery(adapter: String, filter: BLEDiscoveryFilter) async throws {
        let path = "/org/bluez/\(adapter)"
        _ = try await bus.call(
            BlueZName.service,
            path,
            BlueZName.adapter,
            "SetDiscoveryFilter",
            .tuple([filter.bluezArgument])
        )
        do {
            _ = try await bus.call(BlueZName.service, path, BlueZName.adapter, "StartDiscovery")
        } catch {
            // InProgress: this client already scans on this adapter, and the filter above applies to it.
            guard error.isBlueZError(".InProgress") else { throw error }
        }
    }

    public func stopDiscovery(adapter: String) async {
        _ = try? await bus.call(BlueZName.service, "/org/bluez/\(adapter)", BlueZName.adapter, "StopDiscovery")
    }

    /// Devices matching `filter` as they are seen (first sighting and every later update), while scanning.
    /// Scanning stops when the consumer stops iterating.
    public func scan(adapter: String, filter: BLEDiscoveryFilter) async throws -> AsyncStream<BlueZDeviceInfo> {
        let events = events()
        try await startDiscovery(adapter: adapter, filter: filter)
        let known = objects.devices(adapter: adapter).filter(filter.matches)
        let (stream, continuation) = AsyncStream<BlueZDeviceInfo>.makeStream()
        let pump = Task {
            for device in known { continuation.yield(device) }
            for await event in events {
                if case .deviceChanged(let device) = event, device.adapter == adapter, filter.matches(device) {
                    continuation.yield(device)
                }
            }
            continuation.finish()
        }
        continuation.onTermination = { [weak self] _ in
            pump.cancel()
            guard let self else { return }
            Task { await self.stopDiscovery(adapter: adapter) }
        }
        return stream
    }

    // MARK: devices

    /// Connects and waits for GATT services to be resolved. One connection attempt at a time: several devices
    /// connecting at once (a booth's oximeter, cuff and thermometer after the adapter comes back) crashed the
    /// Debian 6.1 kernel's HCI connection handling in the lab (list corruption in hci_chan_del, bluetoothd
    /// killed), and controllers create LE connections one at a time anyway.
    public func connect(device path: String, timeout: Double) async throws {
        await connectGate.acquire()
        defer { Task { await connectGate.release() } }
        let address = BlueZPath(path)?.deviceAddress ?? path
        // A bonded, trusted device may have been reconnected by bluetoothd itself: then there is nothing to do.
        if objects.device(path)?.servicesResolved != true {
            do {
                _ = try await bus.call(BlueZName.service, path, BlueZName.device, "Connect", timeout: timeout)
                try await wait(for: "resolving services of \(address)", timeout: timeout) { tree, running in
                    guard running, let device = tree.device(path) else { return false }
                    if device.servicesResolved { return true }
                    return nil
                }
            } catch {
                // Abandon the attempt in bluetoothd too, or it keeps trying and blocks the next one.
                _ = try? await bus.call(BlueZName.service, path, BlueZName.device, "Disconnect", timeout: 5)
                throw error
            }
        }
        // ServicesResolved can be seen before the InterfacesAdded of the GATT objects (right after a bluetoothd
        // restart, with its attribute cache): a link handed out then finds no characteristic at all. Wait for
        // them; a device with none is a failed connection and is retried.
        do {
            try await wait(for: "GATT objects of \(address)", timeout: 5) { tree, running in
                guard running, tree.device(path)?.connected == true else { return false }
                return tree.characteristics(device: path).isEmpty ? nil : true
            }
        } catch {
            _ = try? await bus.call(BlueZName.service, path, BlueZName.device, "Disconnect", timeout: 5)
            throw error
        }
        state.withLock { $0.counters[BlueZCentral.deviceID(path), default: BLEUsageCounters()].connects += 1 }
    }

    public func disconnect(device path: String) async throws {
        _ = try await bus.call(BlueZName.service, path, BlueZName.device, "Disconnect", timeout: 10)
    }

    /// Pairs (bonds) with the device through boothd's agent, then marks it trusted so it may reconnect by itself.
    /// - Throws: `PairingError` saying why pairing failed (wrong passkey, passkey needed, timeout ...).
    public func pair(device path: String, timeout: Double = 60, agent: PairingAgentOptions? = nil) async throws {
        try await registerAgent(agent ?? PairingAgentOptions())
        if objects.device(path)?.paired != true {
            do {
                _ = try await bus.call(BlueZName.service, path, BlueZName.device, "Pair", timeout: timeout)
            } catch {
                // AlreadyExists: bonded already.
                guard error.isBlueZError(".AlreadyExists") else {
                    let log = state.withLock { $0.agent?.log.withLock { $0 } } ?? PairingAgentLog()
                    let address = BlueZPath(path)?.deviceAddress ?? path
                    throw PairingError.from(error, address: address, log: log, timeout: timeout)
                }
            }
        }
        try await setProperty(path, BlueZName.device, "Trusted", .boolean(true))
    }

    /// Forgets the device (bond and cached services).
    public func remove(device path: String) async throws {
        guard let parsed = BlueZPath(path) else { throw BlueZError.deviceNotFound(path) }
        _ = try await bus.call(
            BlueZName.service,
            "/org/bluez/\(parsed.adapter)",
            BlueZName.adapter,
            "RemoveDevice",
            .tuple([.objectPath(path)])
        )
    }

    /// A GATTLink for a connected device.
    public func link(device path: String) -> BlueZGATTLink {
        BlueZGATTLink(central: self, devicePath: path)
    }

    // MARK: characteristics

    func readValue(_ path: String) async throws -> [UInt8] {
        let reply = try await bus.call(
            BlueZName.service,
            path,
            BlueZName.gattCharacteristic,
            "ReadValue",
            .tuple([.dictionary([:])])
        )
        guard let bytes = reply.tupleMembers?.first?.bytes else {
            throw BlueZError.unexpectedReply(method: "ReadValue", signature: reply.signature)
        }
        return bytes
    }

    func writeValue(_ path: String, _ value: [UInt8], withResponse: Bool) async throws {
        let options: DBusValue = .dictionary(["type": .string(withResponse ? "request" : "command")])
        _ = try await bus.call(
            BlueZName.service,
            path,
            BlueZName.gattCharacteristic,
            "WriteValue",
            .tuple([.bytes(value), options])
        )
    }

    /// Uses AcquireNotify (one socket per characteristic, each notification one packet) instead of StartNotify
    /// (each value a D-Bus property change, which BlueZ may merge) for streams opened from now on.
    public func useAcquireNotify(_ enabled: Bool) {
        state.withLock { $0.acquireNotify = enabled }
    }

    /// Opens a notification stream for a characteristic; StartNotify is sent for the first stream of a path
    /// and StopNotify when its last stream ends. Streams end with `linkLost` when the device disconnects.
    /// With `useAcquireNotify(true)`, the first stream of a path tries AcquireNotify first.
    func notifications(_ path: String, device: String) async throws -> AsyncThrowingStream<[UInt8], any Error> {
        guard objects.device(device)?.connected == true else {
            throw BlueZError.notConnected(BlueZPath(device)?.deviceAddress ?? device)
        }
        if state.withLock({ $0.acquireNotify && $0.sinks[path] == nil }),
            let stream = try await acquiredNotifications(path, device: device)
        {
            return stream
        }
        let (stream, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream(
            bufferingPolicy: .bufferingNewest(1024)
        )
        let (id, first) = state.withLock { state in
            state.nextID += 1
            let first = state.sinks[path, default: [:]].isEmpty
            state.sinks[path, default: [:]][state.nextID] = NotificationSink(device: device, continuation: continuation)
            return (state.nextID, first)
        }
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            let last = self.state.withLock { state -> Bool in
                guard state.sinks[path]?.removeValue(forKey: id) != nil else { return false }
                if state.sinks[path]?.isEmpty ?? false {
                    state.sinks[path] = nil
                    return true
                }
                return false
            }
            if last, self.objects.device(device)?.connected == true {
                Task {
                    _ = try? await self.bus.call(BlueZName.service, path, BlueZName.gattCharacteristic, "StopNotify")
                }
            }
        }
        if first {
            do {
                _ = try await bus.call(BlueZName.service, path, BlueZName.gattCharacteristic, "StartNotify")
            } catch {
                // InProgress: already notifying for this client.
                if !error.isBlueZError(".InProgress") {
                    continuation.finish(throwing: error)
                    throw error
                }
            }
        }
        return stream
    }

    /// A stream fed by an AcquireNotify socket, or nil when BlueZ refuses AcquireNotify for this characteristic
    /// (NotSupported: an indicate-only characteristic, as AcquireNotify serves notifications only; NotPermitted:
    /// already acquired or notifying; UnknownMethod: an old bluetoothd): StartNotify serves it then.
    private func acquiredNotifications(
        _ path: String,
        device: String
    ) async throws -> AsyncThrowingStream<[UInt8], any Error>? {
        let acquired: Result<(fd: Int32, mtu: Int), BlueZError>
        do throws(BlueZError) {
            acquired = .success(
                try await bus.callForFD(
                    BlueZName.service,
                    path,
                    BlueZName.gattCharacteristic,
                    "AcquireNotify",
                    .tuple([.dictionary([:])])
                )
            )
        } catch {
            acquired = .failure(error)
        }
        let socket: NotifySocket
        switch acquired {
        case .success(let (fd, mtu)): socket = NotifySocket(fd: fd, mtu: mtu)
        case .failure(let error):
            if ["NotSupported", "NotPermitted", "UnknownMethod"].contains(where: { error.isBlueZError("." + $0) }) {
                return nil
            }
            throw error
        }
        let (stream, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream(
            bufferingPolicy: .bufferingNewest(1024)
        )
        let id = state.withLock { state in
            state.nextID += 1
            state.sinks[path, default: [:]][state.nextID] = NotificationSink(
                device: device,
                continuation: continuation,
                socket: socket
            )
            return state.nextID
        }
        continuation.onTermination = { [weak self] _ in
            // Closing the socket releases the notification in bluetoothd; no StopNotify.
            socket.close()
            self?.state.withLock { state in
                state.sinks[path]?.removeValue(forKey: id)
                if state.sinks[path]?.isEmpty ?? false { state.sinks[path] = nil }
            }
        }
        let address = BlueZPath(device)?.deviceAddress ?? device
        socket.start(name: "boothd-notify", into: continuation) { reason in
            BlueZError.callFailed(method: "AcquireNotify read", name: address, message: reason)
        }
        return stream
    }

    // MARK: internals

    static func deviceID(_ devicePath: String) -> String {
        "ble:" + (BlueZPath(devicePath)?.deviceAddress ?? devicePath)
    }

    private func setProperty(_ path: String, _ interface: String, _ name: String, _ value: DBusValue) async throws {
        _ = try await bus.call(
            BlueZName.service,
            path,
            BlueZName.properties,
            "Set",
            .tuple([.string(interface), .string(name), .variant(value)])
        )
    }

    private func reload() async throws {
        // The tree is replaced on the loop thread, in order with the signals, so none is lost or applied twice.
        let loaded = Mutex<Result<(Bool, BlueZObjectTree), BlueZError>?>(nil)
        _ = try await bus.call(BlueZName.service, "/", BlueZName.objectManager, "GetManagedObjects", timeout: 10) {
            [weak self] reply in
            guard let self else { return }
            var tree = BlueZObjectTree()
            do throws(BlueZError) {
                try tree.load(managedObjects: reply)
            } catch {
                loaded.withLock { $0 = .failure(error) }
                return
            }
            let wasPresent = self.state.withLock { state in
                defer {
                    state.tree = tree
                    state.bluezPresent = true
                }
                return state.bluezPresent
            }
            loaded.withLock { $0 = .success((wasPresent, tree)) }
        }
        guard let result = loaded.withLock({ $0 }) else { return }
        let (wasPresent, tree) = try result.get()
        if !wasPresent { broadcast(.bluezAppeared) }
        for adapter in tree.adapters() { broadcast(.adapterChanged(adapter)) }
        for device in tree.devices() { broadcast(.deviceChanged(device)) }
    }

    private func broadcast(_ event: BlueZEvent) {
        for listener in state.withLock({ Array($0.listeners.values) }) { listener.yield(event) }
    }

    private func subscribeSignals() async {
        _ = await bus.subscribe(
            sender: "org.freedesktop.DBus",
            interface: "org.freedesktop.DBus",
            member: "NameOwnerChanged",
            path: "/org/freedesktop/DBus",
            arg0: BlueZName.service
        ) { [weak self] signal in
            guard let self, let members = signal.body.tupleMembers, members.count == 3 else { return }
            if members[2].string?.isEmpty == false {
                Task { try? await self.reload() }
            } else {
                self.bluezVanished()
            }
        }
        _ = await bus.subscribe(
            sender: BlueZName.service,
            interface: BlueZName.objectManager,
            member: "InterfacesAdded"
        ) { [weak self] signal in
            guard let self, let path = signal.body.tupleMembers?.first?.string else { return }
            let (adapter, device) = self.state.withLock { state in
                try? state.tree.interfacesAdded(signal.body)
                return (state.tree.adapters().first { $0.path == path }, state.tree.device(path))
            }
            if let adapter { self.broadcast(.adapterChanged(adapter)) }
            if let device { self.broadcast(.deviceChanged(device)) }
        }
        _ = await bus.subscribe(
            sender: BlueZName.service,
            interface: BlueZName.objectManager,
            member: "InterfacesRemoved"
        ) { [weak self] signal in
            guard let self else { return }
            let (gone, wasAdapter, wasDevice) = self.state.withLock { state -> (String?, Bool, Bool) in
                guard let path = signal.body.tupleMembers?.first?.string else { return (nil, false, false) }
                let wasAdapter = state.tree.objects[path]?[BlueZName.adapter] != nil
                let wasDevice = state.tree.objects[path]?[BlueZName.device] != nil
                let removed = (try? state.tree.interfacesRemoved(signal.body)) ?? nil
                return (
                    removed ?? (state.tree.objects[path]?[BlueZName.device] == nil && wasDevice ? path : nil),
                    wasAdapter, wasDevice
                )
            }
            guard let gone else { return }
            self.endStreams { $0 == gone || $0.hasPrefix(gone + "/") }
            if wasAdapter { self.broadcast(.adapterRemoved(path: gone)) }
            if wasDevice { self.broadcast(.deviceRemoved(path: gone)) }
        }
        _ = await bus.subscribe(
            sender: BlueZName.service,
            interface: BlueZName.properties,
            member: "PropertiesChanged"
        ) { [weak self] signal in
            self?.propertiesChanged(signal)
        }
    }

    private func propertiesChanged(_ signal: DBusSignal) {
        let path = signal.path
        let (changed, sinks, device, adapter) = state.withLock { state in
            let changed = try? state.tree.propertiesChanged(path: path, signal.body)
            var sinks: [NotificationSink] = []
            if changed?.interface == BlueZName.gattCharacteristic, changed?.changed["Value"] != nil {
                // Socket-fed streams get their values from the socket, not from property changes.
                sinks = Array(state.sinks[path]?.values ?? [:].values)
                sinks.removeAll { $0.socket != nil }
                if !sinks.isEmpty {
                    state.counters[BlueZCentral.deviceID(path), default: BLEUsageCounters()].notifications += 1
                }
            }
            let device = changed?.interface == BlueZName.device ? state.tree.device(path) : nil
            let adapter =
                changed?.interface == BlueZName.adapter ? state.tree.adapters().first { $0.path == path } : nil
            return (changed, sinks, device, adapter)
        }
        guard let changed else { return }
        if let bytes = changed.changed["Value"]?.bytes {
            for sink in sinks { sink.continuation.yield(bytes) }
        }
        if let device {
            if !device.connected { endStreams { $0.hasPrefix(device.path + "/") } }
            broadcast(.deviceChanged(device))
        }
        if let adapter { broadcast(.adapterChanged(adapter)) }
    }

    private func bluezVanished() {
        let wasPresent = state.withLock { state in
            defer {
                state.tree.removeAll()
                state.bluezPresent = false
            }
            return state.bluezPresent
        }
        endStreams { _ in true }
        if wasPresent { broadcast(.bluezVanished) }
    }

    /// Ends the notification streams of the characteristics selected by `which`.
    private func endStreams(_ which: (String) -> Bool) {
        let ended = state.withLock { state -> [NotificationSink] in
            let paths = state.sinks.keys.filter(which)
            return paths.flatMap { state.sinks.removeValue(forKey: $0).map { Array($0.values) } ?? [] }
        }
        for sink in ended {
            sink.continuation.finish(
                throwing: BlueZError.linkLost(BlueZPath(sink.device)?.deviceAddress ?? sink.device)
            )
        }
    }

    // MARK: pairing agent

    private static let agentPath = "/org/boothd/agent"
    private static let agentXML = """
        <node><interface name="org.bluez.Agent1">
        <method name="Release"/>
        <method name="RequestPinCode"><arg type="o" direction="in"/><arg type="s" direction="out"/></method>
        <method name="DisplayPinCode"><arg type="o" direction="in"/><arg type="s" direction="in"/></method>
        <method name="RequestPasskey"><arg type="o" direction="in"/><arg type="u" direction="out"/></method>
        <method name="DisplayPasskey"><arg type="o" direction="in"/><arg type="u" direction="in"/>\
        <arg type="q" direction="in"/></method>
        <method name="RequestConfirmation"><arg type="o" direction="in"/><arg type="u" direction="in"/></method>
        <method name="RequestAuthorization"><arg type="o" direction="in"/></method>
        <method name="AuthorizeService"><arg type="o" direction="in"/><arg type="s" direction="in"/></method>
        <method name="Cancel"/>
        </interface></node>
        """

    /// Registers boothd's pairing agent as the default agent: NoInputNoOutput (Just Works; PIN and passkey
    /// requests are refused because a booth has nobody to type them) unless `options` give a passkey or a prompt.
    /// The first registration of a connection stays in force.
    public func registerAgent(_ options: PairingAgentOptions = PairingAgentOptions()) async throws {
        if state.withLock({ $0.agentRegistration != nil }) { return }
        let logic = PairingAgentLogic(options: options)
        let id = try await bus.export(path: Self.agentPath, introspection: Self.agentXML) { method, arguments in
            logic.answer(method, arguments)
        }
        state.withLock {
            $0.agentRegistration = id
            $0.agent = logic
        }
        let manager = "/org/bluez"
        do {
            _ = try await bus.call(
                BlueZName.service,
                manager,
                BlueZName.agentManager,
                "RegisterAgent",
                .tuple([.objectPath(Self.agentPath), .string(options.capability.rawValue)])
            )
        } catch {
            guard error.isBlueZError(".AlreadyExists") else { throw error }
        }
        // BlueZ routes the requests of a Pair call to the caller's agent. A passkey/terminal agent serves only
        // that call and leaves the default agent (incoming requests) alone: in the lab that is the simulated
        // device's own agent, which must answer with its own passkey for a wrong one to fail.
        guard options.capability == .noInputNoOutput else { return }
        _ = try? await bus.call(
            BlueZName.service,
            manager,
            BlueZName.agentManager,
            "RequestDefaultAgent",
            .tuple([.objectPath(Self.agentPath)])
        )
    }
}

/// Per-device usage, for the usage-rate report.
public struct BLEUsageCounters: Sendable, Hashable, Codable {
    public var connects = 0
    /// Notifications and indications delivered to a subscriber.
    public var notifications = 0
    public init() {}
}

/// rfkill state from sysfs (BlueZ 5.66 does not expose it on D-Bus).
enum RFKill {
    static func isBluetoothBlocked(adapter: String) -> Bool {
        let base = "/sys/class/bluetooth/\(adapter)"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: base) else { return false }
        for entry in entries where entry.hasPrefix("rfkill") {
            for kind in ["soft", "hard"] {
                let text = (try? String(contentsOfFile: "\(base)/\(entry)/\(kind)", encoding: .utf8)) ?? "0"
                if text.trimmingCharacters(in: .whitespacesAndNewlines) == "1" { return true }
            }
        }
        return false
    }
}

/// A first-come, first-served lock for async code (one holder; the others wait in order).
actor SerialGate {
    private var held = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        guard held else {
            held = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty {
            held = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}
