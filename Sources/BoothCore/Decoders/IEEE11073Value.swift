/// A bare IEEE 11073 SFLOAT (kind `sfloat`, 2 bytes little-endian) or FLOAT (kind `float`, 4 bytes).
public struct SFloatValue: PayloadDecoder, Hashable {
    public static let profile = "sfloat"

    public var value: MDERFloat

    public init(value: MDERFloat) { self.value = value }

    public init(bytes: [UInt8]) throws(DecodeError) {
        var reader = ByteReader(bytes)
        value = try reader.sfloat("sfloat")
        try reader.finish()
    }

    public func encoded() throws(EncodeError) -> [UInt8] {
        var writer = ByteWriter()
        try writer.sfloat(value, "sfloat")
        return writer.bytes
    }

    public var reading: DecodedReading { floatReading(Self.profile, value) }
}

/// A bare IEEE 11073 FLOAT (kind `float`, 4 bytes little-endian).
public struct FloatValue: PayloadDecoder, Hashable {
    public static let profile = "float"

    public var value: MDERFloat

    public init(value: MDERFloat) { self.value = value }

    public init(bytes: [UInt8]) throws(DecodeError) {
        var reader = ByteReader(bytes)
        value = try reader.float("float")
        try reader.finish()
    }

    public func encoded() throws(EncodeError) -> [UInt8] {
        var writer = ByteWriter()
        try writer.float(value, "float")
        return writer.bytes
    }

    public var reading: DecodedReading { floatReading(Self.profile, value) }
}

private func floatReading(_ profile: String, _ value: MDERFloat) -> DecodedReading {
    var fields: [DecodedReading.Field] = [.init("value", .float(value))]
    if let number = value.number {
        fields += [.init("mantissa", .int(number.mantissa)), .init("exponent", .int(number.exponent))]
    }
    if let reason = value.absentReason { fields.append(.init("absentReason", .text(reason.fhirCode))) }
    return DecodedReading(profile: profile, kind: nil, fields: fields)
}
