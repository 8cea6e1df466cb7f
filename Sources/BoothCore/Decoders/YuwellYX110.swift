/// Yuwell YX110 oximeter notification on 0xFFE4 (kind `yuwell`): FE, total length, 0x55 (measurement), a
/// reserved byte, pulse rate, SpO2, device-specific bytes, then a checksum = sum of all previous bytes mod 256.
/// Pulse 0xFF and SpO2 0x7F mean "no reading".
public struct YuwellYX110: PayloadDecoder, Hashable {
    public static let profile = "yuwell-yx110"
    public static let header: UInt8 = 0xFE
    public static let measurementType: UInt8 = 0x55

    public var pulseRate: UInt8
    public var spo2: UInt8
    /// Bytes after SpO2 and before the checksum; their meaning is not documented.
    public var extra: [UInt8]

    public init(pulseRate: UInt8, spo2: UInt8, extra: [UInt8] = [0, 0, 0]) {
        self.pulseRate = pulseRate
        self.spo2 = spo2
        self.extra = extra
    }

    public init(bytes: [UInt8]) throws(DecodeError) {
        var reader = ByteReader(bytes)
        let header = try reader.u8("header")
        guard header == Self.header else {
            throw DecodeError(field: "header", offset: 0, reason: .badMarker(UInt64(header)))
        }
        let length = Int(try reader.u8("length"))
        guard length >= 7, length == bytes.count else {
            throw DecodeError(field: "length", offset: 1, reason: .badLength(declared: length, actual: bytes.count))
        }
        let type = try reader.u8("type")
        guard type == Self.measurementType else { throw ByteReader.reserved("type", at: 2, type) }
        _ = try reader.u8("reserved")
        pulseRate = try reader.u8("pulseRate")
        spo2 = try reader.u8("spo2")
        extra = try reader.take(length - 7, "extra")
        let expected = Self.checksum(bytes[..<(length - 1)])
        let actual = try reader.u8("checksum")
        guard expected == actual else {
            throw DecodeError(
                field: "checksum",
                offset: length - 1,
                reason: .badChecksum(expected: UInt64(expected), actual: UInt64(actual))
            )
        }
        try reader.finish()
    }

    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt8 {
        bytes.reduce(0, &+)
    }

    public func encoded() -> [UInt8] {
        var bytes = [Self.header, UInt8(truncatingIfNeeded: 7 + extra.count), Self.measurementType, 0, pulseRate, spo2]
        bytes += extra
        bytes.append(Self.checksum(bytes))
        return bytes
    }

    public var reading: DecodedReading {
        DecodedReading(
            profile: Self.profile,
            kind: .oxygenSaturation,
            values: [
                vendorValue(spo2, invalid: 0x7F, .spo2, .percent),
                vendorValue(pulseRate, invalid: 0xFF, .pulseOximetryPulseRate, .perMinute),
            ],
            fields: [.init("pulseRate", .int(pulseRate)), .init("spo2", .int(spo2)), .init("extra", .bytes(extra))]
        )
    }
}
