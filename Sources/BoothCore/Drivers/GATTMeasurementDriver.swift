/// The driver for a standard Bluetooth SIG measurement service: after connecting it reads what the device
/// tells about itself (battery, firmware), then subscribes to the measurement characteristic and turns every
/// notification or indication into a `Measurement` with the shared decoders. It holds no byte logic of its own.
public struct GATTMeasurementDriver: Sendable, Hashable {
    /// Driver id as firmware profiles name it (`ble.plx`).
    public var id: String
    public var role: DeviceRole
    /// The characteristic whose notifications carry readings.
    public var measurement: GATTUUID
    /// The decoder kind in `DecoderRegistry` for that characteristic.
    public var decoderKind: String
    /// Whether the device clock is set after connecting (Current Time 0x2A2B).
    public var clock: ClockPolicy
    /// Stored records fetched through RACP after connecting; nil for devices that only notify live readings.
    public var records: RecordAccess?
    /// Intermediate values sent while the device measures (Intermediate Cuff Pressure 0x2A36, Intermediate
    /// Temperature 0x2A1E): the device is `measuring` while they arrive; nil for devices without them.
    public var intermediate: GATTUUID?
    /// How long after the last intermediate value without a reading the measurement counts as abandoned.
    public var intermediateQuiet: Duration

    public init(
        id: String,
        role: DeviceRole,
        measurement: GATTUUID,
        decoderKind: String,
        clock: ClockPolicy = .leave,
        records: RecordAccess? = nil,
        intermediate: GATTUUID? = nil,
        intermediateQuiet: Duration = .seconds(10)
    ) {
        self.id = id
        self.role = role
        self.measurement = measurement
        self.decoderKind = decoderKind
        self.clock = clock
        self.records = records
        self.intermediate = intermediate
        self.intermediateQuiet = intermediateQuiet
    }

    /// What the device said about itself after connecting; nil fields were not offered.
    public struct DeviceInfo: Sendable, Equatable {
        public var batteryPercent: Int?
        public var firmware: String?
        public var serial: String?
        public var model: String?
    }

    /// Events the driver reports while it runs.
    public enum Event: Sendable {
        case connected(DeviceInfo)
        case measurement(Measurement)
        /// Bytes that did not decode: reported, never dropped silently, never turned into a number.
        case undecodable(raw: [UInt8], error: DecodeError)
        /// A piece of a live waveform (ECG): streamed to clients, never stored as a measurement.
        case waveform(WaveformChunk)
        /// A device-state warning for the operator (sensor contact lost, flat line), or nil when it cleared.
        /// Not a measurement.
        case deviceWarning(String?)
        /// The device clock was set to this local time (Current Time write) after connecting.
        case clockSet(DeviceTimestamp)
        /// A stored-record fetch ended: records delivered, duplicates suppressed, why it did not complete.
        case recordsFetched(delivered: Int, duplicates: Int, problem: RecordAccessError?)
        /// A measurement started on the device (first intermediate value: true), or it was abandoned (no
        /// intermediate value for `intermediateQuiet`: false). A reading ends it without this event.
        case measuring(Bool)
    }

    /// Characteristics read at connection (Battery Level, Firmware/Serial/Model strings).
    static let battery = GATTUUID(0x2A19)
    static let firmware = GATTUUID(0x2A26)
    static let serial = GATTUUID(0x2A25)
    static let model = GATTUUID(0x2A24)

