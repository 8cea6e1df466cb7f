/// An IEEE 11073-20601 (MDER) FLOAT or SFLOAT value: a decimal number with its exponent kept, or one of the
/// special values. Special values are never turned into numbers.
///
/// The exponent is a plain two's-complement field: 0x0062 is 98, 0xF014 is 20 × 10⁻¹ = 2.0. (One public library
/// biases it by 8; real devices and the specification do not.)
public enum MDERFloat: Sendable, Hashable, CustomStringConvertible {
    case number(DecimalNumber)
    case notANumber
    /// NRes: not at this resolution.
    case notResolved
    case positiveInfinity
    case negativeInfinity
    /// The reserved special pattern (0x0801 / 0x00800001).
    case reserved

    /// The number, or nil for a special value.
    public var number: DecimalNumber? {
        if case .number(let number) = self { return number }
        return nil
    }

    /// Why there is no number, or nil for a number.
    public var absentReason: AbsentReason? {
        switch self {
        case .number: nil
        case .notANumber: .notANumber
        case .notResolved: .notResolved
        case .positiveInfinity: .positiveInfinity
        case .negativeInfinity: .negativeInfinity
        case .reserved: .reserved
        }
    }

    public var description: String {
        switch self {
        case .number(let number): number.description
        case .notANumber: "NaN"
        case .notResolved: "NRes"
        case .positiveInfinity: "+INF"
        case .negativeInfinity: "-INF"
        case .reserved: "reserved"
        }
    }

    /// Decodes a 16-bit SFLOAT: 4-bit signed exponent, 12-bit signed mantissa. The special values exist only
    /// with exponent 0 (0xD7FF is 2.047, not NaN).
    public init(sfloat raw: UInt16) {
        let rawMantissa = Int(raw & 0x0FFF)
        let rawExponent = Int(raw >> 12)
        if rawExponent == 0 {
            switch rawMantissa {
            case 0x07FF:
                self = .notANumber
                return
            case 0x0800:
                self = .notResolved
                return
            case 0x07FE:
                self = .positiveInfinity
                return
            case 0x0802:
                self = .negativeInfinity
                return
            case 0x0801:
                self = .reserved
                return
            default: break
            }
        }
        let mantissa = rawMantissa >= 0x0800 ? rawMantissa - 0x1000 : rawMantissa
        let exponent = rawExponent >= 0x8 ? rawExponent - 0x10 : rawExponent
        self = .number(DecimalNumber(mantissa: Int64(mantissa), exponent: exponent))
    }

    /// Decodes a 32-bit FLOAT: 8-bit signed exponent, 24-bit signed mantissa.
    public init(float raw: UInt32) {
        let rawMantissa = Int(raw & 0x00FF_FFFF)
        let exponent = Int(Int8(bitPattern: UInt8(truncatingIfNeeded: raw >> 24)))
        if exponent == 0 {
            switch rawMantissa {
            case 0x7F_FFFF:
                self = .notANumber
                return
            case 0x80_0000:
                self = .notResolved
                return
            case 0x7F_FFFE:
                self = .positiveInfinity
                return
            case 0x80_0002:
                self = .negativeInfinity
                return
            case 0x80_0001:
                self = .reserved
                return
            default: break
            }
        }
        let mantissa = rawMantissa >= 0x80_0000 ? rawMantissa - 0x100_0000 : rawMantissa
        self = .number(DecimalNumber(mantissa: Int64(mantissa), exponent: exponent))
    }

    /// The 16-bit SFLOAT bit pattern. Numbers are stored losslessly (trailing zeros of the mantissa may move
    /// into the exponent); a number that does not fit 12 bits of mantissa without rounding is an error.
    public func sfloatBits(_ field: String = "sfloat") throws(EncodeError) -> UInt16 {
        switch self {
        case .notANumber: return 0x07FF
        case .notResolved: return 0x0800
        case .positiveInfinity: return 0x07FE
        case .negativeInfinity: return 0x0802
        case .reserved: return 0x0801
        case .number(let number):
            let (mantissa, exponent) = try Self.fit(number, bits: 12, exponents: -8...7, field)
            return UInt16(UInt16(exponent & 0xF) << 12) | UInt16(truncatingIfNeeded: mantissa) & 0x0FFF
        }
    }

    /// The 32-bit FLOAT bit pattern; see `sfloatBits`.
    public func floatBits(_ field: String = "float") throws(EncodeError) -> UInt32 {
        switch self {
        case .notANumber: return 0x007F_FFFF
        case .notResolved: return 0x0080_0000
        case .positiveInfinity: return 0x007F_FFFE
        case .negativeInfinity: return 0x0080_0002
        case .reserved: return 0x0080_0001
        case .number(let number):
            let (mantissa, exponent) = try Self.fit(number, bits: 24, exponents: -128...127, field)
            return UInt32(UInt8(bitPattern: Int8(exponent))) << 24 | UInt32(truncatingIfNeeded: mantissa) & 0x00FF_FFFF
        }
    }

    /// Mantissa limits: `bits` wide two's complement, and at exponent 0 the top three and bottom three patterns
    /// are the special values, so ±(2^(bits-1) - 3) is the limit there.
    private static func fits(_ mantissa: Int64, _ exponent: Int, bits: Int, exponents: ClosedRange<Int>) -> Bool {
        guard exponents.contains(exponent) else { return false }
        let top = Int64(1) << (bits - 1)
        return exponent == 0 ? mantissa.magnitude <= top - 3 : (-top...(top - 1)).contains(mantissa)
    }

    private static func fit(
        _ number: DecimalNumber,
        bits: Int,
        exponents: ClosedRange<Int>,
        _ field: String
    ) throws(EncodeError) -> (Int64, Int) {
        var mantissa = number.mantissa
        var exponent = number.exponent
        while !fits(mantissa, exponent, bits: bits, exponents: exponents) {
            if exponent > exponents.upperBound {
                // A large exponent can move into the mantissa as long as it still fits.
                let (scaled, overflow) = mantissa.multipliedReportingOverflow(by: 10)
                guard !overflow, scaled.magnitude < (UInt64(1) << (bits - 1)) else {
                    throw EncodeError(field: field, detail: "\(number) is out of range")
                }
                mantissa = scaled
                exponent -= 1
            } else if mantissa % 10 == 0, exponent < exponents.upperBound {
                mantissa /= 10
                exponent += 1
            } else {
                throw EncodeError(field: field, detail: "\(number) does not fit without rounding")
            }
        }
        return (mantissa, exponent)
    }
}

extension MDERFloat {
    /// A number from a mantissa and exponent, e.g. `.init(975, -1)` is 97.5.
    public init(_ mantissa: Int64, _ exponent: Int = 0) {
        self = .number(DecimalNumber(mantissa: mantissa, exponent: exponent))
    }

    /// The value as an `ObservedValue` slot: the number, or no number with the reason.
    public func observed(_ code: MDCCode, _ unit: UCUMUnit) -> ObservedValue {
        ObservedValue(code: code, number: number, unit: unit, absentReason: absentReason)
    }
}
