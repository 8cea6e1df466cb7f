/// Heart Rate Measurement (GATT characteristic 0x2A37), decoded.
///
/// Layout (Bluetooth SIG Heart Rate Service 1.0): flags (uint8); heart rate (uint8, or uint16 when flags bit 0);
/// energy expended (uint16, kJ) when flags bit 3; then one or more RR intervals (uint16, 1/1024 s) when flags bit 4.
/// Flags bits 1–2 carry the sensor-contact status. Reserved flag bits 5–7 are ignored, as the specification asks
/// receivers to do.
public struct HeartRateMeasurement: PayloadDecoder, Hashable, Codable {
    public static let profile = "heart-rate-measurement"

    /// Sensor contact as the device reports it.
    public enum SensorContact: String, Sendable, Hashable, Codable {
        /// The sensor does not report contact (flags bits 1–2 = 0 or 1).
        case notSupported
        /// Supported, and the strap/electrodes are not touching the skin: a device-state warning, not a reading.
        case notDetected
        /// Supported and in contact.
        case detected
    }

    /// The characteristic UUID.
    public static let characteristic = GATTUUID(0x2A37)

    /// Beats per minute as sent.
    public var heartRate: Int
    /// True when the device used the uint16 format.
    public var isUInt16: Bool
    public var sensorContact: SensorContact
    /// Accumulated energy expended in kilojoules, when present.
    public var energyExpendedKJ: Int?
    /// RR intervals in the device's unit of 1/1024 s, in the order received (oldest first).
    public var rrIntervals1024: [UInt16]

    public init(
        heartRate: Int,
        isUInt16: Bool = false,
        sensorContact: SensorContact = .notSupported,
        energyExpendedKJ: Int? = nil,
        rrIntervals1024: [UInt16] = []
    ) {
        self.heartRate = heartRate
        self.isUInt16 = isUInt16
        self.sensorContact = sensorContact
        self.energyExpendedKJ = energyExpendedKJ
        self.rrIntervals1024 = rrIntervals1024
    }

    /// Decodes one notification value; every short or inconsistent payload throws an error naming the field.
    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> HeartRateMeasurement {
        try HeartRateMeasurement(bytes: bytes)
    }

    public init(bytes: [UInt8]) throws(DecodeError) {
        var reader = ByteReader(bytes)
        let flags = try reader.u8("flags")
        isUInt16 = flags & 0x01 != 0
        heartRate = isUInt16 ? Int(try reader.u16("heartRate")) : Int(try reader.u8("heartRate"))
        sensorContact =
            switch (flags >> 1) & 0x03 {
            case 3: .detected
            case 2: .notDetected
            default: .notSupported
            }
        energyExpendedKJ = flags & 0x08 != 0 ? Int(try reader.u16("energyExpended")) : nil
        var intervals: [UInt16] = []
        if flags & 0x10 != 0 {
            // The flag promises at least one interval; a payload that stops here is truncated.
            repeat {
                intervals.append(try reader.u16("rrInterval[\(intervals.count)]"))
            } while reader.remaining > 0
        }
        rrIntervals1024 = intervals
        try reader.finish()
    }

    /// Heart rate and RR intervals as PHD values (MDC_ECG_HEART_RATE, MDC_ECG_TIME_PD_RR_GL). With the sensor off
    /// the skin the reading has no kind: it is a device-state warning (`sensorContactLost`), not a measurement.
    public var reading: DecodedReading {
        var fields: [DecodedReading.Field] = [
            .init("heartRate", .int(heartRate)), .init("uint16", .flag(isUInt16)),
            .init("sensorContact", .text(sensorContact.rawValue)),
        ]
        if let energyExpendedKJ { fields.append(.init("energyExpendedKJ", .int(energyExpendedKJ))) }
        if !rrIntervals1024.isEmpty {
            fields.append(.init("rrIntervals1024", .list(rrIntervals1024.map { String($0) })))
            fields.append(.init("rrIntervalsMs", .list(rrIntervalsMilliseconds.map(\.description))))
        }
        var values = [ObservedValue(code: .heartRate, number: DecimalNumber(heartRate), unit: .perMinute)]
        for interval in rrIntervalsMilliseconds {
            values.append(ObservedValue(code: .rrInterval, number: interval, unit: .millisecond))
        }
        let status: [String] =
            switch sensorContact {
            case .detected: ["sensorContact"]
            case .notDetected: ["sensorContactLost"]
            case .notSupported: []
            }
        return DecodedReading(
            profile: Self.profile,
            kind: isContactLost ? nil : .heartRate,
            values: values,
            status: status,
            fields: fields
        )
    }

    /// Encodes the value as a device would send it (used by the simulator and round-trip tests).
    public func encoded() -> [UInt8] {
        var flags: UInt8 = isUInt16 ? 0x01 : 0
        switch sensorContact {
        case .notSupported: break
        case .notDetected: flags |= 0x04
        case .detected: flags |= 0x06
        }
        if energyExpendedKJ != nil { flags |= 0x08 }
        if !rrIntervals1024.isEmpty { flags |= 0x10 }
        var bytes: [UInt8] = [flags]
        func append16(_ value: UInt16) {
            bytes.append(UInt8(truncatingIfNeeded: value))
            bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        }
        if isUInt16 {
            append16(UInt16(clamping: heartRate))
        } else {
            bytes.append(UInt8(clamping: heartRate))
        }
        if let energyExpendedKJ { append16(UInt16(clamping: energyExpendedKJ)) }
        rrIntervals1024.forEach(append16)
        return bytes
    }

    /// RR intervals in milliseconds, exact: n/1024 s = n × 0.9765625 ms.
    public var rrIntervalsMilliseconds: [DecimalNumber] {
        rrIntervals1024.map { DecimalNumber(mantissa: Int64($0) * 9_765_625, exponent: -7) }
    }

    /// True when the device says the sensor is off the skin: report a device-state warning, not a measurement.
    public var isContactLost: Bool { sensorContact == .notDetected }
}

/// Body Sensor Location (GATT characteristic 0x2A38): where the heart-rate sensor is worn.
public enum BodySensorLocation: UInt8, PayloadDecoder, Hashable, Codable, CaseIterable {
    public static let profile = "body-sensor-location"

    case other = 0
    case chest = 1
    case wrist = 2
    case finger = 3
    case hand = 4
    case earLobe = 5
    case foot = 6

    /// The characteristic UUID.
    public static let characteristic = GATTUUID(0x2A38)

    /// Decodes the one-byte value; values 7–255 are reserved and rejected.
    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> BodySensorLocation {
        try BodySensorLocation(bytes: bytes)
    }

    public init(bytes: [UInt8]) throws(DecodeError) {
        var reader = ByteReader(bytes)
        let raw = try reader.u8("bodySensorLocation")
        try reader.finish()
        guard let location = BodySensorLocation(rawValue: raw) else {
            throw ByteReader.reserved("bodySensorLocation", at: 0, raw)
        }
        self = location
    }

    public var reading: DecodedReading {
        DecodedReading(
            profile: Self.profile,
            kind: nil,
            fields: [.init("bodySensorLocation", .text("\(self)")), .init("code", .int(rawValue))]
        )
    }
}