    /// Runs until the link's notification stream ends (device gone) or the task is cancelled.
    /// - Parameters:
    ///   - makeContext: the id, identity and receive time for the next measurement (the service layer's clock).
    ///   - services: record cursors and local time, for devices with stored records or a clock to set.
    ///   - emit: receives every event; a measurement is handed over before the next notification is read.
    public func run(
        on link: some GATTLink,
        makeContext: @Sendable () -> MeasurementContext,
        services: DriverServices = DriverServices(),
        emit: @Sendable (Event) async throws -> Void
    ) async throws {
        guard let entry = DecoderRegistry.entry(decoderKind) else {
            throw DriverError.unknownDecoder(decoderKind)
        }
        var info = DeviceInfo()
        if let bytes = try? await link.read(Self.battery), let level = try? BatteryLevel(bytes: bytes) {
            info.batteryPercent = Int(level.percent)
        }
        info.firmware = await readString(Self.firmware, on: link)
        info.serial = await readString(Self.serial, on: link)
        info.model = await readString(Self.model, on: link)
        // The clock first: records fetched below are then stamped by a set clock on devices that restamp.
        let clockSet = await setClockIfNeeded(on: link, services: services)
        let stream = try await link.notifications(measurement)
        // Intermediate values are optional in every SIG service: a device without them is simply never `measuring`.
        var activity: AsyncStream<IntermediateActivity>?
        if let intermediate, let values = try? await link.notifications(intermediate) {
            activity = intermediateActivity(values, quiet: intermediateQuiet)
        }
        let measuring = MeasuringFlag()
        try await emit(.connected(info))
        if let clockSet { try await emit(.clockSet(clockSet)) }
        func decodeWith(
            _ decoder: DecoderRegistry.Entry,
            _ bytes: [UInt8],
            _ origin: Measurement.Origin
        ) async throws -> Delivery? {
            let reading: DecodedReading
            do throws(DecodeError) {
                reading = try decoder.decode(bytes)
            } catch {
                try await emit(.undecodable(raw: bytes, error: error))
                return nil
            }
            guard var measurement = reading.measurement(makeContext(), raw: bytes) else { return nil }
            if origin == .stored { measurement.origin = .stored }
            try await emit(.measurement(measurement))
            // The reading ends the measurement (the supervisor shows `ready` again on every reading).
            if origin == .live { _ = measuring.set(false) }
            if case .integer(let number) = reading.field("sequenceNumber") {
                return Delivery(sequence: UInt16(truncatingIfNeeded: number))
            }
            return Delivery(sequence: nil)
        }
        func decode(_ bytes: [UInt8], _ origin: Measurement.Origin) async throws -> Delivery? {
            try await decodeWith(entry, bytes, origin)
        }
        try await watching(activity, measuring: measuring, emit: emit) {
            guard let records, let cursors = services.cursors else {
                for try await bytes in stream { _ = try await decode(bytes, .live) }
                return
            }
            let deviceID = makeContext().device.id
            try await runWithRecords(
                records,
                on: link,
                measurements: stream,
                cursor: (cursors, deviceID),
                emit: emit,
                decode: decode,
                decodeWith: decodeWith
            )
        }
    }

