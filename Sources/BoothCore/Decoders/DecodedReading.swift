/// What every decoder hands upward: the decoded fields as text (for `boothctl decode`), the coded values, the
/// status flag names and the device time. `measurement(_:)` turns it into the `Measurement` the service layer keeps.
public struct DecodedReading: Sendable, Hashable {
    /// Stable profile name, e.g. `plx-spot-check`, `cms50-live`.
    public var profile: String
    /// The clinical kind, or nil when the payload is not a measurement (features, RACP, battery, DIS).
    public var kind: MeasurementKind?
    /// Coded values; absent values carry a reason instead of a number.
    public var values: [ObservedValue]
    /// Device status flags by stable name (`bodyMovement`, `irregularPulse`, `lowPerfusionDetected` ...).
    public var status: [String]
    /// The time the device stamped on the reading (already corrected by any time offset it sent).
    public var deviceTime: DeviceTimestamp?
    /// True when the device says its clock is not set (explicit flag, or year/month/day 0).
    public var clockUnset: Bool
    /// Every decoded field by name, in wire order, as display text (numbers keep their precision).
    public var fields: [Field]
    /// A live reading or a record from device memory.
    public var origin: Measurement.Origin

    /// One decoded field.
    public struct Field: Sendable, Hashable {
        public var name: String
        public var value: FieldValue

        public init(_ name: String, _ value: FieldValue) {
            self.name = name
            self.value = value
        }
    }

    /// A field value, typed so JSON output keeps numbers as numbers.
    public enum FieldValue: Sendable, Hashable, CustomStringConvertible {
        case integer(Int64)
        case decimal(DecimalNumber)
        case text(String)
        case flag(Bool)
        case list([String])
        case bytes([UInt8])

        public var description: String {
            switch self {
            case .integer(let value): String(value)
            case .decimal(let value): value.description
            case .text(let value): value
            case .flag(let value): value ? "true" : "false"
            case .list(let values): values.isEmpty ? "-" : values.joined(separator: ", ")
            case .bytes(let bytes): bytes.isEmpty ? "-" : Hex.string(bytes)
            }
        }
    }

    public init(
        profile: String,
        kind: MeasurementKind?,
        values: [ObservedValue] = [],
        status: [String] = [],
        deviceTime: DeviceTimestamp? = nil,
        clockUnset: Bool = false,
        fields: [Field] = [],
        origin: Measurement.Origin = .live
    ) {
        self.profile = profile
        self.kind = kind
        self.values = values
        self.status = status
        self.deviceTime = deviceTime
        self.clockUnset = clockUnset || (deviceTime?.isClockUnset ?? false)
        self.fields = fields
        self.origin = origin
    }

    /// The value carrying `code`, if present.
    public func value(_ code: MDCCode) -> ObservedValue? {
        values.first { $0.code == code }
    }

    /// The field named `name`, if present.
    public func field(_ name: String) -> FieldValue? {
        fields.first { $0.name == name }?.value
    }

    /// The measurement for this reading, or nil when the payload is not a measurement.
    public func measurement(_ context: MeasurementContext, raw: [UInt8]) -> Measurement? {
        guard let kind else { return nil }
        var status = status
        if clockUnset, !status.contains("deviceClockNotSet") { status.append("deviceClockNotSet") }
        return Measurement(
            id: context.id,
            kind: kind,
            values: values,
            status: status,
            device: context.device,
            deviceTime: deviceTime,
            receivedAtMicros: context.receivedAtMicros,
            origin: origin,
            method: .automatic,
            raw: raw,
            // A multi-user device's slot travels with the reading: the service layer decides from it whether
            // the reading may go to the active session (UserSlotRule).
            provenance: UserSlotRule.slot(of: self).map { MeasurementProvenance(userSlot: $0) },
            receivedBoot: context.receivedBoot
        )
    }
}

/// What the decoders cannot know and the caller supplies when projecting a reading to a `Measurement`.
public struct MeasurementContext: Sendable, Hashable {
    public var id: String
    public var device: DeviceIdentity
    /// Receive time, microseconds since the Unix epoch (UTC).
    public var receivedAtMicros: Int64
    /// Receive time on the boot clock, when the caller has one (see `Measurement.receivedBoot`).
    public var receivedBoot: BootInstant?

    public init(id: String, device: DeviceIdentity, receivedAtMicros: Int64, receivedBoot: BootInstant? = nil) {
        self.id = id
        self.device = device
        self.receivedAtMicros = receivedAtMicros
        self.receivedBoot = receivedBoot
    }
}

/// A decoded payload type: a typed struct with every field, plus its projection to a `DecodedReading`.
public protocol PayloadDecoder: Sendable {
    /// Stable profile name reported in `DecodedReading.profile`.
    static var profile: String { get }
    /// Decodes exactly one payload; rejects truncated input and trailing bytes.
    init(bytes: [UInt8]) throws(DecodeError)
    /// The projection used by the CLI, the FHIR mapper and the service layer.
    var reading: DecodedReading { get }
}

extension PayloadDecoder {
    /// Decodes and projects to a `Measurement` in one step (nil for non-measurement payloads).
    public static func measurement(
        _ bytes: [UInt8],
        _ context: MeasurementContext
    ) throws(DecodeError)
        -> Measurement?
    {
        try Self(bytes: bytes).reading.measurement(context, raw: bytes)
    }
}

/// Names of the set bits of a bit field, using `names[bit]` (nil entries are reserved bits, reported as `bitN`).
func bitNames(_ value: UInt64, _ names: [String?]) -> [String] {
    var result: [String] = []
    for bit in 0..<64 where value & (1 << UInt64(bit)) != 0 {
        if bit < names.count, let name = names[bit] {
            result.append(name)
        } else {
            result.append("bit\(bit)")
        }
    }
    return result
}

extension DecodedReading.FieldValue {
    static func float(_ value: MDERFloat) -> Self {
        if let number = value.number { return .decimal(number) }
        return .text(value.description)
    }

    static func int(_ value: some BinaryInteger) -> Self { .integer(Int64(value)) }
}
