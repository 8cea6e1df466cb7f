/// Weight Measurement (0x2A9D): weight, optional time stamp, user, BMI and height.
/// Resolutions: SI 0.005 kg and 0.001 m; imperial 0.01 lb and 0.1 in; BMI 0.1 kg/m².
public struct WeightMeasurement: PayloadDecoder, Hashable {
    public static let profile = "weight"

    /// Raw weight units (0xFFFF means "measurement unsuccessful").
    public var weightRaw: UInt16
    /// Flag bit 0: imperial (lb, in) instead of SI (kg, m).
    public var imperial: Bool
    public var timestamp: DeviceTimestamp?
    public var userID: UInt8?
    public var bmiRaw: UInt16?
    public var heightRaw: UInt16?

    public init(
        weightRaw: UInt16,
        imperial: Bool = false,
        timestamp: DeviceTimestamp? = nil,
        userID: UInt8? = nil,
        bmiRaw: UInt16? = nil,
        heightRaw: UInt16? = nil
    ) {
        self.weightRaw = weightRaw
        self.imperial = imperial
        self.timestamp = timestamp
        self.userID = userID
        self.bmiRaw = bmiRaw
        self.heightRaw = heightRaw
    }

    public var flags: UInt8 {
        (imperial ? 0x01 : 0) | (timestamp != nil ? 0x02 : 0) | (userID != nil ? 0x04 : 0)
            | (bmiRaw != nil && heightRaw != nil ? 0x08 : 0)
    }

    /// Weight in kg (SI) or lb (imperial) with the characteristic's resolution; nil when unsuccessful.
    public var weight: DecimalNumber? {
        guard weightRaw != 0xFFFF else { return nil }
        return imperial
            ? DecimalNumber(mantissa: Int64(weightRaw), exponent: -2)
            : DecimalNumber(mantissa: Int64(weightRaw) * 5, exponent: -3)
    }

    public var bmi: DecimalNumber? { bmiRaw.map { DecimalNumber(mantissa: Int64($0), exponent: -1) } }

    public var height: DecimalNumber? {
        heightRaw.map { DecimalNumber(mantissa: Int64($0), exponent: imperial ? -1 : -3) }
    }

    public init(bytes: [UInt8]) throws(DecodeError) {
        var reader = ByteReader(bytes)
        let flags = try reader.u8("flags")
        imperial = flags & 0x01 != 0
        weightRaw = try reader.u16("weight")
        timestamp = flags & 0x02 != 0 ? try reader.dateTime("timestamp") : nil
        userID = flags & 0x04 != 0 ? try reader.u8("userID") : nil
        if flags & 0x08 != 0 {
            bmiRaw = try reader.u16("bmi")
            heightRaw = try reader.u16("height")
        } else {
            bmiRaw = nil
            heightRaw = nil
        }
        try reader.finish()
    }

    public func encoded() throws(EncodeError) -> [UInt8] {
        var writer = ByteWriter()
        writer.u8(flags)
        writer.u16(weightRaw)
        if let timestamp { try writer.dateTime(timestamp, "timestamp") }
        if let userID { writer.u8(userID) }
        if let bmiRaw, let heightRaw {
            writer.u16(bmiRaw)
            writer.u16(heightRaw)
        }
        return writer.bytes
    }

    public var reading: DecodedReading {
        let weightUnit: UCUMUnit = imperial ? .pound : .kilogram
        var values = [
            ObservedValue(
                code: .bodyWeight,
                number: weight,
                unit: weightUnit,
                absentReason: weight == nil ? .invalid : nil
            )
        ]
        var fields: [DecodedReading.Field] = [
            .init("flags", .int(flags)), .init("weight", weight.map { .decimal($0) } ?? .text("unsuccessful")),
            .init("weightUnit", .text(imperial ? "lb" : "kg")),
        ]
        if let timestamp { fields.append(.init("timestamp", .text(timestamp.description))) }
        if let userID { fields.append(.init("userID", .int(userID))) }
        if let bmi, let height {
            values.append(ObservedValue(code: .bodyMassIndex, number: bmi, unit: .kgPerSquareMetre))
            values.append(ObservedValue(code: .bodyHeight, number: height, unit: imperial ? .inch : .metre))
            fields += [
                .init("bmi", .decimal(bmi)), .init("height", .decimal(height)),
                .init("heightUnit", .text(imperial ? "in" : "m")),
            ]
        }
        return DecodedReading(
            profile: Self.profile,
            kind: .bodyWeight,
            values: values,
            deviceTime: timestamp,
            fields: fields
        )
    }
}
