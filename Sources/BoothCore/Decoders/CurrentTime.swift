/// Current Time (0x2A2B): the booth writes it to set a device clock (Exact Time 256 + Adjust Reason).
public struct CurrentTime: PayloadDecoder, Hashable {
    public static let profile = "current-time"

    public var time: DeviceTimestamp
    /// 1 = Monday ... 7 = Sunday, 0 = unknown.
    public var dayOfWeek: UInt8
    /// 1/256 s.
    public var fractions256: UInt8
    /// Bit 0 manual update, 1 external reference, 2 time zone change, 3 DST change.
    public var adjustReason: UInt8

    /// The value to write; the day of week is computed from the date.
    public init(time: DeviceTimestamp, fractions256: UInt8 = 0, adjustReason: UInt8 = 0x01) {
        self.time = time
        self.dayOfWeek = UInt8(time.dayOfWeek)
        self.fractions256 = fractions256
        self.adjustReason = adjustReason
    }

    public init(bytes: [UInt8]) throws(DecodeError) {
        var reader = ByteReader(bytes)
        time = try reader.dateTime("dateTime")
        let dayOffset = reader.offset
        dayOfWeek = try reader.u8("dayOfWeek")
        guard dayOfWeek <= 7 else { throw ByteReader.reserved("dayOfWeek", at: dayOffset, dayOfWeek) }
        fractions256 = try reader.u8("fractions256")
        adjustReason = try reader.u8("adjustReason")
        try reader.finish()
    }

    public func encoded() throws(EncodeError) -> [UInt8] {
        var writer = ByteWriter()
        try writer.dateTime(time, "dateTime")
        writer.u8(dayOfWeek)
        writer.u8(fractions256)
        writer.u8(adjustReason)
        return writer.bytes
    }

    public var reading: DecodedReading {
        DecodedReading(
            profile: Self.profile,
            kind: nil,
            deviceTime: time,
            fields: [
                .init("dateTime", .text(time.description)), .init("dayOfWeek", .int(dayOfWeek)),
                .init("fractions256", .int(fractions256)), .init("adjustReason", .int(adjustReason)),
            ]
        )
    }
}
