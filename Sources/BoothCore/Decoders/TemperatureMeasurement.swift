/// Temperature Measurement (0x2A1C), with optional time stamp and temperature type.
public struct TemperatureMeasurement: PayloadDecoder, Hashable {
    public static let profile = "temperature"

    /// Temperature Type names by value (0x2A1D); 0 and 10-255 are reserved.
    public static let typeNames: [Int: String] = [
        1: "armpit", 2: "body", 3: "ear", 4: "finger", 5: "gastrointestinalTract", 6: "mouth", 7: "rectum",
        8: "toe", 9: "tympanum",
    ]

    public var temperature: MDERFloat
    /// Flag bit 0: Fahrenheit instead of Celsius.
    public var fahrenheit: Bool
    public var timestamp: DeviceTimestamp?
    public var temperatureType: UInt8?

    public init(
        temperature: MDERFloat,
        fahrenheit: Bool = false,
        timestamp: DeviceTimestamp? = nil,
        temperatureType: UInt8? = nil
    ) {
        self.temperature = temperature
        self.fahrenheit = fahrenheit
        self.timestamp = timestamp
        self.temperatureType = temperatureType
    }

    public var flags: UInt8 {
        (fahrenheit ? 0x01 : 0) | (timestamp != nil ? 0x02 : 0) | (temperatureType != nil ? 0x04 : 0)
    }

    public var typeName: String? { temperatureType.flatMap { Self.typeNames[Int($0)] } }

    public init(bytes: [UInt8]) throws(DecodeError) {
        var reader = ByteReader(bytes)
        let flags = try reader.u8("flags")
        fahrenheit = flags & 0x01 != 0
        temperature = try reader.float("temperature")
        timestamp = flags & 0x02 != 0 ? try reader.dateTime("timestamp") : nil
        temperatureType = flags & 0x04 != 0 ? try reader.u8("temperatureType") : nil
        try reader.finish()
    }

    public func encoded() throws(EncodeError) -> [UInt8] {
        var writer = ByteWriter()
        writer.u8(flags)
        try writer.float(temperature, "temperature")
        if let timestamp { try writer.dateTime(timestamp, "timestamp") }
        if let temperatureType { writer.u8(temperatureType) }
        return writer.bytes
    }

    public var reading: DecodedReading {
        var fields: [DecodedReading.Field] = [
            .init("flags", .int(flags)), .init("temperature", .float(temperature)),
            .init("unit", .text(fahrenheit ? "Fahrenheit" : "Celsius")),
        ]
        if let timestamp { fields.append(.init("timestamp", .text(timestamp.description))) }
        if let temperatureType {
            fields.append(.init("temperatureType", .int(temperatureType)))
            fields.append(.init("temperatureTypeName", .text(typeName ?? "reserved")))
        }
        return DecodedReading(
            profile: Self.profile,
            kind: .bodyTemperature,
            values: [temperature.observed(.bodyTemperature, fahrenheit ? .fahrenheit : .celsius)],
            deviceTime: timestamp,
            fields: fields
        )
    }
}
