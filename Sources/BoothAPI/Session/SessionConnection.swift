import BoothCore
import BoothService
import Foundation
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import ServiceLifecycle
import Synchronization

/// What every connection shares: storage, devices, auth and limits.
public final class SessionHub: Sendable {
    let outbox: Outbox
    let devices: DeviceRegistry
    let verifier: TokenVerifier
    let commands: (any DeviceCommandHandler)?
    let maxClients: Int
    let maxFrameBytes: Int
    let commandsPerSecond: Int
    let testCommands: Bool
    let fhir: Bool
    /// Bytes of replies a client may leave unread before it is closed (see `OutboundQueue`).
    let clientQueueBytes: Int
    /// How long one write may wait for a client that does not read before its socket is closed.
    let clientStallLimit: Duration
    let logger: Logger
    /// Live waveform chunks (ECG) for `waveform.subscribe` (WaveformStream.swift).
    let waveforms: WaveformFeed
    /// Live media for `webrtc.*` messages; boothd attaches it when it has a camera or a stethoscope.
    public let liveMedia = LiveMediaSlot()
    /// Stethoscope level meters and modes (`stethoscope.*`, StethoscopeLevelStream.swift); boothd attaches them.
    public let stethoscopes = StethoscopeLevelsSlot()
    /// Usage statistics for the `usage` command (nil: not kept by this boothd).
    let usage: UsageStatistics?
    /// For the uptime in `status`.
    let startedAt = ContinuousClock.now
    /// Consultation safety (readiness, manual entry); nil when boothd has not wired it.
    let safety: SessionSafety?
    private let connections = Mutex(0)

    public init(
        outbox: Outbox,
        devices: DeviceRegistry,
        verifier: TokenVerifier,
        commands: (any DeviceCommandHandler)?,
        config: BoothConfig,
        fhir: Bool,
        logger: Logger,
        waveforms: WaveformFeed = WaveformFeed(),
        usage: UsageStatistics? = nil,
        safety: SessionSafety? = nil
    ) {
        self.outbox = outbox
        self.devices = devices
        self.verifier = verifier
        self.commands = commands
        self.maxClients = config.api.maxClients
        self.maxFrameBytes = config.api.maxFrameBytes
        self.commandsPerSecond = config.api.commandsPerSecond
        self.testCommands = config.api.testCommands
        self.fhir = fhir
        self.clientQueueBytes = config.api.clientQueueBytes
        self.clientStallLimit = .milliseconds(Int64(config.api.clientStallSeconds * 1000))
        self.logger = logger
        self.waveforms = waveforms
        self.usage = usage
        self.safety = safety
    }

    /// Number of open session connections.
    public var connectionCount: Int { connections.withLock { $0 } }

    func reserve() -> Bool {
        connections.withLock { count in
            guard count < maxClients else { return false }
            count += 1
            return true
        }
    }

    func release() {
        connections.withLock { $0 -= 1 }
    }
}

/// One WebSocket client: hello and auth, then the event pump (outbox replay, then live) and device changes
/// on their own tasks while this one reads acks and commands.
///
/// Reading and writing never wait on each other: everything sent goes through a bounded `OutboundQueue` drained
/// by one writer task. A client that does not read gets no more live events (it is resynced from the outbox once
/// it reads again), is closed with 4429 when its unread replies pass `api.client_queue_bytes`, and its socket is
/// closed outright when a write makes no progress for `api.client_stall_seconds`.
struct SessionConnection {
    let hub: SessionHub
    let inbound: WebSocketInboundStream
    let outbound: WebSocketOutboundWriter
    /// True when the upgrade request carried a valid `Authorization: Bearer` header.
    let preAuthenticated: Bool
    /// The connection's channel, closed outright when the client stops reading (a close frame cannot reach it).
    let channel: (any Channel)?
    let queue: OutboundQueue

    init(
        hub: SessionHub,
        inbound: WebSocketInboundStream,
        outbound: WebSocketOutboundWriter,
        preAuthenticated: Bool,
        channel: (any Channel)? = nil
    ) {
        self.hub = hub
        self.inbound = inbound
        self.outbound = outbound
        self.preAuthenticated = preAuthenticated
        self.channel = channel
        self.queue = OutboundQueue(limitBytes: hub.clientQueueBytes)
    }
    /// This connection's waveform subscription (WaveformStream.swift).
    let waveformTap = WaveformTap()
    /// This connection's WebRTC peer, stopped when the client goes away.
    let webrtc = SessionWebRTC()
    /// This connection's stethoscope level-meter subscriptions (StethoscopeLevelStream.swift).
    let stethoscopeTaps = StethoscopeLevelTaps()

