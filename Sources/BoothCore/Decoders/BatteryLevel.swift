/// Battery Level (0x2A19): percent, 0-100.
public struct BatteryLevel: PayloadDecoder, Hashable {
    public static let profile = "battery-level"

    public var percent: UInt8

    /// Values above 100 are reserved.
    public init(percent: UInt8) throws(EncodeError) {
        guard percent <= 100 else { throw EncodeError(field: "batteryLevel", detail: "\(percent) > 100") }
        self.percent = percent
    }

    public init(bytes: [UInt8]) throws(DecodeError) {
        var reader = ByteReader(bytes)
        percent = try reader.u8("batteryLevel")
        guard percent <= 100 else { throw ByteReader.reserved("batteryLevel", at: 0, percent) }
        try reader.finish()
    }

    public func encoded() -> [UInt8] { [percent] }

    public var reading: DecodedReading {
        DecodedReading(profile: Self.profile, kind: nil, fields: [.init("batteryPercent", .int(percent))])
    }
}
