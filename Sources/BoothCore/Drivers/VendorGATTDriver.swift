/// The driver for a BLE device with a vendor protocol (BerryMed, Jumper, Yuwell, Viatom/Wellue O2Ring): everything
/// it does comes from the firmware profile's `gatt` section and the shared frame decoders.
///
/// After connecting it reads battery and device strings where the device has them, subscribes to every `notify`
/// characteristic, writes the `start_commands` to the `write` characteristic (again every `poll_interval` for
/// devices that answer a command instead of streaming, such as the O2Ring's "read sensors"), cuts the notified
/// bytes into frames (UART-like streams whose frames span or share notifications) and decodes each frame. Then:
/// - a frame with a reading becomes a measurement, at most one per `report_interval` (a BerryMed sends about 60
///   frames a second, each repeating the SpO2 and pulse rate the device shows; the interval is the display's pace;
///   a polled device's answers all count);
/// - a frame saying "no reading" (finger out, values 0x7F/0xFF) is a device-state warning, never a measurement, and
///   the warning clears with the next reading;
/// - bytes that fit no frame are reported as undecodable, never dropped silently;
/// - frames that carry no reading (command acknowledgements) are ignored.
public struct VendorGATTDriver: GATTDeviceDriver, Hashable {
    /// How a vendor protocol's bytes are decoded.
    public struct VendorProtocol: Sendable, Hashable {
        /// `DecoderRegistry` kind of one frame.
        public var decoderKind: String
        /// True when notifications are a byte stream to be cut with `StreamFraming` (frames may span or share
        /// notifications); false when each notification is exactly one frame.
        public var streamFramed: Bool

        public init(decoderKind: String, streamFramed: Bool) {
            self.decoderKind = decoderKind
            self.streamFramed = streamFramed
        }
    }

    /// The vendor protocols boothd reads over BLE, by the driver id profiles name.
    public static let protocols: [String: VendorProtocol] = [
        "berrymed.bci": VendorProtocol(decoderKind: "berrymed", streamFramed: true),
        "jumper.oximeter": VendorProtocol(decoderKind: "jumper", streamFramed: false),
        "yuwell.oximeter": VendorProtocol(decoderKind: "yuwell", streamFramed: false),
        "viatom.o2": VendorProtocol(decoderKind: "viatom-frame", streamFramed: true),
    ]

    public static let noReadingWarning = "no reading: check that the finger is fully in the sensor"

    /// Driver id as the profile names it.
    public var id: String
    public var vendorProtocol: VendorProtocol
    public var notify: [GATTUUID]
    public var write: GATTUUID?
    public var startCommands: [[UInt8]]
    /// Write `startCommands` again at this pace (command/response devices); nil: once per connection.
    public var pollInterval: Duration?
    /// At most one measurement per this much receive time; zero: every frame with a reading. Profiles: option
    /// `report_interval`, default 1 s for streaming devices and zero for polled ones.
    public var reportInterval: Duration

    public init(
        id: String,
        vendorProtocol: VendorProtocol,
        notify: [GATTUUID],
        write: GATTUUID? = nil,
        startCommands: [[UInt8]] = [],
        pollInterval: Duration? = nil,
        reportInterval: Duration = .seconds(1)
    ) {
        self.id = id
        self.vendorProtocol = vendorProtocol
        self.notify = notify
        self.write = write
        self.startCommands = startCommands
        self.pollInterval = pollInterval
        self.reportInterval = reportInterval
    }

