/// Glucose Measurement (0x2A18): sequence number, base time, optional time offset, concentration with
/// type/sample location, and the sensor status annunciation.
public struct GlucoseMeasurement: PayloadDecoder, Hashable {
    public static let profile = "glucose"

    /// Type nibble names (1-10); others are reserved.
    public static let typeNames: [Int: String] = [
        1: "capillaryWholeBlood", 2: "capillaryPlasma", 3: "venousWholeBlood", 4: "venousPlasma",
        5: "arterialWholeBlood", 6: "arterialPlasma", 7: "undeterminedWholeBlood", 8: "undeterminedPlasma",
        9: "interstitialFluid", 10: "controlSolution",
    ]
    /// Sample location nibble names; 15 is "not available".
    public static let locationNames: [Int: String] = [
        1: "finger", 2: "alternateSiteTest", 3: "earlobe", 4: "controlSolution", 15: "notAvailable",
    ]
    /// Sensor Status Annunciation bit names.
    public static let annunciationNames: [String?] = [
        "deviceBatteryLow", "sensorMalfunction", "sampleSizeInsufficient", "stripInsertionError",
        "stripTypeIncorrect", "resultHigherThanDeviceCanProcess", "resultLowerThanDeviceCanProcess",
        "sensorTemperatureTooHigh", "sensorTemperatureTooLow", "sensorReadInterrupted", "generalDeviceFault",
        "timeFault",
    ]

    public var sequenceNumber: UInt16
    public var baseTime: DeviceTimestamp
    /// Minutes to add to the base time.
    public var timeOffsetMinutes: Int16?
    public var concentration: MDERFloat?
    /// Flag bit 2: mol/L instead of kg/L.
    public var molPerLitre: Bool
    public var type: UInt8?
    public var sampleLocation: UInt8?
    public var sensorStatusAnnunciation: UInt16?
    /// Flag bit 4: a Glucose Measurement Context (0x2A34) with the same sequence number follows.
    public var contextFollows: Bool

    public init(
        sequenceNumber: UInt16,
        baseTime: DeviceTimestamp,
        timeOffsetMinutes: Int16? = nil,
        concentration: MDERFloat? = nil,
        molPerLitre: Bool = false,
        type: UInt8? = nil,
        sampleLocation: UInt8? = nil,
        sensorStatusAnnunciation: UInt16? = nil,
        contextFollows: Bool = false
    ) {
        self.sequenceNumber = sequenceNumber
        self.baseTime = baseTime
        self.timeOffsetMinutes = timeOffsetMinutes
        self.concentration = concentration
        self.molPerLitre = molPerLitre
        self.type = type
        self.sampleLocation = sampleLocation
        self.sensorStatusAnnunciation = sensorStatusAnnunciation
        self.contextFollows = contextFollows
    }

    public var flags: UInt8 {
        (timeOffsetMinutes != nil ? 0x01 : 0) | (concentration != nil ? 0x02 : 0) | (molPerLitre ? 0x04 : 0)
            | (sensorStatusAnnunciation != nil ? 0x08 : 0) | (contextFollows ? 0x10 : 0)
    }

    /// Base time plus the offset: when the sample was taken, by the device clock.
    public var effectiveTime: DeviceTimestamp { baseTime.adding(minutes: Int(timeOffsetMinutes ?? 0)) }

    public init(bytes: [UInt8]) throws(DecodeError) {
        var reader = ByteReader(bytes)
        let flags = try reader.u8("flags")
        sequenceNumber = try reader.u16("sequenceNumber")
        baseTime = try reader.dateTime("baseTime")
        timeOffsetMinutes = flags & 0x01 != 0 ? try reader.s16("timeOffset") : nil
        if flags & 0x02 != 0 {
            concentration = try reader.sfloat("concentration")
            let typeLocation = try reader.u8("typeSampleLocation")
            type = typeLocation & 0x0F
            sampleLocation = typeLocation >> 4
        } else {
            concentration = nil
            type = nil
            sampleLocation = nil
        }
        molPerLitre = flags & 0x04 != 0
        sensorStatusAnnunciation = flags & 0x08 != 0 ? try reader.u16("sensorStatusAnnunciation") : nil
        contextFollows = flags & 0x10 != 0
        try reader.finish()
    }

    public func encoded() throws(EncodeError) -> [UInt8] {
        var writer = ByteWriter()
        writer.u8(flags)
        writer.u16(sequenceNumber)
        try writer.dateTime(baseTime, "baseTime")
        if let timeOffsetMinutes { writer.s16(timeOffsetMinutes) }
        if let concentration {
            try writer.sfloat(concentration, "concentration")
            writer.u8(((sampleLocation ?? 0x0F) << 4) | ((type ?? 0) & 0x0F))
        }
        if let sensorStatusAnnunciation { writer.u16(sensorStatusAnnunciation) }
        return writer.bytes
    }

    /// The MDC code for the sample type (IEEE 11073-10101 glucose concentration terms).
    public var code: MDCCode {
        switch type {
        case 2: .glucoseCapillaryPlasma
        case 3: .glucoseVenousWholeBlood
        case 4: .glucoseVenousPlasma
        case 5: .glucoseArterialWholeBlood
        case 6: .glucoseArterialPlasma
        case 9: .glucoseInterstitialFluid
        default: .glucoseCapillaryWholeBlood
        }
    }

    public var reading: DecodedReading {
        var fields: [DecodedReading.Field] = [
            .init("flags", .int(flags)), .init("sequenceNumber", .int(sequenceNumber)),
            .init("baseTime", .text(baseTime.description)),
        ]
        if let timeOffsetMinutes { fields.append(.init("timeOffsetMinutes", .int(timeOffsetMinutes))) }
        fields.append(.init("effectiveTime", .text(effectiveTime.description)))
        if let concentration {
            fields.append(.init("concentration", .float(concentration)))
            fields.append(.init("unit", .text(molPerLitre ? "mol/L" : "kg/L")))
        }
        if let type {
            fields.append(.init("type", .int(type)))
            fields.append(.init("typeName", .text(Self.typeNames[Int(type)] ?? "reserved")))
        }
        if let sampleLocation {
            fields.append(.init("sampleLocation", .int(sampleLocation)))
            fields.append(.init("sampleLocationName", .text(Self.locationNames[Int(sampleLocation)] ?? "reserved")))
        }
        if let sensorStatusAnnunciation {
            fields.append(.init("sensorStatusAnnunciation", .int(sensorStatusAnnunciation)))
        }
        fields.append(.init("contextFollows", .flag(contextFollows)))
        var status = bitNames(UInt64(sensorStatusAnnunciation ?? 0), Self.annunciationNames)
        if type == 10 || sampleLocation == 4 { status.append("controlSolution") }
        let values = concentration.map { [$0.observed(code, molPerLitre ? .molPerLitre : .kgPerLitre)] } ?? []
        // Glucose meters are read through RACP: every record is a stored reading.
        return DecodedReading(
            profile: Self.profile,
            kind: concentration == nil ? nil : .glucose,
            values: values,
            status: status,
            deviceTime: effectiveTime,
            fields: fields,
            origin: .stored
        )
    }
}
