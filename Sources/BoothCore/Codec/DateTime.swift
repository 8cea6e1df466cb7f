/// Bluetooth "Date Time" (0x2A08 layout, 7 bytes: year u16, month, day, hours, minutes, seconds).
/// Year, month or day 0 means "not known" (the device clock was never set).
public enum DateTimeCodec {
    public static func decode(_ reader: inout ByteReader, _ field: String) throws(DecodeError) -> DeviceTimestamp {
        let start = reader.offset
        try reader.require(7, field)
        let year = Int(try reader.u16("\(field).year"))
        let month = Int(try reader.u8("\(field).month"))
        let day = Int(try reader.u8("\(field).day"))
        let hour = Int(try reader.u8("\(field).hours"))
        let minute = Int(try reader.u8("\(field).minutes"))
        let second = Int(try reader.u8("\(field).seconds"))
        guard year == 0 || (1582...9999).contains(year) else {
            throw ByteReader.reserved("\(field).year", at: start, year)
        }
        guard month <= 12 else { throw ByteReader.reserved("\(field).month", at: start + 2, month) }
        guard day <= 31 else { throw ByteReader.reserved("\(field).day", at: start + 3, day) }
        guard hour <= 23 else { throw ByteReader.reserved("\(field).hours", at: start + 4, hour) }
        guard minute <= 59 else { throw ByteReader.reserved("\(field).minutes", at: start + 5, minute) }
        guard second <= 59 else { throw ByteReader.reserved("\(field).seconds", at: start + 6, second) }
        return DeviceTimestamp(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
    }

    /// Decodes exactly 7 bytes.
    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> DeviceTimestamp {
        var reader = ByteReader(bytes)
        let value = try decode(&reader, "dateTime")
        try reader.finish()
        return value
    }

    public static func encode(_ value: DeviceTimestamp, _ field: String = "dateTime") throws(EncodeError) -> [UInt8] {
        guard value.year == 0 || (1582...9999).contains(value.year), (0...12).contains(value.month),
            (0...31).contains(value.day), (0...23).contains(value.hour), (0...59).contains(value.minute),
            (0...59).contains(value.second)
        else { throw EncodeError(field: field, detail: "\(value) is outside the Date Time ranges") }
        return [
            UInt8(value.year & 0xFF), UInt8(value.year >> 8), UInt8(value.month), UInt8(value.day),
            UInt8(value.hour), UInt8(value.minute), UInt8(value.second),
        ]
    }
}

extension DeviceTimestamp {
    /// Days since 1970-01-01 of the civil date (proleptic Gregorian), for offset arithmetic without Foundation.
    var daysSinceEpoch: Int {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    init(daysSinceEpoch days: Int, secondsOfDay: Int) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        self.init(
            year: year,
            month: month,
            day: day,
            hour: secondsOfDay / 3600,
            minute: secondsOfDay / 60 % 60,
            second: secondsOfDay % 60
        )
    }

    /// This time shifted by `minutes`; an unset clock (year/month/day 0) is returned unchanged because the
    /// calendar date it would land on is unknown.
    public func adding(minutes: Int) -> DeviceTimestamp {
        guard !isClockUnset else { return self }
        let total = daysSinceEpoch * 86_400 + hour * 3600 + minute * 60 + second + minutes * 60
        let days = total >= 0 ? total / 86_400 : (total - 86_399) / 86_400
        return DeviceTimestamp(daysSinceEpoch: days, secondsOfDay: total - days * 86_400)
    }

    /// ISO day of week, 1 = Monday ... 7 = Sunday; 0 when the date is not known.
    public var dayOfWeek: Int {
        guard !isClockUnset else { return 0 }
        // 1970-01-01 was a Thursday (4).
        let weekday = (daysSinceEpoch % 7 + 7 + 3) % 7
        return weekday + 1
    }
}
