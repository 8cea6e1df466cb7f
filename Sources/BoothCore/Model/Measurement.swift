/// One reading taken by one device: the unit every layer above the decoders works with.
///
/// A measurement is immutable once decoded. The service layer adds provenance (session binding, clock
/// assessment) around it; it never edits the decoded values.
public struct Measurement: Sendable, Hashable, Codable, Identifiable {
    /// Stable identifier: the outbox, the WebSocket API and clients dedupe on it.
    public var id: String
    /// What was measured (drives the FHIR Observation code and how values are grouped).
    public var kind: MeasurementKind
    /// The observed values. A blood pressure carries systolic, diastolic and mean as three values.
    public var values: [ObservedValue]
    /// Device-reported status flags, by stable name (for example `bodyMovement`, `irregularPulse`).
    public var status: [String]
    /// Which device produced it.
    public var device: DeviceIdentity
    /// The time the device stamped on the reading, if it sent one.
    public var deviceTime: DeviceTimestamp?
    /// When boothd received the bytes (microseconds since the Unix epoch, UTC).
    public var receivedAtMicros: Int64
    /// The same moment on the boot clock, which wall-clock steps do not move: session binding judges a live
    /// reading by it when the session start was stamped in the same boot. Nil on readings stamped before it
    /// existed and on readings from elsewhere.
    public var receivedBoot: BootInstant?
    /// Live reading, or a stored record fetched from device memory.
    public var origin: Origin
    /// How the value was obtained.
    public var method: Method
    /// The bytes the value was decoded from (empty for manual entries).
    public var raw: [UInt8]
    /// Where the reading comes from and what boothd checked (clock, ranges, decoder, operator); nil on
    /// measurements recorded before provenance existed.
    public var provenance: MeasurementProvenance?

    public enum Origin: String, Sendable, Hashable, Codable {
        /// Measured now and pushed by the device as it happened.
        case live
        /// Fetched from device memory (RACP, vendor download): its time of measurement is the device's claim.
        case stored
    }

    public enum Method: String, Sendable, Hashable, Codable {
        case automatic
        case manual
    }

    public init(
        id: String,
        kind: MeasurementKind,
        values: [ObservedValue],
        status: [String] = [],
        device: DeviceIdentity,
        deviceTime: DeviceTimestamp? = nil,
        receivedAtMicros: Int64,
        origin: Origin = .live,
        method: Method = .automatic,
        raw: [UInt8] = [],
        provenance: MeasurementProvenance? = nil,
        receivedBoot: BootInstant? = nil
    ) {
        self.id = id
        self.kind = kind
        self.values = values
        self.status = status
        self.device = device
        self.deviceTime = deviceTime
        self.receivedAtMicros = receivedAtMicros
        self.origin = origin
        self.method = method
        self.raw = raw
        self.provenance = provenance
        self.receivedBoot = receivedBoot
    }

    /// The value carrying `code`, if present.
    public func value(_ code: MDCCode) -> ObservedValue? {
        values.first { $0.code == code }
    }
}

/// The clinical kind of a measurement.
public enum MeasurementKind: String, Sendable, Hashable, Codable, CaseIterable {
    case bloodPressure
    case cuffPressure
    case oxygenSaturation
    case bodyTemperature
    case glucose
    case bodyWeight
    case heartRate
}

/// Identity of the device that produced a reading, as much as is known.
public struct DeviceIdentity: Sendable, Hashable, Codable {
    /// boothd's stable id for the device, e.g. `ble:C0:26:DA:01:02:03` or `sim:oximeter`.
    public var id: String
    /// `ble`, `usb-serial`, `usb-hid`, `v4l2`, `alsa`, `simulated`, `manual`.
    public var transport: String
    public var model: String?
    public var manufacturer: String?
    public var serial: String?
    public var firmware: String?
    /// The firmware profile that matched the device.
    public var profile: String?

    public init(
        id: String,
        transport: String,
        model: String? = nil,
        manufacturer: String? = nil,
        serial: String? = nil,
        firmware: String? = nil,
        profile: String? = nil
    ) {
        self.id = id
        self.transport = transport
        self.model = model
        self.manufacturer = manufacturer
        self.serial = serial
        self.firmware = firmware
        self.profile = profile
    }
}

/// A calendar time as the device reported it: no zone, and possibly partial or unset.
public struct DeviceTimestamp: Sendable, Hashable, Codable, CustomStringConvertible {
    /// 0 means "year not known" in Bluetooth Date Time.
    public var year: Int
    /// 0 means "month not known".
    public var month: Int
    /// 0 means "day not known".
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int

    public init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
    }

    /// True when the device says its clock has not been set (year, month or day is 0).
    public var isClockUnset: Bool { year == 0 || month == 0 || day == 0 }

    /// ISO 8601 local date-time without zone, e.g. `2024-11-29T23:08:57` (year printed with 4 digits, `0000` if unset).
    public var description: String {
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))"
    }
}
