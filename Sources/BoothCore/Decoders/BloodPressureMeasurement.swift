/// Blood Pressure Measurement (0x2A35). Intermediate Cuff Pressure (0x2A36) shares the layout.
public struct BloodPressureMeasurement: PayloadDecoder, Hashable {
    public static let profile = "blood-pressure"

    /// Pressure unit from flag bit 0.
    public enum PressureUnit: String, Sendable, Hashable {
        case mmHg
        case kPa

        public var ucum: UCUMUnit { self == .mmHg ? .mmHg : .kPa }
    }

    /// Measurement Status (16 bit).
    public struct Status: Sendable, Hashable {
        public var rawValue: UInt16

        public init(rawValue: UInt16) { self.rawValue = rawValue }

        public var bodyMovement: Bool { rawValue & 0x0001 != 0 }
        public var cuffTooLoose: Bool { rawValue & 0x0002 != 0 }
        public var irregularPulse: Bool { rawValue & 0x0004 != 0 }
        /// Bits 3-4: 0 within range, 1 exceeds upper limit, 2 below lower limit, 3 reserved.
        public var pulseRateRange: Int { Int(rawValue >> 3) & 0x3 }
        public var improperMeasurementPosition: Bool { rawValue & 0x0020 != 0 }

        /// Stable flag names; "within range" is the normal case and has no name.
        public var names: [String] {
            var names: [String] = []
            if bodyMovement { names.append("bodyMovement") }
            if cuffTooLoose { names.append("cuffTooLoose") }
            if irregularPulse { names.append("irregularPulse") }
            switch pulseRateRange {
            case 1: names.append("pulseRateExceedsUpperLimit")
            case 2: names.append("pulseRateBelowLowerLimit")
            case 3: names.append("pulseRateRangeReserved")
            default: break
            }
            if improperMeasurementPosition { names.append("improperMeasurementPosition") }
            return names + bitNames(UInt64(rawValue & 0xFFC0), [])
        }
    }

    public var systolic: MDERFloat
    public var diastolic: MDERFloat
    public var meanArterialPressure: MDERFloat
    public var unit: PressureUnit
    public var timestamp: DeviceTimestamp?
    public var pulseRate: MDERFloat?
    /// 255 means "unknown user".
    public var userID: UInt8?
    public var status: Status?

    public init(
        systolic: MDERFloat,
        diastolic: MDERFloat,
        meanArterialPressure: MDERFloat,
        unit: PressureUnit = .mmHg,
        timestamp: DeviceTimestamp? = nil,
        pulseRate: MDERFloat? = nil,
        userID: UInt8? = nil,
        status: Status? = nil
    ) {
        self.systolic = systolic
        self.diastolic = diastolic
        self.meanArterialPressure = meanArterialPressure
        self.unit = unit
        self.timestamp = timestamp
        self.pulseRate = pulseRate
        self.userID = userID
        self.status = status
    }

    public var flags: UInt8 {
        (unit == .kPa ? 0x01 : 0) | (timestamp != nil ? 0x02 : 0) | (pulseRate != nil ? 0x04 : 0)
            | (userID != nil ? 0x08 : 0) | (status != nil ? 0x10 : 0)
    }

    public init(bytes: [UInt8]) throws(DecodeError) {
        try self.init(bytes: bytes, names: ("systolic", "diastolic", "meanArterialPressure"))
    }

    init(bytes: [UInt8], names: (String, String, String)) throws(DecodeError) {
        var reader = ByteReader(bytes)
        let flags = try reader.u8("flags")
        unit = flags & 0x01 != 0 ? .kPa : .mmHg
        systolic = try reader.sfloat(names.0)
        diastolic = try reader.sfloat(names.1)
        meanArterialPressure = try reader.sfloat(names.2)
        timestamp = flags & 0x02 != 0 ? try reader.dateTime("timestamp") : nil
        pulseRate = flags & 0x04 != 0 ? try reader.sfloat("pulseRate") : nil
        userID = flags & 0x08 != 0 ? try reader.u8("userID") : nil
        status = flags & 0x10 != 0 ? Status(rawValue: try reader.u16("measurementStatus")) : nil
        try reader.finish()
    }

    public func encoded() throws(EncodeError) -> [UInt8] {
        var writer = ByteWriter()
        writer.u8(flags)
        try writer.sfloat(systolic, "systolic")
        try writer.sfloat(diastolic, "diastolic")
        try writer.sfloat(meanArterialPressure, "meanArterialPressure")
        if let timestamp { try writer.dateTime(timestamp, "timestamp") }
        if let pulseRate { try writer.sfloat(pulseRate, "pulseRate") }
        if let userID { writer.u8(userID) }
        if let status { writer.u16(status.rawValue) }
        return writer.bytes
    }

    func commonFields(_ pressures: [DecodedReading.Field]) -> [DecodedReading.Field] {
        var fields: [DecodedReading.Field] = [.init("flags", .int(flags)), .init("unit", .text(unit.rawValue))]
        fields += pressures
        if let timestamp { fields.append(.init("timestamp", .text(timestamp.description))) }
        if let pulseRate { fields.append(.init("pulseRate", .float(pulseRate))) }
        if let userID { fields.append(.init("userID", .int(userID))) }
        if let status {
            fields.append(.init("measurementStatus", .int(status.rawValue)))
            fields.append(.init("pulseRateRange", .int(status.pulseRateRange)))
        }
        return fields
    }

    public var reading: DecodedReading {
        var values = [
            systolic.observed(.systolic, unit.ucum), diastolic.observed(.diastolic, unit.ucum),
            meanArterialPressure.observed(.meanArterial, unit.ucum),
        ]
        if let pulseRate { values.append(pulseRate.observed(.pulseRateNonInvasive, .perMinute)) }
        let fields = commonFields([
            .init("systolic", .float(systolic)), .init("diastolic", .float(diastolic)),
            .init("meanArterialPressure", .float(meanArterialPressure)),
        ])
        return DecodedReading(
            profile: Self.profile,
            kind: .bloodPressure,
            values: values,
            status: status?.names ?? [],
            deviceTime: timestamp,
            fields: fields
        )
    }
}
