/// PLX Features (0x2A60): what the oximeter supports. Not a measurement.
public struct PLXFeatures: PayloadDecoder, Hashable {
    public static let profile = "plx-features"

    public var supportedFeatures: UInt16
    /// Which Measurement Status bits the device can report (present when feature bit 0 is set).
    public var measurementStatusSupport: UInt16?
    /// Which Device and Sensor Status bits the device can report (present when feature bit 1 is set).
    public var deviceSensorStatusSupport: UInt32?

    public init(
        supportedFeatures: UInt16,
        measurementStatusSupport: UInt16? = nil,
        deviceSensorStatusSupport: UInt32? = nil
    ) {
        self.supportedFeatures = supportedFeatures
        self.measurementStatusSupport = measurementStatusSupport
        self.deviceSensorStatusSupport = deviceSensorStatusSupport
    }

    public init(bytes: [UInt8]) throws(DecodeError) {
        var reader = ByteReader(bytes)
        supportedFeatures = try reader.u16("supportedFeatures")
        measurementStatusSupport =
            supportedFeatures & 0x01 != 0 ? try reader.u16("measurementStatusSupport") : nil
        deviceSensorStatusSupport =
            supportedFeatures & 0x02 != 0 ? try reader.u24("deviceSensorStatusSupport") : nil
        try reader.finish()
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter()
        var features = supportedFeatures & ~0x03
        if measurementStatusSupport != nil { features |= 0x01 }
        if deviceSensorStatusSupport != nil { features |= 0x02 }
        writer.u16(features)
        if let measurementStatusSupport { writer.u16(measurementStatusSupport) }
        if let deviceSensorStatusSupport { writer.u24(deviceSensorStatusSupport) }
        return writer.bytes
    }

    /// Feature names, then the names of the supported status bits.
    public var names: [String] {
        bitNames(UInt64(supportedFeatures), PLXStatus.featureNames)
            + PLXStatus.names(measurement: measurementStatusSupport, device: deviceSensorStatusSupport)
    }

    public var reading: DecodedReading {
        var fields: [DecodedReading.Field] = [.init("supportedFeatures", .int(supportedFeatures))]
        if let measurementStatusSupport {
            fields.append(.init("measurementStatusSupport", .int(measurementStatusSupport)))
        }
        if let deviceSensorStatusSupport {
            fields.append(.init("deviceSensorStatusSupport", .int(deviceSensorStatusSupport)))
        }
        fields.append(.init("names", .list(names)))
        return DecodedReading(profile: Self.profile, kind: nil, fields: fields)
    }
}
