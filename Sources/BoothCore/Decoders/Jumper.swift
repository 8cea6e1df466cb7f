/// Jumper JPD-500F oximeter frame (kind `jumper`): 0x81, pulse rate, SpO2, perfusion index (tenths of a percent).
/// Pulse 0xFF and SpO2 0x7F mean "no reading"; PI 0 means "no reading" too.
public struct JumperOximeter: PayloadDecoder, Hashable {
    public static let profile = "jumper-oximeter"
    public static let header: UInt8 = 0x81

    public var pulseRate: UInt8
    public var spo2: UInt8
    public var perfusionIndexRaw: UInt8

    public init(pulseRate: UInt8, spo2: UInt8, perfusionIndexRaw: UInt8) {
        self.pulseRate = pulseRate
        self.spo2 = spo2
        self.perfusionIndexRaw = perfusionIndexRaw
    }

    public init(bytes: [UInt8]) throws(DecodeError) {
        var reader = ByteReader(bytes)
        let header = try reader.u8("header")
        guard header == Self.header else {
            throw DecodeError(field: "header", offset: 0, reason: .badMarker(UInt64(header)))
        }
        pulseRate = try reader.u8("pulseRate")
        spo2 = try reader.u8("spo2")
        perfusionIndexRaw = try reader.u8("perfusionIndex")
        try reader.finish()
    }

    public func encoded() -> [UInt8] { [Self.header, pulseRate, spo2, perfusionIndexRaw] }

    public var reading: DecodedReading {
        let pi =
            perfusionIndexRaw == 0
            ? ObservedValue(code: .perfusionIndex, number: nil, unit: .percent, absentReason: .invalid)
            : ObservedValue(
                code: .perfusionIndex,
                number: DecimalNumber(mantissa: Int64(perfusionIndexRaw), exponent: -1),
                unit: .percent
            )
        return DecodedReading(
            profile: Self.profile,
            kind: .oxygenSaturation,
            values: [
                vendorValue(spo2, invalid: 0x7F, .spo2, .percent),
                vendorValue(pulseRate, invalid: 0xFF, .pulseOximetryPulseRate, .perMinute), pi,
            ],
            fields: [
                .init("pulseRate", .int(pulseRate)), .init("spo2", .int(spo2)),
                .init("perfusionIndexRaw", .int(perfusionIndexRaw)),
            ]
        )
    }
}

/// Jumper JPD-HA120 blood pressure result frame (kind `jumper-bp`): FD FD FC sys dia pulse 0D 0A (mmHg, /min).
public struct JumperBloodPressure: PayloadDecoder, Hashable {
    public static let profile = "jumper-bp"
    public static let resultType: UInt8 = 0xFC

    public var systolic: UInt8
    public var diastolic: UInt8
    public var pulseRate: UInt8

    public init(systolic: UInt8, diastolic: UInt8, pulseRate: UInt8) {
        self.systolic = systolic
        self.diastolic = diastolic
        self.pulseRate = pulseRate
    }

    public init(bytes: [UInt8]) throws(DecodeError) {
        var reader = ByteReader(bytes)
        for (index, expected) in [UInt8(0xFD), 0xFD].enumerated() {
            let byte = try reader.u8("header")
            guard byte == expected else {
                throw DecodeError(field: "header", offset: index, reason: .badMarker(UInt64(byte)))
            }
        }
        let type = try reader.u8("frameType")
        guard type == Self.resultType else { throw ByteReader.reserved("frameType", at: 2, type) }
        systolic = try reader.u8("systolic")
        diastolic = try reader.u8("diastolic")
        pulseRate = try reader.u8("pulseRate")
        for (index, expected) in [UInt8(0x0D), 0x0A].enumerated() {
            let byte = try reader.u8("trailer")
            guard byte == expected else {
                throw DecodeError(field: "trailer", offset: 6 + index, reason: .badMarker(UInt64(byte)))
            }
        }
        try reader.finish()
    }

    public func encoded() -> [UInt8] { [0xFD, 0xFD, Self.resultType, systolic, diastolic, pulseRate, 0x0D, 0x0A] }

    public var reading: DecodedReading {
        DecodedReading(
            profile: Self.profile,
            kind: .bloodPressure,
            values: [
                ObservedValue(code: .systolic, number: DecimalNumber(Int(systolic)), unit: .mmHg),
                ObservedValue(code: .diastolic, number: DecimalNumber(Int(diastolic)), unit: .mmHg),
                vendorValue(pulseRate, invalid: 0xFF, .pulseRateNonInvasive, .perMinute),
            ],
            fields: [
                .init("systolic", .int(systolic)), .init("diastolic", .int(diastolic)),
                .init("pulseRate", .int(pulseRate)),
            ]
        )
    }
}