    /// The driver a profile describes, or nil when its driver is not a vendor protocol.
    /// - Throws: `VendorDriverError` when the profile names a vendor protocol but its `gatt` section or options
    ///   cannot drive it (no notify characteristic, commands without a write characteristic, a bad interval).
    public init?(profile: DeviceProfile) throws(VendorDriverError) {
        guard let vendorProtocol = Self.protocols[profile.driver] else { return nil }
        guard let gatt = profile.gatt, !gatt.notify.isEmpty else {
            throw VendorDriverError(profile: profile.id, "driver \(profile.driver) needs `gatt.notify`")
        }
        if !gatt.startCommands.isEmpty, gatt.write == nil {
            throw VendorDriverError(profile: profile.id, "`gatt.start_commands` need `gatt.write`")
        }
        func seconds(_ key: String) throws(VendorDriverError) -> Duration? {
            guard let option = profile.options[key] else { return nil }
            guard case .text(let text) = option, let value = Double(text), value >= 0, value <= 3600 else {
                throw VendorDriverError(
                    profile: profile.id,
                    "option `\(key)` must be a number of seconds from 0 to 3600, not \(option)"
                )
            }
            return .milliseconds(Int64((value * 1000).rounded()))
        }
        let poll = try seconds("poll_interval")
        if let poll, poll == .zero {
            throw VendorDriverError(profile: profile.id, "option `poll_interval` must be more than 0 s")
        }
        if poll != nil, gatt.startCommands.isEmpty {
            throw VendorDriverError(profile: profile.id, "option `poll_interval` needs `gatt.start_commands` to poll")
        }
        self.init(
            id: profile.driver,
            vendorProtocol: vendorProtocol,
            notify: gatt.notify,
            write: gatt.write,
            startCommands: gatt.startCommands,
            pollInterval: poll,
            // A polled device answers each command with one fresh reading: all of them count by default.
            reportInterval: try seconds("report_interval") ?? (poll == nil ? .seconds(1) : .zero)
        )
    }

    public func run(
        on link: some GATTLink,
        makeContext: @Sendable () -> MeasurementContext,
        emit: @Sendable (GATTMeasurementDriver.Event) async throws -> Void
    ) async throws {
        guard let entry = DecoderRegistry.entry(vendorProtocol.decoderKind) else {
            throw DriverError.unknownDecoder(vendorProtocol.decoderKind)
        }
        var info = await GATTMeasurementDriver.DeviceInfo.read(on: link)
        var streams: [(GATTUUID, AsyncThrowingStream<[UInt8], any Error>)] = []
        for characteristic in notify { streams.append((characteristic, try await link.notifications(characteristic))) }
        try await emit(.connected(info))
        let (items, continuation) = AsyncThrowingStream.makeStream(
            of: (GATTUUID, [UInt8]).self,
            throwing: (any Error).self
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            // One producer per characteristic; the first to end (the link dropped) ends the merged stream.
            for (characteristic, stream) in streams {
                group.addTask {
                    do {
                        for try await bytes in stream { continuation.yield((characteristic, bytes)) }
                        continuation.finish()
                    } catch {
                        continuation.finish(throwing: error)
                    }
                }
            }
            defer { group.cancelAll() }
            if let write, !startCommands.isEmpty {
                try await sendCommands(write, on: link)
                if let pollInterval {
                    group.addTask {
                        while true {
                            try await Task.sleep(for: pollInterval)
                            do {
                                try await sendCommands(write, on: link)
                            } catch {
                                continuation.finish(throwing: error)
                                return
                            }
                        }
                    }
                }
            }
            var state = FrameState(driver: self, entry: entry)
            for try await (characteristic, bytes) in items {
                for frame in state.frames(characteristic, bytes) {
                    try await state.handle(frame, info: &info, makeContext: makeContext, emit: emit)
                }
            }
            for frame in state.finish() {
                try await state.handle(frame, info: &info, makeContext: makeContext, emit: emit)
            }
        }
    }

    private func sendCommands(_ characteristic: GATTUUID, on link: some GATTLink) async throws {
        for command in startCommands { try await link.write(characteristic, command, withResponse: true) }
    }

    /// One piece of the device's byte stream: a frame for the decoder, or bytes no frame claims.
    enum Piece: Equatable {
        case frame([UInt8])
        case garbage([UInt8])
    }

    /// What one connection has seen: the framers, the last reported measurement, the warning shown.
    struct FrameState {
        let driver: VendorGATTDriver
        let entry: DecoderRegistry.Entry
        var framers: [GATTUUID: StreamFramer] = [:]
        var lastReportedMicros: Int64?
        var warning: String?

        init(driver: VendorGATTDriver, entry: DecoderRegistry.Entry) {
            self.driver = driver
            self.entry = entry
        }

        mutating func frames(_ characteristic: GATTUUID, _ bytes: [UInt8]) -> [Piece] {
            guard driver.vendorProtocol.streamFramed,
                let spec = StreamFraming.spec(forKind: driver.vendorProtocol.decoderKind)
            else { return [.frame(bytes)] }
            var framer = framers[characteristic] ?? StreamFramer(spec, maxBuffer: 4096)
            let events = framer.push(bytes)
            framers[characteristic] = framer
            return events.map(Self.piece)
        }