    private final class Flags: Sendable {
        let authenticated = Mutex(false)
    }

    func run(refusal: HandshakeGuard.Refusal?) async {
        if let refusal {
            try? await outbound.close(.init(codeNumber: refusal.closeCode), reason: refusal.message)
            // Drain until the client acknowledges the close; nothing it sends is looked at.
            do { for try await _ in inbound {} } catch {}
            return
        }
        guard hub.reserve() else {
            hub.logger.warning("session client refused: too many clients", metadata: ["max": "\(hub.maxClients)"])
            try? await outbound.close(
                .init(codeNumber: SessionProtocol.CloseCode.tooManyClients),
                reason: "too many clients (max \(hub.maxClients))"
            )
            return
        }
        defer { hub.release() }
        let flags = Flags()
        // boothd stopping: say so, and close outright 2 s later a client that does not answer (one that does not
        // read would otherwise hold the shutdown forever).
        await withGracefulShutdownHandler {
            await serve(flags: flags)
        } onGracefulShutdown: { [queue, channel] in
            queue.push(.close(code: SessionProtocol.CloseCode.goingAway, reason: "boothd is shutting down"))
            Task {
                try? await Task.sleep(for: .seconds(2))
                channel?.close(promise: nil)
            }
        }
    }

    private func serve(flags: Flags) async {
        await withTaskGroup(of: Void.self) { io in
            io.addTask { await writeLoop() }
            io.addTask { await watchStalls() }
            await withTaskGroup(of: Void.self) { group in
                group.addTask { [queue] in
                    try? await Task.sleep(for: .seconds(5))
                    if !flags.authenticated.withLock({ $0 }) {
                        queue.push(
                            .close(code: SessionProtocol.CloseCode.helloTimeout, reason: "no hello within 5 seconds")
                        )
                    }
                }
                await readLoop(flags: flags, group: &group)
                await webrtc.stop(reason: "the client disconnected", send: nil)
                await stopStethoscopeLevels()
                group.cancelAll()
            }
            // The writer sends what is queued (a close frame, say), then stops; the stall watch bounds that.
            queue.finishInput()
            _ = await io.next()
            io.cancelAll()
        }
    }

    /// The only task that writes to the socket.
    ///
    /// It keeps about `socketBacklog` bytes at most waiting in the channel (checked every `checkEvery` bytes
    /// written: asking costs an event-loop hop), far below the channel's high-water mark (raised at the start),
    /// so the channel stays writable even when the client does not read. That matters because the WebSocket
    /// library answers a client's ping from the reading side: were the channel unwritable, the pong write would
    /// wait, and with it the reading of that client's commands.
    ///
    /// The kernel's send buffer is fixed at `kernelSendBuffer`: left to autotune, it grows to `tcp_wmem`'s maximum
    /// (4 MiB) for a client that does not read, so memory per client would not be bounded by
    /// `api.client_queue_bytes`, and a stalled client would be noticed only after megabytes.
    private func writeLoop() async {
        if let channel {
            try? await channel.setOption(
                ChannelOptions.writeBufferWaterMark,
                value: .init(low: Self.socketBacklog * 32, high: Self.socketBacklog * 64)
            ).get()
            try? await channel.setOption(ChannelOptions.socketOption(.so_sndbuf), value: Self.kernelSendBuffer).get()
        }
        var unchecked = 0
        while let frame = await queue.next() {
            do {
                switch frame {
                case .text(let text): try await outbound.write(.text(text))
                case .close(let code, let reason): try await outbound.close(.init(codeNumber: code), reason: reason)
                }
                unchecked += frame.bytes
                if unchecked >= Self.checkEvery {
                    unchecked = 0
                    try await waitForSocketRoom()
                }
            } catch {
                queue.fail()
                return
            }
            queue.written(frame)
        }
        // Drained after finishInput: mark the queue done so the stall watch ends too.
        queue.fail()
    }

