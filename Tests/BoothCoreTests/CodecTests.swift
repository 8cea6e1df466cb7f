import BoothCore
import Testing

@Suite struct CodecTests {
    @Test func sfloatSpecialsOnlyAtExponentZero() {
        #expect(MDERFloat(sfloat: 0x07FF) == .notANumber)
        #expect(MDERFloat(sfloat: 0x0800) == .notResolved)
        #expect(MDERFloat(sfloat: 0x07FE) == .positiveInfinity)
        #expect(MDERFloat(sfloat: 0x0802) == .negativeInfinity)
        #expect(MDERFloat(sfloat: 0x0801) == .reserved)
        #expect(MDERFloat(sfloat: 0xD7FF) == MDERFloat(2047, -3))
        // Not biased: 0x0062 is 98.
        #expect(MDERFloat(sfloat: 0x0062) == MDERFloat(98))
        #expect(MDERFloat.notResolved.absentReason?.fhirCode == "error")
        #expect(MDERFloat.reserved.absentReason?.fhirCode == "error")
        #expect(MDERFloat.notANumber.absentReason?.fhirCode == "not-a-number")
    }

    @Test func sfloatEncodeRoundTripsEveryPattern() throws {
        for raw in 0...UInt16.max {
            let value = MDERFloat(sfloat: raw)
            // Exponent-0 mantissas next to the special patterns are not produced by the encoder.
            if let number = value.number, number.exponent == 0, number.mantissa.magnitude > 2045 { continue }
            let bits = try value.sfloatBits()
            #expect(MDERFloat(sfloat: bits) == value, "0x\(String(raw, radix: 16))")
        }
    }

    @Test func encoderNormalisesWithoutRounding() throws {
        // 2000.0 keeps its value: 20000e-1 -> 2000e0; 30000 -> 300e2.
        #expect(try MDERFloat(20000, -1).sfloatBits() == 0x07D0)
        #expect(try MDERFloat(30000).sfloatBits() == 0x212C)
        #expect(try MDERFloat(2047, -3).sfloatBits() == 0xD7FF)
        // 2046 would need rounding (and collides with +INF at exponent 0): refused, not silently changed.
        #expect(throws: EncodeError.self) { try MDERFloat(2046).sfloatBits() }
        #expect(throws: EncodeError.self) { try MDERFloat(1, -9).sfloatBits() }
        #expect(try MDERFloat(3760, -2).floatBits() == 0xFE00_0EB0)
        #expect(try MDERFloat(-1234).floatBits() == 0x00FF_FB2E)
        #expect(try MDERFloat.notANumber.floatBits() == 0x007F_FFFF)
    }

    @Test func floatSpecials() {
        #expect(MDERFloat(float: 0x007F_FFFF) == .notANumber)
        #expect(MDERFloat(float: 0x0080_0000) == .notResolved)
        #expect(MDERFloat(float: 0x007F_FFFE) == .positiveInfinity)
        #expect(MDERFloat(float: 0x0080_0002) == .negativeInfinity)
        #expect(MDERFloat(float: 0x0080_0001) == .reserved)
        #expect(MDERFloat(float: 0x017F_FFFF) == MDERFloat(0x7F_FFFF, 1))
    }

    @Test func decimalTextKeepsPrecision() {
        #expect(DecimalNumber(mantissa: 20, exponent: -1).description == "2.0")
        #expect(DecimalNumber(mantissa: 2, exponent: 1).description == "20")
        #expect(DecimalNumber(mantissa: -125, exponent: -2).description == "-1.25")
        #expect(DecimalNumber(mantissa: 5, exponent: -3).description == "0.005")
    }

    @Test func dateTimeRoundTripAndRanges() throws {
        let time = DeviceTimestamp(year: 2024, month: 11, day: 29, hour: 23, minute: 8, second: 57)
        let bytes = try DateTimeCodec.encode(time)
        #expect(Hex.string(bytes) == "e8070b1d170839")
        #expect(try DateTimeCodec.decode(bytes) == time)
        let badMonth = try #require(throws: DecodeError.self) { try DateTimeCodec.decode(Hex.bytes("e8070d1d170839")!) }
        #expect(badMonth.field == "dateTime.month" && badMonth.offset == 2 && badMonth.reasonName == "reserved-value")
        #expect(throws: DecodeError.self) { try DateTimeCodec.decode(Hex.bytes("e8070b1d18")!) }
    }

    @Test func timeOffsetsCrossDaysMonthsAndYears() {
        let time = DeviceTimestamp(year: 2024, month: 12, day: 31, hour: 23, minute: 58, second: 0)
        #expect(time.adding(minutes: 5).description == "2025-01-01T00:03:00")
        #expect(time.adding(minutes: -5).description == "2024-12-31T23:53:00")
        let leap = DeviceTimestamp(year: 2024, month: 3, day: 1, hour: 0, minute: 1, second: 0)
        #expect(leap.adding(minutes: -2).description == "2024-02-29T23:59:00")
        let unset = DeviceTimestamp(year: 0, month: 4, day: 17, hour: 20, minute: 41, second: 59)
        #expect(unset.adding(minutes: 30) == unset)
        #expect(DeviceTimestamp(year: 2026, month: 11, day: 25, hour: 0, minute: 0, second: 0).dayOfWeek == 3)
    }

    @Test func byteReaderNamesFieldAndOffset() {
        var reader = ByteReader([0x01, 0x02, 0x03])
        #expect((try? reader.u16("a")) == 0x0201)
        let error = #expect(throws: DecodeError.self) { try reader.u16("systolic") }
        #expect(error?.description == "systolic at offset 2: truncated: needs 2 byte(s), 1 left")
    }

    @Test func crc8MatchesTheVectors() {
        #expect(CRC8.checksum(Hex.bytes("aa17e800000000")!) == 0x1B)
        #expect(CRC8.checksum([]) == 0)
    }
}