        /// The link ended: bytes still waiting for the rest of a frame are reported.
        mutating func finish() -> [Piece] {
            defer { framers = [:] }
            return framers.keys.sorted { $0.description < $1.description }.flatMap { key in
                framers[key]?.finish().map(Self.piece) ?? []
            }
        }

        private static func piece(_ event: StreamFramer.Event) -> Piece {
            switch event {
            case .frame(let bytes): .frame(bytes)
            case .garbage(let bytes): .garbage(bytes)
            }
        }

        mutating func handle(
            _ piece: Piece,
            info: inout GATTMeasurementDriver.DeviceInfo,
            makeContext: @Sendable () -> MeasurementContext,
            emit: @Sendable (GATTMeasurementDriver.Event) async throws -> Void
        ) async throws {
            let bytes: [UInt8]
            switch piece {
            case .garbage(let skipped):
                // Bytes between frames: the decoder says precisely what is wrong with them.
                let error: DecodeError
                do throws(DecodeError) {
                    _ = try entry.decode(skipped)
                    error = DecodeError(field: "frame", offset: 0, reason: .badMarker(UInt64(skipped.first ?? 0)))
                } catch let decodeError {
                    error = decodeError
                }
                try await emit(.undecodable(raw: skipped, error: error))
                return
            case .frame(let frame):
                bytes = frame
            }
            let reading: DecodedReading
            do throws(DecodeError) {
                reading = try entry.decode(bytes)
            } catch {
                try await emit(.undecodable(raw: bytes, error: error))
                return
            }
            if let battery = Self.battery(reading), info.batteryPercent != battery {
                info.batteryPercent = battery
                try await emit(.connected(info))
                if let warning { try await emit(.deviceWarning(warning)) }
            }
            guard reading.kind != nil else { return }  // an acknowledgement, not a reading
            guard reading.values.contains(where: { $0.number != nil }) else {
                if warning == nil {
                    warning = VendorGATTDriver.noReadingWarning
                    try await emit(.deviceWarning(warning))
                }
                return
            }
            if warning != nil {
                warning = nil
                try await emit(.deviceWarning(nil))
            }
            let context = makeContext()
            let interval = driver.reportInterval.components
            let intervalMicros = interval.seconds * 1_000_000 + interval.attoseconds / 1_000_000_000_000
            if let last = lastReportedMicros, context.receivedAtMicros - last < intervalMicros { return }
            guard let measurement = reading.measurement(context, raw: bytes) else { return }
            lastReportedMicros = context.receivedAtMicros
            try await emit(.measurement(measurement))
        }

        /// The battery level some vendor frames carry (the O2Ring's sensor response).
        static func battery(_ reading: DecodedReading) -> Int? {
            for name in ["battery", "sensors.battery"] {
                if case .integer(let value) = reading.field(name), (0...100).contains(value) { return Int(value) }
            }
            return nil
        }
    }
}

/// A firmware profile names a vendor BLE protocol its `gatt` section or options cannot drive.
public struct VendorDriverError: Error, Sendable, Hashable, CustomStringConvertible {
    public var profile: String
    public var detail: String

    public init(profile: String, _ detail: String) {
        self.profile = profile
        self.detail = detail
    }

    public var description: String { "profile \(profile): \(detail)" }
}

extension GATTMeasurementDriver.DeviceInfo {
    /// What a device tells about itself after connecting (Battery Level, firmware/serial/model strings); a
    /// characteristic the device lacks or fails to read stays nil.
    public static func read(on link: some GATTLink) async -> Self {
        var info = Self()
        if let bytes = try? await link.read(GATTMeasurementDriver.battery), let level = try? BatteryLevel(bytes: bytes)
        {
            info.batteryPercent = Int(level.percent)
        }
        func text(_ uuid: GATTUUID) async -> String? {
            guard let bytes = try? await link.read(uuid), let value = try? DeviceInformationString(bytes: bytes) else {
                return nil
            }
            return value.text
        }
        info.firmware = await text(GATTMeasurementDriver.firmware)
        info.serial = await text(GATTMeasurementDriver.serial)
        info.model = await text(GATTMeasurementDriver.model)
        return info
    }
}
