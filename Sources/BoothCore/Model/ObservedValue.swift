/// One coded value inside a measurement.
public struct ObservedValue: Sendable, Hashable, Codable {
    /// IEEE 11073-10101 nomenclature code.
    public var code: MDCCode
    /// The number as the device sent it (mantissa and decimal exponent are kept), or nil when absent.
    public var number: DecimalNumber?
    /// UCUM unit of `number`, in the unit the device sent.
    public var unit: UCUMUnit
    /// Why there is no number (NaN, NRes, +INF, -INF, device marker for "no reading").
    public var absentReason: AbsentReason?

    public init(code: MDCCode, number: DecimalNumber?, unit: UCUMUnit, absentReason: AbsentReason? = nil) {
        self.code = code
        self.number = number
        self.unit = unit
        self.absentReason = absentReason
    }

    /// The LOINC code matching `code`, if one is defined.
    public var loinc: String? { code.loinc }
}

/// Why a value is absent. Raw values follow FHIR's `data-absent-reason` code system where one exists.
public enum AbsentReason: String, Sendable, Hashable, Codable {
    case notANumber = "not-a-number"
    case positiveInfinity = "positive-infinity"
    case negativeInfinity = "negative-infinity"
    /// IEEE 11073 NRes: the value is below the resolution of the sensor.
    case notResolved = "error"
    /// Reserved bit pattern, or a device's "invalid" marker (SpO2 127, pulse 255).
    case invalid = "unknown"
    /// The reserved IEEE 11073 special pattern (0x0801): a value exists but cannot be represented.
    case reserved = "reserved"

    /// The FHIR `data-absent-reason` code (the HL7 PHD IG maps NRes and the reserved pattern to `error`).
    public var fhirCode: String {
        switch self {
        case .reserved: "error"
        default: rawValue
        }
    }
}

/// A decimal number kept as `mantissa × 10^exponent`, so the precision the device sent survives
/// (FHIR `valueQuantity.value` must carry `2.0`, not `2`).
public struct DecimalNumber: Sendable, Hashable, Codable, CustomStringConvertible {
    public var mantissa: Int64
    public var exponent: Int

    public init(mantissa: Int64, exponent: Int) {
        self.mantissa = mantissa
        self.exponent = exponent
    }

    public init(_ integer: Int) {
        self.init(mantissa: Int64(integer), exponent: 0)
    }

    public var doubleValue: Double {
        var value = Double(mantissa)
        if exponent >= 0 {
            for _ in 0..<exponent { value *= 10 }
        } else {
            for _ in 0..<(-exponent) { value /= 10 }
        }
        return value
    }

    /// Decimal text with exactly as many fraction digits as the exponent says: 20e-1 → "2.0", 2e1 → "20".
    public var description: String {
        let negative = mantissa < 0
        let digits = String(mantissa.magnitude)
        var text: String
        if exponent >= 0 {
            text = mantissa == 0 ? "0" : digits + String(repeating: "0", count: exponent)
        } else {
            let fraction = -exponent
            let padded = String(repeating: "0", count: max(0, fraction + 1 - digits.count)) + digits
            let split = padded.index(padded.endIndex, offsetBy: -fraction)
            text = padded[..<split] + "." + padded[split...]
        }
        return (negative ? "-" : "") + text
    }
}
