/// PLX Spot-check Measurement (0x2A5E).
public struct PLXSpotCheck: PayloadDecoder, Hashable {
    public static let profile = "plx-spot-check"

    public var spo2: MDERFloat
    public var pulseRate: MDERFloat
    public var timestamp: DeviceTimestamp?
    public var measurementStatus: UInt16?
    /// Device and Sensor Status (24 bit).
    public var deviceSensorStatus: UInt32?
    public var pulseAmplitudeIndex: MDERFloat?
    /// Flag bit 4: the device says its clock is not set.
    public var deviceClockNotSet: Bool

    public init(
        spo2: MDERFloat,
        pulseRate: MDERFloat,
        timestamp: DeviceTimestamp? = nil,
        measurementStatus: UInt16? = nil,
        deviceSensorStatus: UInt32? = nil,
        pulseAmplitudeIndex: MDERFloat? = nil,
        deviceClockNotSet: Bool = false
    ) {
        self.spo2 = spo2
        self.pulseRate = pulseRate
        self.timestamp = timestamp
        self.measurementStatus = measurementStatus
        self.deviceSensorStatus = deviceSensorStatus
        self.pulseAmplitudeIndex = pulseAmplitudeIndex
        self.deviceClockNotSet = deviceClockNotSet
    }

    /// The flags byte these fields encode to.
    public var flags: UInt8 {
        (timestamp != nil ? 0x01 : 0) | (measurementStatus != nil ? 0x02 : 0) | (deviceSensorStatus != nil ? 0x04 : 0)
            | (pulseAmplitudeIndex != nil ? 0x08 : 0) | (deviceClockNotSet ? 0x10 : 0)
    }

    public init(bytes: [UInt8]) throws(DecodeError) {
        var reader = ByteReader(bytes)
        let flags = try reader.u8("flags")
        spo2 = try reader.sfloat("spo2")
        pulseRate = try reader.sfloat("pulseRate")
        timestamp = flags & 0x01 != 0 ? try reader.dateTime("timestamp") : nil
        measurementStatus = flags & 0x02 != 0 ? try reader.u16("measurementStatus") : nil
        deviceSensorStatus = flags & 0x04 != 0 ? try reader.u24("deviceSensorStatus") : nil
        pulseAmplitudeIndex = flags & 0x08 != 0 ? try reader.sfloat("pulseAmplitudeIndex") : nil
        deviceClockNotSet = flags & 0x10 != 0
        try reader.finish()
    }

    /// The characteristic value bytes.
    public func encoded() throws(EncodeError) -> [UInt8] {
        var writer = ByteWriter()
        writer.u8(flags)
        try writer.sfloat(spo2, "spo2")
        try writer.sfloat(pulseRate, "pulseRate")
        if let timestamp { try writer.dateTime(timestamp, "timestamp") }
        if let measurementStatus { writer.u16(measurementStatus) }
        if let deviceSensorStatus { writer.u24(deviceSensorStatus) }
        if let pulseAmplitudeIndex { try writer.sfloat(pulseAmplitudeIndex, "pulseAmplitudeIndex") }
        return writer.bytes
    }

    public var reading: DecodedReading {
        var fields: [DecodedReading.Field] = [
            .init("flags", .int(flags)), .init("spo2", .float(spo2)), .init("pulseRate", .float(pulseRate)),
        ]
        if let timestamp { fields.append(.init("timestamp", .text(timestamp.description))) }
        if let measurementStatus { fields.append(.init("measurementStatus", .int(measurementStatus))) }
        if let deviceSensorStatus { fields.append(.init("deviceSensorStatus", .int(deviceSensorStatus))) }
        if let pulseAmplitudeIndex { fields.append(.init("pulseAmplitudeIndex", .float(pulseAmplitudeIndex))) }
        fields.append(.init("deviceClockNotSet", .flag(deviceClockNotSet)))
        return DecodedReading(
            profile: Self.profile,
            kind: .oxygenSaturation,
            values: PLXStatus.values(spo2: spo2, pulseRate: pulseRate, pai: pulseAmplitudeIndex),
            status: PLXStatus.names(measurement: measurementStatus, device: deviceSensorStatus),
            deviceTime: timestamp,
            clockUnset: deviceClockNotSet,
            fields: fields,
            origin: (measurementStatus ?? 0) & 0x0200 != 0 ? .stored : .live
        )
    }
}
