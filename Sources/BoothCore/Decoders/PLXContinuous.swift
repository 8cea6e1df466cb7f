/// PLX Continuous Measurement (0x2A5F): the normal SpO2/PR pair plus optional fast and slow pairs.
public struct PLXContinuous: PayloadDecoder, Hashable {
    public static let profile = "plx-continuous"

    /// An SpO2 and pulse-rate pair.
    public struct Pair: Sendable, Hashable {
        public var spo2: MDERFloat
        public var pulseRate: MDERFloat

        public init(spo2: MDERFloat, pulseRate: MDERFloat) {
            self.spo2 = spo2
            self.pulseRate = pulseRate
        }
    }

    public var normal: Pair
    public var fast: Pair?
    public var slow: Pair?
    public var measurementStatus: UInt16?
    public var deviceSensorStatus: UInt32?
    public var pulseAmplitudeIndex: MDERFloat?

    public init(
        normal: Pair,
        fast: Pair? = nil,
        slow: Pair? = nil,
        measurementStatus: UInt16? = nil,
        deviceSensorStatus: UInt32? = nil,
        pulseAmplitudeIndex: MDERFloat? = nil
    ) {
        self.normal = normal
        self.fast = fast
        self.slow = slow
        self.measurementStatus = measurementStatus
        self.deviceSensorStatus = deviceSensorStatus
        self.pulseAmplitudeIndex = pulseAmplitudeIndex
    }

    public var flags: UInt8 {
        (fast != nil ? 0x01 : 0) | (slow != nil ? 0x02 : 0) | (measurementStatus != nil ? 0x04 : 0)
            | (deviceSensorStatus != nil ? 0x08 : 0) | (pulseAmplitudeIndex != nil ? 0x10 : 0)
    }

    public init(bytes: [UInt8]) throws(DecodeError) {
        var reader = ByteReader(bytes)
        let flags = try reader.u8("flags")
        normal = Pair(spo2: try reader.sfloat("spo2"), pulseRate: try reader.sfloat("pulseRate"))
        fast =
            flags & 0x01 != 0
            ? Pair(spo2: try reader.sfloat("spo2Fast"), pulseRate: try reader.sfloat("pulseRateFast")) : nil
        slow =
            flags & 0x02 != 0
            ? Pair(spo2: try reader.sfloat("spo2Slow"), pulseRate: try reader.sfloat("pulseRateSlow")) : nil
        measurementStatus = flags & 0x04 != 0 ? try reader.u16("measurementStatus") : nil
        deviceSensorStatus = flags & 0x08 != 0 ? try reader.u24("deviceSensorStatus") : nil
        pulseAmplitudeIndex = flags & 0x10 != 0 ? try reader.sfloat("pulseAmplitudeIndex") : nil
        try reader.finish()
    }

    public func encoded() throws(EncodeError) -> [UInt8] {
        var writer = ByteWriter()
        writer.u8(flags)
        try writer.sfloat(normal.spo2, "spo2")
        try writer.sfloat(normal.pulseRate, "pulseRate")
        if let fast {
            try writer.sfloat(fast.spo2, "spo2Fast")
            try writer.sfloat(fast.pulseRate, "pulseRateFast")
        }
        if let slow {
            try writer.sfloat(slow.spo2, "spo2Slow")
            try writer.sfloat(slow.pulseRate, "pulseRateSlow")
        }
        if let measurementStatus { writer.u16(measurementStatus) }
        if let deviceSensorStatus { writer.u24(deviceSensorStatus) }
        if let pulseAmplitudeIndex { try writer.sfloat(pulseAmplitudeIndex, "pulseAmplitudeIndex") }
        return writer.bytes
    }

    public var reading: DecodedReading {
        var fields: [DecodedReading.Field] = [
            .init("flags", .int(flags)), .init("spo2", .float(normal.spo2)),
            .init("pulseRate", .float(normal.pulseRate)),
        ]
        if let fast {
            fields += [.init("spo2Fast", .float(fast.spo2)), .init("pulseRateFast", .float(fast.pulseRate))]
        }
        if let slow {
            fields += [.init("spo2Slow", .float(slow.spo2)), .init("pulseRateSlow", .float(slow.pulseRate))]
        }
        if let measurementStatus { fields.append(.init("measurementStatus", .int(measurementStatus))) }
        if let deviceSensorStatus { fields.append(.init("deviceSensorStatus", .int(deviceSensorStatus))) }
        if let pulseAmplitudeIndex { fields.append(.init("pulseAmplitudeIndex", .float(pulseAmplitudeIndex))) }
        // The normal pair is the reading; fast/slow are alternative averagings of the same signal and stay in fields.
        return DecodedReading(
            profile: Self.profile,
            kind: .oxygenSaturation,
            values: PLXStatus.values(spo2: normal.spo2, pulseRate: normal.pulseRate, pai: pulseAmplitudeIndex),
            status: PLXStatus.names(measurement: measurementStatus, device: deviceSensorStatus),
            fields: fields
        )
    }
}
