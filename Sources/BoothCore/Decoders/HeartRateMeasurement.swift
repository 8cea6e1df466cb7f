/// Heart Rate Measurement (GATT characteristic 0x2A37), decoded.
///
/// Layout (Bluetooth SIG Heart Rate Service 1.0): flags (uint8); heart rate (uint8, or uint16 when flags bit 0);
/// energy expended (uint16, kJ) when flags bit 3; then one or more RR intervals (uint16, 1/1024 s) when flags bit 4.
/// Flags bits 1–2 carry the sensor-contact status. Reserved flag bits 5–7 are ignored, as the specification asks
/// receivers to do.
public struct HeartRateMeasurement: Sendable, Hashable, Codable {
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
    public static func decode(_ bytes: [UInt8]) throws(ECGDecodeError) -> HeartRateMeasurement {
        var reader = ECGByteReader(bytes)
        let flags = try reader.u8("flags")
        let isUInt16 = flags & 0x01 != 0
        let heartRate = isUInt16 ? Int(try reader.u16("heartRate")) : Int(try reader.u8("heartRate"))
        let contact: SensorContact =
            switch (flags >> 1) & 0x03 {
            case 3: .detected
            case 2: .notDetected
            default: .notSupported
            }
        var energy: Int?
        if flags & 0x08 != 0 {
            energy = Int(try reader.u16("energyExpended"))
        }
        var intervals: [UInt16] = []
        if flags & 0x10 != 0 {
            // The flag promises at least one interval; a payload that stops here is truncated.
            repeat {
                intervals.append(try reader.u16("rrInterval[\(intervals.count)]"))
            } while reader.remaining > 0
        }
        try reader.finish()
        return HeartRateMeasurement(
            heartRate: heartRate,
            isUInt16: isUInt16,
            sensorContact: contact,
            energyExpendedKJ: energy,
            rrIntervals1024: intervals
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

    /// The reading as a PHD-style measurement (heart rate, then each RR interval), or nil when contact is lost:
    /// a heart rate sent without skin contact is not a measurement.
    public func measurement(
        id: String,
        device: DeviceIdentity,
        receivedAtMicros: Int64,
        raw: [UInt8] = []
    ) -> Measurement? {
        guard !isContactLost else { return nil }
        var values = [ObservedValue(code: .heartRate, number: DecimalNumber(heartRate), unit: .perMinute)]
        for interval in rrIntervalsMilliseconds {
            values.append(ObservedValue(code: .rrInterval, number: interval, unit: .millisecond))
        }
        var status: [String] = []
        if sensorContact == .detected { status.append("sensorContact") }
        return Measurement(
            id: id,
            kind: .heartRate,
            values: values,
            status: status,
            device: device,
            receivedAtMicros: receivedAtMicros,
            raw: raw
        )
    }
}

/// Body Sensor Location (GATT characteristic 0x2A38): where the heart-rate sensor is worn.
public enum BodySensorLocation: UInt8, Sendable, Hashable, Codable, CaseIterable {
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
    public static func decode(_ bytes: [UInt8]) throws(ECGDecodeError) -> BodySensorLocation {
        var reader = ECGByteReader(bytes)
        let raw = try reader.u8("bodySensorLocation")
        try reader.finish()
        guard let location = BodySensorLocation(rawValue: raw) else {
            throw ECGDecodeError(field: "bodySensorLocation", offset: 0, reason: .reservedValue(UInt64(raw)))
        }
        return location
    }
}
