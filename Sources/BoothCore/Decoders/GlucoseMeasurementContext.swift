/// Glucose Measurement Context (0x2A34): meal, tester, health, exercise, medication and HbA1c for the
/// Glucose Measurement with the same sequence number. Not a measurement by itself.
public struct GlucoseMeasurementContext: PayloadDecoder, Hashable {
    public static let profile = "glucose-context"

    public var sequenceNumber: UInt16
    public var extendedFlags: UInt8?
    public var carbohydrateID: UInt8?
    /// Carbohydrate in kilograms.
    public var carbohydrate: MDERFloat?
    public var meal: UInt8?
    /// Tester (low nibble) and health (high nibble).
    public var testerHealth: UInt8?
    public var exerciseDurationSeconds: UInt16?
    public var exerciseIntensityPercent: UInt8?
    public var medicationID: UInt8?
    public var medication: MDERFloat?
    /// Flag bit 5: medication in litres instead of kilograms.
    public var medicationInLitres: Bool
    public var hbA1cPercent: MDERFloat?

    public init(bytes: [UInt8]) throws(DecodeError) {
        var reader = ByteReader(bytes)
        let flags = try reader.u8("flags")
        sequenceNumber = try reader.u16("sequenceNumber")
        extendedFlags = flags & 0x80 != 0 ? try reader.u8("extendedFlags") : nil
        if flags & 0x01 != 0 {
            carbohydrateID = try reader.u8("carbohydrateID")
            carbohydrate = try reader.sfloat("carbohydrate")
        } else {
            carbohydrateID = nil
            carbohydrate = nil
        }
        meal = flags & 0x02 != 0 ? try reader.u8("meal") : nil
        testerHealth = flags & 0x04 != 0 ? try reader.u8("testerHealth") : nil
        if flags & 0x08 != 0 {
            exerciseDurationSeconds = try reader.u16("exerciseDuration")
            exerciseIntensityPercent = try reader.u8("exerciseIntensity")
        } else {
            exerciseDurationSeconds = nil
            exerciseIntensityPercent = nil
        }
        if flags & 0x10 != 0 {
            medicationID = try reader.u8("medicationID")
            medication = try reader.sfloat("medication")
        } else {
            medicationID = nil
            medication = nil
        }
        medicationInLitres = flags & 0x20 != 0
        hbA1cPercent = flags & 0x40 != 0 ? try reader.sfloat("hbA1c") : nil
        try reader.finish()
    }

    public var reading: DecodedReading {
        var fields: [DecodedReading.Field] = [.init("sequenceNumber", .int(sequenceNumber))]
        if let extendedFlags { fields.append(.init("extendedFlags", .int(extendedFlags))) }
        if let carbohydrateID, let carbohydrate {
            fields += [.init("carbohydrateID", .int(carbohydrateID)), .init("carbohydrateKg", .float(carbohydrate))]
        }
        if let meal { fields.append(.init("meal", .int(meal))) }
        if let testerHealth {
            fields += [.init("tester", .int(testerHealth & 0x0F)), .init("health", .int(testerHealth >> 4))]
        }
        if let exerciseDurationSeconds, let exerciseIntensityPercent {
            fields += [
                .init("exerciseDurationSeconds", .int(exerciseDurationSeconds)),
                .init("exerciseIntensityPercent", .int(exerciseIntensityPercent)),
            ]
        }
        if let medicationID, let medication {
            fields += [
                .init("medicationID", .int(medicationID)), .init("medication", .float(medication)),
                .init("medicationUnit", .text(medicationInLitres ? "L" : "kg")),
            ]
        }
        if let hbA1cPercent { fields.append(.init("hbA1cPercent", .float(hbA1cPercent))) }
        return DecodedReading(profile: Self.profile, kind: nil, fields: fields)
    }
}
