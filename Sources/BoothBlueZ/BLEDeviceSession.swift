import BoothCore

/// Keeps one device connected: connects, hands out a link per connection, and on any loss (device off, out of
/// range, bluetoothd restart) backs off and reconnects, scanning when BlueZ forgot the device.
/// Drive it with ``run()``; the stream ends when the consumer stops iterating (the device is then disconnected).
public actor BLEDeviceSession {
    public enum Event: Sendable {
        /// A usable connection. `generation` grows by one per connection; streams of older links have ended.
        case connected(BlueZGATTLink, generation: Int)
        case disconnected(generation: Int)
        /// A connection attempt failed; the session retries after `retryIn` seconds.
        case attemptFailed(String, retryIn: Double)
        /// Waiting for bluetoothd or for the device to advertise.
        case waiting(String)
    }

    public nonisolated let address: String
    public nonisolated let adapter: String
    private let central: BlueZCentral
    private var machine: ReconnectMachine
    private var output: AsyncStream<Event>.Continuation?
    private var inbox: AsyncStream<ReconnectMachine.Event>.Continuation?
    private var tasks: [Task<Void, Never>] = []
    private var lastError = ""
    /// Consecutive connects that failed with an I/O error; at `ioErrorsBeforeReset` the adapter is power-cycled.
    private var ioErrors = 0
    static let ioErrorsBeforeReset = 3

    /// Whether a connect or scan attempt powers the adapter on (boothctl: yes; boothd: no, its discovery loop
    /// powers the adapter when it starts and when bluetoothd returns, and an adapter someone switched off
    /// stays off and is reported so).
    private let powerOn: Bool

    public init(
        central: BlueZCentral,
        adapter: String,
        address: String,
        policy: ReconnectPolicy = ReconnectPolicy(),
        powerOn: Bool = true
    ) {
        self.central = central
        self.adapter = adapter
        self.address = address.uppercased()
        self.machine = ReconnectMachine(policy: policy)
        self.powerOn = powerOn
    }

    private var devicePath: String { BlueZPath.device(adapter: adapter, address: address) ?? "" }

    /// The generation of the connection that is up now (as last published), nil while not connected.
    public var connectedGeneration: Int? {
        if case .connected(let generation) = machine.state { return generation }
        return nil
    }

    /// Starts the session. Call once.
    public func run() -> AsyncStream<Event> {
        let (stream, continuation) = AsyncStream<Event>.makeStream()
        let (events, inboxContinuation) = AsyncStream<ReconnectMachine.Event>.makeStream()
        output = continuation
        inbox = inboxContinuation
        let bluez = central.events()
        let path = devicePath
        // BlueZ's view → machine events.
        tasks.append(
            Task { [weak self] in
                for await event in bluez {
                    guard let self else { return }
                    switch event {
                    case .bluezVanished: await self.feed(.bluezVanished)
                    case .bluezAppeared:
                        await self.feed(.bluezAppeared(deviceKnown: self.central.objects.device(path) != nil))
                    case .deviceChanged(let device) where device.path == path:
                        await self.feed(.deviceAppeared)
                        // Judged on the current state, not the event's: a change queued before the connection
                        // completed must not end the new connection.
                        if !device.connected, self.central.objects.device(path)?.connected != true {
                            await self.feed(.disconnected)
                        }
                    case .deviceRemoved(let removed) where removed == path: await self.feed(.deviceRemoved)
                    default: break
                    }
                }
            }
        )
        tasks.append(
            Task { [weak self] in
                for await event in events { await self?.handle(event) }
            }
        )
        continuation.onTermination = { [weak self] _ in
            Task { await self?.stop() }
        }
        let objects = central.objects
        feed(.start(bluezPresent: central.isBlueZRunning, deviceKnown: objects.device(path) != nil))
        return stream
    }

    private func feed(_ event: ReconnectMachine.Event) {
        inbox?.yield(event)
    }

    private func stop() async {
        handle(.stop)
        inbox?.finish()
        for task in tasks { task.cancel() }
        tasks = []
    }

    private func handle(_ event: ReconnectMachine.Event) {
        for action in machine.handle(event) { perform(action) }
    }

    private func perform(_ action: ReconnectMachine.Action) {
        let central = central
        let path = devicePath
        let adapter = adapter
        let powerOn = powerOn
        switch action {
        case .connect:
            let timeout = machine.policy.connectTimeout
            Task { [weak self] in
                do {
                    _ = try await central.adapter(preferred: adapter, powerOn: powerOn)
                    try await central.connect(device: path, timeout: timeout)
                    await self?.succeeded()
                } catch {
                    await self?.failed(String(describing: error))
                }
            }
        case .scan:
            output?.yield(.waiting("scanning for \(address)"))
            Task { [weak self] in
                do {
                    _ = try await central.adapter(preferred: adapter, powerOn: powerOn)
                    try await central.startDiscovery(adapter: adapter, filter: BLEDiscoveryFilter())
                } catch {
                    await self?.scanFailed(String(describing: error))
                }
            }
        case .stopScan:
            Task { await central.stopDiscovery(adapter: adapter) }
        case .scheduleRetry(let seconds):
            if !lastError.isEmpty { output?.yield(.attemptFailed(lastError, retryIn: seconds)) }
            lastError = ""
            Task { [weak self] in
                try? await Task.sleep(for: .seconds(seconds))
                await self?.feed(.retryTimerFired)
            }
        case .publishConnected(let generation):
            output?.yield(.connected(central.link(device: path), generation: generation))
        case .publishDisconnected(let generation):
            output?.yield(.disconnected(generation: generation))
        case .disconnect:
            Task { try? await central.disconnect(device: path) }
        }
    }

    private func scanFailed(_ reason: String) {
        lastError = "cannot scan: " + reason
        handle(.scanFailed)
    }

    private func succeeded() {
        ioErrors = 0
        feed(.connectSucceeded)
    }

    private func failed(_ reason: String) {
        lastError = reason
        ioErrors = reason.contains("Input/output error") ? ioErrors + 1 : 0
        if ioErrors >= Self.ioErrorsBeforeReset {
            ioErrors = 0
            output?.yield(.waiting("power-cycling \(adapter) after \(Self.ioErrorsBeforeReset) I/O errors in a row"))
            let central = central
            let adapter = adapter
            Task { try? await central.powerCycle(adapter: adapter) }
        }
        handle(.connectFailed)
    }
}