    /// Bytes of frames allowed to wait in the channel for the client to read them.
    static let socketBacklog = 64 * 1024
    /// SO_SNDBUF of a session socket (the kernel doubles it for its bookkeeping): room for about 100 measurement
    /// events with their FHIR bundles, far more than a reading client ever leaves unread on loopback.
    static let kernelSendBuffer: SocketOptionValue = 256 * 1024
    static let checkEvery = 16 * 1024

    /// Waits (polling, backing off to 50 ms) until the channel holds less than `socketBacklog` bytes.
    private func waitForSocketRoom() async throws {
        guard let channel else { return }
        var pause = Duration.milliseconds(1)
        while try await channel.getOption(ChannelOptions.bufferedWritableBytes).get() > Self.socketBacklog {
            // A client that went away: the next write fails and ends the writer.
            guard !queue.isDone, channel.isActive else { return }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(50))
        }
    }

    /// Closes the socket outright when a write has waited too long: the client is not reading, and a close frame
    /// could not reach it either. Closing fails the pending write and ends the inbound stream too.
    private func watchStalls() async {
        let limit = hub.clientStallLimit
        while !queue.isDone && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(250))
            // A connection already closing (overflow, flood) gets a short grace for its close frame.
            let allowed = queue.isClosing ? min(limit, .seconds(2)) : limit
            guard let stalled = queue.writeStalled(), stalled > allowed else { continue }
            hub.logger.warning(
                "session client closed: not reading",
                metadata: ["stalled_s": "\(stalled.components.seconds)", "queued_bytes": "\(queue.queuedBytes)"]
            )
            queue.fail()
            if let channel {
                channel.close(promise: nil)
            } else {
                try? await outbound.close(
                    .init(codeNumber: SessionProtocol.CloseCode.notReading),
                    reason: "not reading"
                )
            }
            return
        }
    }

    private func readLoop(flags: Flags, group: inout TaskGroup<Void>) async {
        var clientID = ""
        var limiter = RateLimiter(perSecond: hub.commandsPerSecond)
        do {
            for try await message in inbound.messages(maxSize: hub.maxFrameBytes) {
                // Closing (a close frame is queued, or the client let its replies pile up): read no more.
                guard !queue.isClosing else { break }
                guard case .text(let text) = message else {
                    send(Wire.error(WireError("binary_not_supported", "send JSON text messages")))
                    continue
                }
                let parsed: Inbound
                do {
                    parsed = try Wire.parse(text)
                } catch {
                    if !flags.authenticated.withLock({ $0 }) {
                        close(SessionProtocol.CloseCode.badHello, "the first message must be a valid hello")
                        return
                    }
                    guard limiter.allow() else {
                        if limiter.exhausted {
                            close(SessionProtocol.CloseCode.flood, "too many invalid messages")
                            return
                        }
                        continue
                    }
                    send(Wire.error(error))
                    continue
                }
                if !flags.authenticated.withLock({ $0 }) {
                    guard case .hello(let token, let id, let version, let resumeAfter) = parsed else {
                        close(
                            SessionProtocol.CloseCode.unauthorized,
                            "authenticate first: send hello with a token"
                        )
                        return
                    }
                    guard version == SessionProtocol.version else {
                        close(
                            SessionProtocol.CloseCode.badHello,
                            "unsupported protocol \(version); this server speaks \(SessionProtocol.version)"
                        )
                        return
                    }
                    guard preAuthenticated || (token.map(hub.verifier.verify) ?? false) else {
                        // Never log the presented token.
                        hub.logger.warning(
                            "session client refused: invalid or missing token",
                            metadata: ["client": "\(id)"]
                        )
                        close(SessionProtocol.CloseCode.unauthorized, "invalid or missing token")
                        return
                    }
                    flags.authenticated.withLock { $0 = true }
                    clientID = id
                    let start: Int64
                    do {
                        start = max(try await hub.outbox.cursor(client: id), resumeAfter ?? 0)
                    } catch {
                        start = resumeAfter ?? 0
                    }
                    await welcome(clientID: id, cursor: start)
                    let storage = hub.outbox.storageChanges()
                    let events = hub.outbox.subscribe()
                    let changes = await hub.devices.changes()
                    send(
                        Wire.object([
                            ("type", Wire.string("devices")), ("devices", Wire.encode(await hub.devices.snapshot())),
                        ])
                    )
                    hub.logger.info("session client connected", metadata: ["client": "\(id)", "cursor": "\(start)"])
                    group.addTask { await pumpEvents(events, from: start) }
                    group.addTask { await pumpDevices(changes) }
                    group.addTask { await pumpStorage(storage) }
                    // Waveform chunks wait for room like events (the feed keeps its own history to resume from).
                    group.addTask { await pumpWaveforms { await queue.pushEvent($0) } }
                    continue
                }
                if case .ack = parsed {
                    // Acks are cheap (memory only) and a fast client sends one per event: not rate limited.
                    await handle(parsed, clientID: clientID)
                    continue
                }
                guard limiter.allow() else {
                    if limiter.exhausted {
                        hub.logger.warning("session client closed: command flood", metadata: ["client": "\(clientID)"])
                        close(
                            SessionProtocol.CloseCode.flood,
                            "command flood: more than \(hub.commandsPerSecond)/s"
                        )
                        return
                    }
                    if case .command(let requestID, _, _) = parsed {
                        send(
                            Wire.error(
                                WireError(
                                    "rate_limited",
                                    "more than \(hub.commandsPerSecond) messages per second; slow down",
                                    requestID: requestID
                                )
                            )
                        )
                    }
                    continue
                }
                await handle(parsed, clientID: clientID)
            }
        } catch {
            // The library has already closed the socket with the right code (1009 too big, 1002 protocol error).
            hub.logger.debug("session client stream ended", metadata: ["client": "\(clientID)", "error": "\(error)"])
        }
        if !clientID.isEmpty {
            hub.logger.info("session client disconnected", metadata: ["client": "\(clientID)"])
        }
    }

    private func welcome(clientID: String, cursor: Int64) async {
        let capabilities = Wire.object([
            ("commands", Wire.encode(SessionProtocol.commands + (hub.testCommands ? ["test.record"] : []))),
            ("events", Wire.encode(SessionProtocol.eventTypes)),
            ("fhir", hub.fhir ? "true" : "false"),
            ("deviceCommands", hub.commands == nil ? "false" : "true"),
        ])
        let limits = Wire.object([
            ("maxFrameBytes", "\(hub.maxFrameBytes)"), ("maxClients", "\(hub.maxClients)"),
            ("commandsPerSecond", "\(hub.commandsPerSecond)"), ("queue", "\(hub.outbox.subscriberBuffer)"),
        ])
        send(
            Wire.object([
                ("type", Wire.string("welcome")), ("protocol", "\(SessionProtocol.version)"),
                ("server", Wire.string("boothd \(BoothVersion.string)")), ("clientId", Wire.string(clientID)),
                ("cursor", "\(cursor)"), ("lastEventId", "\(hub.outbox.lastEventID)"),
                ("session", Wire.session(hub.outbox.activeSession)), ("storage", Wire.storage(hub.outbox.storageState)),
                ("capabilities", capabilities), ("limits", limits),
            ])
        )
    }

    /// Sends events after `cursor`: first what the outbox holds, then live ones. A gap in the live stream
    /// means this client fell behind (it was not reading and its queue had no room): it is told (`resync`) and
    /// the gap is read back from the outbox.
    private func pumpEvents(_ live: AsyncStream<StoredEvent>, from cursor: Int64) async {
        var lastSent = cursor
        guard await replay(after: &lastSent, through: Int64.max) else { return }
        for await event in live {
            if event.id <= lastSent { continue }
            if event.id > lastSent + 1 {
                let notice = Wire.object([
                    ("type", Wire.string("resync")), ("after", "\(lastSent)"),
                    ("reason", Wire.string("client fell behind its queue; replaying from the outbox")),
                ])
                guard await queue.pushEvent(notice) else { return }
                guard await replay(after: &lastSent, through: event.id) else { return }
                continue
            }
            guard await queue.pushEvent(Wire.event(event)) else { return }
            lastSent = event.id
        }
    }

    /// Sends stored events after `lastSent` up to `through`; false when the client is gone.
    private func replay(after lastSent: inout Int64, through: Int64) async -> Bool {
        while !Task.isCancelled {
            let page: [StoredEvent]
            do {
                page = try await hub.outbox.events(after: lastSent, limit: 256)
            } catch {
                send(Wire.error(WireError(error.code.rawValue, error.message)))
                return false
            }
            for event in page where event.id <= through {
                guard await queue.pushEvent(Wire.event(event)) else { return false }
                lastSent = event.id
            }
            if page.count < 256 || (page.last?.id ?? 0) >= through { return true }
        }
        return false
    }

    private func pumpDevices(_ changes: AsyncStream<DeviceChange>) async {
        for await change in changes {
            guard send(Wire.device(change)) else { return }
        }
    }

    /// Storage state changes (disk full, safe mode, back to ok), as they happen.
    private func pumpStorage(_ changes: AsyncStream<StorageState>) async {
        for await storage in changes {
            guard send(Wire.object([("type", Wire.string("storage")), ("storage", Wire.storage(storage))])) else {
                return
            }
        }
    }

    /// Queues a reply or notice; never waits. A client whose unread replies pass the queue's limit is closed.
    @discardableResult
    func send(_ text: String) -> Bool {
        if queue.push(.text(text)) { return true }
        if queue.overflowed {
            closeNotReading()
        }
        return false
    }

    private func closeNotReading() {
        let reason = "client is not reading: more than \(queue.limitBytes / 1024) KiB of replies pending"
        if queue.push(.close(code: SessionProtocol.CloseCode.notReading, reason: reason)) {
            hub.logger.warning(
                "session client closed: not reading its replies",
                metadata: ["limit": "\(queue.limitBytes)"]
            )
        }
    }

    func close(_ code: Int, _ reason: String) {
        queue.push(.close(code: code, reason: reason))
    }

    // MARK: messages

    private func handle(_ message: Inbound, clientID: String) async {
        switch message {
        case .hello:
            send(Wire.error(WireError("invalid_message", "already authenticated; hello is sent once")))
        case .webrtc(let type, let body):
            await handleWebRTC(type, body)
        case .ping(let id):
            send(Wire.object([("type", Wire.string("pong")), ("id", Wire.string(id))]))
        case .ack(let upTo):
            do {
                try hub.outbox.acknowledge(client: clientID, upTo: upTo)
            } catch {
                send(Wire.error(WireError("invalid_ack", error.message)))
            }
        case .command(let id, let name, let params):
            do {
                let data = try await perform(name, params: params)
                send(Wire.result(id: id, data: data))
            } catch {
                var error = error
                error.requestID = id
                send(Wire.error(error))
            }
        }
    }

    private func perform(_ name: String, params: [String: JSONValue]) async throws(WireError) -> String {
        func string(_ key: String, required: Bool = true) throws(WireError) -> String? {
            try Wire.stringParam(params, key, command: name, required: required)
        }
        do {
            switch name {
            case "session.start":
                let session = try await hub.outbox.startSession(
                    id: try string("sessionId") ?? "",
                    contextRef: try string("contextRef") ?? ""
                )
                return Wire.object([("session", Wire.session(session))])
            case "session.end":
                let session = try await hub.outbox.endSession(id: try string("sessionId") ?? "")
                return Wire.object([("session", Wire.session(session))])
            case "session.current":
                return Wire.object([("session", Wire.session(hub.outbox.activeSession))])
            case "measurement.assign":
                let event = try await hub.outbox.assign(
                    measurementID: try string("measurementId") ?? "",
                    to: try string("sessionId", required: false),
                    reason: try string("reason", required: false)
                )
                return Wire.object([("eventId", "\(event.id)"), ("sessionId", Wire.string(event.sessionID))])
            case "measurement.discard":
                let event = try await hub.outbox.discard(
                    measurementID: try string("measurementId") ?? "",
                    reason: try string("reason", required: false)
                )
                return Wire.object([("eventId", "\(event.id)")])
            case "measurements.pending":
                let pending = try await hub.outbox.pendingMeasurements()
                let items = pending.map {
                    Wire.object([
                        ("binding", Wire.string($0.binding)), ("bindingReason", Wire.string($0.reason)),
                        ("measurement", $0.body),
                    ])
                }
                return Wire.object([("measurements", "[" + items.joined(separator: ",") + "]")])
            case "devices.list":
                return Wire.object([("devices", Wire.encode(await hub.devices.snapshot()))])
            case "measurement.start", "measurement.stop", "snapshot.take", "camera.control", "device.forget",
                "ecg.strip":
                return try await deviceCommand(name, deviceID: try string("deviceId") ?? "", params: params)
            case _ where Self.stethoscopeCommands.contains(name):
                return try await stethoscopeCommand(name, params: params)
            case _ where Self.waveformCommands.contains(name):
                return try waveformCommand(name, params: params)
            case "status", "usage":
                return try await technicianCommand(name, params: params)
            case _ where Self.artifactCommands.contains(name):
                return try await artifactCommand(name, params: params)
            case "test.record" where hub.testCommands:
                return try await testRecord(params)
            default:
                if let data = try await performSafety(name, params: params) { return data }
                throw WireError(
                    "unknown_command",
                    "unknown command \"\(name.prefix(64))\" (known: \(SessionProtocol.commands.joined(separator: ", ")))"
                )
            }
        } catch let error as OutboxError {
            throw WireError(error.code.rawValue, error.message)
        } catch let error as WireError {
            throw error
        } catch {
            throw WireError("internal_error", "\(error)")
        }
    }

    private func deviceCommand(
        _ name: String,
        deviceID: String,
        params: [String: JSONValue]
    ) async throws(WireError)
        -> String
    {
        guard let handler = hub.commands else {
            throw WireError("not_available", "\(name): no device supervisor is running in this boothd")
        }
        var arguments: [String: String] = [:]
        for (key, value) in params where key != "deviceId" {
            if let text = value.scalarText { arguments[key] = text }
        }
        do {
            let fields = try await handler.perform(DeviceCommand(name: name, deviceID: deviceID, arguments: arguments))
            return Wire.object(fields.sorted { $0.key < $1.key }.map { ($0.key, Wire.string($0.value)) })
        } catch {
            throw WireError(error.code, error.message)
        }
    }

    /// Synthetic measurement through the same durable path a device reading takes (tests only).
    private func testRecord(_ params: [String: JSONValue]) async throws -> String {
        guard let id = params["measurementId"]?.string, !id.isEmpty, id.count <= 128 else {
            throw WireError("invalid_params", "test.record needs \"measurementId\"")
        }
        let value = params["value"]?.int64 ?? 97
        let origin = BoothCore.Measurement.Origin(rawValue: params["origin"]?.string ?? "live") ?? .live
        let measurement = BoothCore.Measurement(
            id: id,
            kind: .oxygenSaturation,
            values: [
                ObservedValue(code: .spo2, number: DecimalNumber(mantissa: value, exponent: 0), unit: .percent),
                ObservedValue(code: .pulseOximetryPulseRate, number: DecimalNumber(72), unit: .perMinute),
            ],
            device: DeviceIdentity(id: "test:oximeter", transport: "simulated", model: "test.record"),
            receivedAtMicros: Outbox.currentMicros(),
            origin: origin,
            receivedBoot: hub.outbox.bootNow()
        )
        let binding = try await hub.outbox.record(measurement, trustedTakenAtMicros: nil)
        return Wire.object([("measurementId", Wire.string(id)), ("binding", Wire.string(binding.rawValue))])
    }
}

/// Token bucket: `perSecond` messages per second with a burst of twice that. A client refused more than
/// `2 × perSecond` times within one second is a flood and is disconnected.
struct RateLimiter {
    let perSecond: Double
    var tokens: Double
    var last = ContinuousClock.now
    var windowStart = ContinuousClock.now
    var refusedInWindow = 0

    init(perSecond: Int) {
        self.perSecond = Double(perSecond)
        self.tokens = Double(perSecond * 2)
    }

    var exhausted: Bool { Double(refusedInWindow) > perSecond * 2 }

    mutating func allow() -> Bool {
        let now = ContinuousClock.now
        let elapsed = now - last
        last = now
        if now - windowStart > .seconds(1) {
            windowStart = now
            refusedInWindow = 0
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        tokens = min(perSecond * 2, tokens + seconds * perSecond)
        guard tokens >= 1 else {
            refusedInWindow += 1
            return false
        }
        tokens -= 1
        return true
    }
}
