/// Converts values between the units operators type and devices send, into the unit the range table checks.
///
/// Conversions work on `Double` and round to a stated number of fraction digits, so the result is a
/// `DecimalNumber` that carries no more precision than the source had (98.6 °F → 37.0 °C, not 37.000000001).
public enum UnitConversion {
    /// Millimetres of mercury in one kilopascal (1 mmHg = 133.322 Pa).
    public static let mmHgPerKPa = 7.500_62
    /// Kilograms in one avoirdupois pound (exact by definition).
    public static let kgPerPound = 0.453_592_37
    /// mg/dL of glucose in 1 mmol/L (molar mass of glucose 180.16 g/mol).
    public static let glucoseMgPerDLPerMmolPerL = 18.016

    /// Grams per litre (glucose as French meters and labs often show it).
    public static let gramPerLitre = UCUMUnit("g/L")

    /// The unit `unit` converts to for range checks and manual entry, or nil when it is already canonical
    /// or has no known conversion.
    public static func canonicalUnit(for unit: UCUMUnit) -> UCUMUnit? {
        switch unit.code {
        case UCUMUnit.fahrenheit.code: .celsius
        case UCUMUnit.kPa.code: .mmHg
        case UCUMUnit.pound.code: .kilogram
        case UCUMUnit.milligramPerDecilitre.code, UCUMUnit.kgPerLitre.code, UCUMUnit.molPerLitre.code,
            gramPerLitre.code:
            .millimolePerLitre
        case UCUMUnit.inch.code: .metre
        default: nil
        }
    }

    /// `value` expressed in `to`, or nil when boothd knows no conversion between the two units.
    /// Glucose conversions between mass and molar concentration assume glucose (they are wrong for anything else).
    public static func convert(_ value: Double, from: UCUMUnit, to: UCUMUnit) -> Double? {
        if from == to { return value }
        switch (from.code, to.code) {
        case (UCUMUnit.fahrenheit.code, UCUMUnit.celsius.code): return (value - 32) * 5 / 9
        case (UCUMUnit.celsius.code, UCUMUnit.fahrenheit.code): return value * 9 / 5 + 32
        case (UCUMUnit.kPa.code, UCUMUnit.mmHg.code): return value * mmHgPerKPa
        case (UCUMUnit.mmHg.code, UCUMUnit.kPa.code): return value / mmHgPerKPa
        case (UCUMUnit.pound.code, UCUMUnit.kilogram.code): return value * kgPerPound
        case (UCUMUnit.kilogram.code, UCUMUnit.pound.code): return value / kgPerPound
        case (UCUMUnit.inch.code, UCUMUnit.metre.code): return value * 0.0254
        case (UCUMUnit.milligramPerDecilitre.code, UCUMUnit.millimolePerLitre.code):
            return value / glucoseMgPerDLPerMmolPerL
        case (UCUMUnit.millimolePerLitre.code, UCUMUnit.milligramPerDecilitre.code):
            return value * glucoseMgPerDLPerMmolPerL
        // French labs and meters often show glucose in g/L (1 g/L = 100 mg/dL).
        case (gramPerLitre.code, UCUMUnit.millimolePerLitre.code): return value * 100 / glucoseMgPerDLPerMmolPerL
        // Bluetooth Glucose sends kg/L (1 kg/L = 100 000 mg/dL) or mol/L.
        case (UCUMUnit.kgPerLitre.code, UCUMUnit.millimolePerLitre.code):
            return value * 100_000 / glucoseMgPerDLPerMmolPerL
        case (UCUMUnit.molPerLitre.code, UCUMUnit.millimolePerLitre.code): return value * 1000
        default: return nil
        }
    }

    /// Fraction digits a converted value keeps in `unit`: the resolution devices report in that unit.
    public static func fractionDigits(for unit: UCUMUnit) -> Int {
        switch unit.code {
        case UCUMUnit.celsius.code, UCUMUnit.fahrenheit.code, UCUMUnit.millimolePerLitre.code, UCUMUnit.kPa.code,
            UCUMUnit.kilogram.code, UCUMUnit.pound.code:
            1
        case UCUMUnit.metre.code: 2
        default: 0
        }
    }
}

extension DecimalNumber {
    /// `value` rounded half away from zero to `fractionDigits` digits: `DecimalNumber(rounding: 36.99, fractionDigits: 1)`
    /// is 370e-1 ("37.0"). Nil when the value is not finite or does not fit.
    public init?(rounding value: Double, fractionDigits: Int) {
        guard value.isFinite, (0...9).contains(fractionDigits) else { return nil }
        var scaled = value
        for _ in 0..<fractionDigits { scaled *= 10 }
        let rounded = scaled.rounded(.toNearestOrAwayFromZero)
        guard abs(rounded) < 9.0e15 else { return nil }
        self.init(mantissa: Int64(rounded), exponent: -fractionDigits)
    }
}
