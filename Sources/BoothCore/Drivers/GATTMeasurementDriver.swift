/// The driver for a standard Bluetooth SIG measurement service: after connecting it reads what the device
/// tells about itself (battery, firmware), then subscribes to the measurement characteristic and turns every
/// notification or indication into a `Measurement` with the shared decoders. It holds no byte logic of its own.
public struct GATTMeasurementDriver: Sendable {
    /// Driver id as firmware profiles name it (`ble.plx`).
    public var id: String
    public var role: DeviceRole
    /// The characteristic whose notifications carry readings.
    public var measurement: GATTUUID
    /// The decoder kind in `DecoderRegistry` for that characteristic.
    public var decoderKind: String

    public init(id: String, role: DeviceRole, measurement: GATTUUID, decoderKind: String) {
        self.id = id
        self.role = role
        self.measurement = measurement
        self.decoderKind = decoderKind
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
    }

    /// Characteristics read at connection (Battery Level, Firmware/Serial/Model strings).
    static let battery = GATTUUID(0x2A19)
    static let firmware = GATTUUID(0x2A26)
    static let serial = GATTUUID(0x2A25)
    static let model = GATTUUID(0x2A24)

    /// Runs until the link's notification stream ends (device gone) or the task is cancelled.
    /// - Parameters:
    ///   - makeContext: the id, identity and receive time for the next measurement (the service layer's clock).
    ///   - emit: receives every event; a measurement is handed over before the next notification is read.
    public func run(
        on link: some GATTLink,
        makeContext: @Sendable () -> MeasurementContext,
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
        let stream = try await link.notifications(measurement)
        try await emit(.connected(info))
        for try await bytes in stream {
            let reading: DecodedReading
            do throws(DecodeError) {
                reading = try entry.decode(bytes)
            } catch {
                try await emit(.undecodable(raw: bytes, error: error))
                continue
            }
            if let measurement = reading.measurement(makeContext(), raw: bytes) {
                try await emit(.measurement(measurement))
            }
        }
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
        decoderKind: "2A35"
    )
    public static let hts = GATTMeasurementDriver(
        id: "ble.hts",
        role: .thermometer,
        measurement: GATTUUID(0x2A1C),
        decoderKind: "2A1C"
    )
    public static let weight = GATTMeasurementDriver(
        id: "ble.weight",
        role: .scale,
        measurement: GATTUUID(0x2A9D),
        decoderKind: "2A9D"
    )

    /// The drivers for the standard SIG services boothd reads by notification, by profile driver id.
    public static let standard: [String: GATTMeasurementDriver] = Dictionary(
        uniqueKeysWithValues: [plx, bps, hts, weight].map { ($0.id, $0) }
    )
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