    /// Runs `body` (the measurement reader) while a child task reports `measuring` changes from the intermediate
    /// values; the child ends with the body.
    private func watching(
        _ activity: AsyncStream<IntermediateActivity>?,
        measuring: MeasuringFlag,
        emit: @Sendable (Event) async throws -> Void,
        body: () async throws -> Void
    ) async throws {
        guard let activity else { return try await body() }
        // The task group ends before this function returns, so `emit` does not outlive the call.
        try await withoutActuallyEscaping(emit) { emit in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await item in activity where measuring.set(item == .value) {
                        try await emit(.measuring(item == .value))
                    }
                }
                try await body()
                group.cancelAll()
            }
        }
    }

    /// Subscribes to the control point, asks for the records not seen yet, delivers them as stored readings
    /// (each sequence number once, the cursor saved after the reading was handed over), then reads live ones.
    private func runWithRecords(
        _ records: RecordAccess,
        on link: some GATTLink,
        measurements: AsyncThrowingStream<[UInt8], any Error>,
        cursor: (store: any RecordCursorStore, deviceID: String),
        emit: @Sendable (Event) async throws -> Void,
        decode: ([UInt8], Measurement.Origin) async throws -> Delivery?,
        decodeWith: (DecoderRegistry.Entry, [UInt8], Measurement.Origin) async throws -> Delivery?
    ) async throws {
        let (cursors, deviceID) = cursor
        var ledger = RecordLedger(cursor: await cursors.lastSequence(device: deviceID))
        // Records without sequence numbers (Omron): known by device time and bytes instead.
        var known = records.withoutSequenceNumbers ? await cursors.deliveredRecords(device: deviceID) : nil
        let controlPoint: AsyncThrowingStream<[UInt8], any Error>
        var container: AsyncThrowingStream<[UInt8], any Error>?
        do {
            controlPoint = try await link.notifications(records.controlPoint)
            if let uuid = records.container { container = try await link.notifications(uuid) }
        } catch  where records.optional {
            // A device of this service without stored records (most cuffs): its live readings only.
            for try await bytes in measurements { _ = try await decode(bytes, .live) }
            return
        }
        let (input, quiet) = mergedRecordStreams(
            measurements: measurements,
            controlPoint: controlPoint,
            records: container,
            timeoutSeconds: records.timeoutSeconds
        )
        try await link.write(records.controlPoint, records.request(after: ledger.cursor).encoded(), withResponse: true)
        var fetching = true
        var delivered = 0
        var duplicates = 0
        var askedAgain = 0
        // The response code waiting for the records still on their way (they come on another characteristic,
        // not ordered against it): acted on once the records are quiet for `settle`, at most `settleLimit` on.
        var settling: (response: (requestOpCode: UInt8, code: UInt8), since: ContinuousClock.Instant, token: Int)?
        var quietToken = 0
        /// A record arrived: while settling, the quiet time starts again (never beyond the limit).
        func recordArrived() {
            guard let pending = settling else { return }
            quietToken += 1
            settling?.token = quietToken
            let left = records.settleLimit - (ContinuousClock.now - pending.since)
            quiet.arm(token: quietToken, after: max(.zero, min(records.settle, left)))
        }
        /// Notes a delivered reading's sequence number and saves the cursor when it moved.
        func advance(to sequence: UInt16) async {
            if ledger.deliver(sequence), let cursor = ledger.cursor {
                await cursors.setLastSequence(cursor, device: deviceID)
            }
        }
        for try await item in input {
            switch item {
            case .measurement(let bytes):
                if container == nil { recordArrived() }
                if let sequence = Self.sequenceNumber(bytes, decoderKind: decoderKind), ledger.isDuplicate(sequence) {
                    // Already delivered (a device that ignores the filter, or a repeated notification).
                    duplicates += 1
                    continue
                }
                // Without sequence numbers, a reading the device took at a known time is known by that time and
                // its bytes: a record fetched again is dropped, and so is a live reading the cuff repeats.
                let time = known == nil ? nil : Self.deviceTime(bytes, decoderKind: decoderKind)
                if let time, known?.contains(time: time, raw: bytes) == true {
                    duplicates += 1
                    continue
                }
                // With a record characteristic, the measurement characteristic carries live readings only.
                let origin: Measurement.Origin = fetching && container == nil ? .stored : .live
                guard let delivery = try await decode(bytes, origin) else { continue }
                if origin == .stored { delivered += 1 }
                if let time, var updated = known {
                    // Saved after the reading was handed over, like the sequence cursor.
                    updated.insert(time: time, raw: bytes)
                    known = updated
                    await cursors.setDeliveredRecords(updated, device: deviceID)
                }
                if let sequence = delivery.sequence { await advance(to: sequence) }
            case .record(let bytes):
                recordArrived()
                let record: BloodPressureRecord
                do throws(DecodeError) {
                    record = try BloodPressureRecord(bytes: bytes)
                } catch {
                    try await emit(.undecodable(raw: bytes, error: error))
                    continue
                }
                if ledger.isDuplicate(record.sequenceNumber) {
                    duplicates += 1
                    continue
                }
                let kind = String(record.recordedUUID, radix: 16, uppercase: true)
                guard let recorded = DecoderRegistry.entry(String(repeating: "0", count: 4 - kind.count) + kind)
                else {
                    try await emit(
                        .undecodable(raw: bytes, error: ByteReader.reserved("uuid", at: 3, record.recordedUUID))
                    )
                    continue
                }
                _ = try await decodeWith(recorded, record.recorded, .stored)
                delivered += 1
                // Past an undecodable record too: it was reported with its bytes, and asking again gives the same.
                await advance(to: record.sequenceNumber)
            case .controlPoint(let bytes):
                guard fetching, settling == nil, let response = try? RecordAccessControlPoint(bytes: bytes).response,
                    response.requestOpCode == RecordAccessControlPoint.OpCode.reportStoredRecords.rawValue
                else { continue }
                quietToken += 1
                settling = (response, ContinuousClock.now, quietToken)
                quiet.arm(token: quietToken, after: records.settle)
            case .quiet(let token):
                guard fetching, let pending = settling, pending.token == token else { continue }
                settling = nil
                let response = pending.response
                // A hole in the sequence numbers: a record was lost on the way (BlueZ hands each value over as
                // a D-Bus property change and may merge two quick ones). Ask again from the hole, twice at most;
                // the cursor never moves past it, so the next connection asks again too.
                if response.code == 0x01, ledger.hasHole, askedAgain < 2, let cursor = ledger.cursor {
                    askedAgain += 1
                    try await link.write(
                        records.controlPoint,
                        records.request(after: cursor).encoded(),
                        withResponse: true
                    )
                    continue
                }
                fetching = false
                // 0x01 success, 0x06 no records found: both complete the fetch.
                var problem: RecordAccessError? =
                    response.code == 0x01 || response.code == 0x06 ? nil : .refused(code: response.code)
                if problem == nil, ledger.hasHole, let cursor = ledger.cursor {
                    problem = .missing(after: cursor)
                }
                try await emit(.recordsFetched(delivered: delivered, duplicates: duplicates, problem: problem))
            case .timeout:
                guard fetching else { continue }
                fetching = false
                settling = nil
                try await emit(
                    .recordsFetched(
                        delivered: delivered,
                        duplicates: duplicates,
                        problem: .timedOut(seconds: records.timeoutSeconds)
                    )
                )
            }
        }
    }

    /// The time the device took a reading (decoded; nil when it has none or its clock was not set).
    static func deviceTime(_ bytes: [UInt8], decoderKind: String) -> DeviceTimestamp? {
        guard let entry = DecoderRegistry.entry(decoderKind), let time = try? entry.decode(bytes).deviceTime,
            !time.isClockUnset
        else { return nil }
        return time
    }

    /// A record's sequence number straight from its bytes (before decoding, to skip duplicates cheaply).
    static func sequenceNumber(_ bytes: [UInt8], decoderKind: String) -> UInt16? {
        // Glucose Measurement: flags, then the sequence number (u16 little endian).
        guard decoderKind == "2A18", bytes.count >= 3 else { return nil }
        return UInt16(bytes[1]) | UInt16(bytes[2]) << 8
    }

    private func readString(_ characteristic: GATTUUID, on link: some GATTLink) async -> String? {
        guard let bytes = try? await link.read(characteristic), let text = try? DeviceInformationString(bytes: bytes)
        else { return nil }
        return text.text
    }

    public static let plx = GATTMeasurementDriver(
        id: "ble.plx",
        role: .oximeter,
        measurement: GATTUUID(0x2A5F),
        decoderKind: "2A5F"
    )
    public static let bps = GATTMeasurementDriver(
        id: "ble.bps",
        role: .bp,
        measurement: GATTUUID(0x2A35),
        decoderKind: "2A35",
        clock: .setIfUnset,
        records: .bloodPressureRecords,
        intermediate: GATTUUID(0x2A36)
    )
    public static let hts = GATTMeasurementDriver(
        id: "ble.hts",
        role: .thermometer,
        measurement: GATTUUID(0x2A1C),
        decoderKind: "2A1C",
        clock: .setIfUnset,
        intermediate: GATTUUID(0x2A1E)
    )
    public static let glucose = GATTMeasurementDriver(
        id: "ble.glucose",
        role: .glucometer,
        measurement: GATTUUID(0x2A18),
        decoderKind: "2A18",
        clock: .setIfUnset,
        records: RecordAccess()
    )
    public static let weight = GATTMeasurementDriver(
        id: "ble.weight",
        role: .scale,
        measurement: GATTUUID(0x2A9D),
        decoderKind: "2A9D",
        clock: .setIfUnset
    )

    /// The drivers for the standard SIG services boothd reads by notification, by profile driver id.
    public static let standard: [String: GATTMeasurementDriver] = Dictionary(
        uniqueKeysWithValues: [plx, bps, hts, glucose, weight].map { ($0.id, $0) }
    )
}

/// A reading handed over by the driver, with its sequence number if it carries one.
struct Delivery {
    var sequence: UInt16?
}

/// A driver cannot run at all (as opposed to a device that misbehaves).
public enum DriverError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownDecoder(String)

    public var description: String {
        switch self {
        case .unknownDecoder(let kind): "no decoder \"\(kind)\" in this build"
        }
    }
}
