/// The range of values a human body can show for one code, and the narrower range a booth expects to see.
///
/// Outside `possible` a value cannot be a correct measurement of a living patient (typo, wrong unit, sensor
/// fault): manual entry rejects it. Between `possible` and `plausible` it can be real but deserves a second
/// look: it is accepted with a warning flag. Decoded values are never dropped: they are flagged.
public struct PhysiologicalRange: Sendable, Hashable {
    public var code: MDCCode
    /// The unit the bounds are expressed in; values in other units are converted first.
    public var unit: UCUMUnit
    public var possible: ClosedRange<Double>
    public var plausible: ClosedRange<Double>
    /// Plain-language name used in messages, e.g. `systolic pressure`.
    public var name: String

    public init(
        code: MDCCode,
        unit: UCUMUnit,
        possible: ClosedRange<Double>,
        plausible: ClosedRange<Double>,
        name: String
    ) {
        self.code = code
        self.unit = unit
        self.possible = possible
        self.plausible = plausible
        self.name = name
    }
}

/// The verdict on one value.
public enum RangeVerdict: String, Sendable, Hashable, Codable {
    /// Inside the plausible range.
    case plausible
    /// Possible but unusual: accepted, flagged `implausibleValue`.
    case implausible
    /// Cannot be a correct reading: manual entry is rejected; a decoded value is flagged `impossibleValue`.
    case impossible
    /// No range is known for this code or unit (or there is no number): nothing is claimed.
    case unchecked
}

/// One value's check, with the text shown to the operator when it is not plausible.
public struct RangeFinding: Sendable, Hashable, Codable {
    public var code: MDCCode
    public var verdict: RangeVerdict
    /// The value in the range's unit (after conversion), nil when unchecked.
    public var checkedValue: Double?
    public var checkedUnit: UCUMUnit?
    /// Empty when plausible or unchecked, else e.g. `systolic pressure 320 mm[Hg] is impossible (20...300)`.
    public var message: String

    public init(code: MDCCode, verdict: RangeVerdict, checkedValue: Double?, checkedUnit: UCUMUnit?, message: String) {
        self.code = code
        self.verdict = verdict
        self.checkedValue = checkedValue
        self.checkedUnit = checkedUnit
        self.message = message
    }
}

/// The booth's table of physiological ranges (adult and child patients of a pharmacy or home visit).
public enum PhysiologicalRanges {
    /// Status flag added to a measurement holding an implausible value.
    public static let implausibleFlag = "implausibleValue"
    /// Status flag added to a decoded measurement holding an impossible value (kept, never dropped).
    public static let impossibleFlag = "impossibleValue"

    private static func range(
        _ code: MDCCode,
        _ unit: UCUMUnit,
        _ possible: ClosedRange<Double>,
        _ plausible: ClosedRange<Double>,
        _ name: String
    ) -> PhysiologicalRange {
        PhysiologicalRange(code: code, unit: unit, possible: possible, plausible: plausible, name: name)
    }

    /// Every range, one per code.
    public static let table: [PhysiologicalRange] = {
        let pulse: (ClosedRange<Double>, ClosedRange<Double>) = (20...300, 30...220)
        let glucoseCodes: [MDCCode] = [
            .glucoseCapillaryWholeBlood, .glucoseCapillaryPlasma, .glucoseVenousWholeBlood, .glucoseVenousPlasma,
            .glucoseArterialWholeBlood, .glucoseArterialPlasma, .glucoseInterstitialFluid,
        ]
        return [
            range(.systolic, .mmHg, 20...300, 70...250, "systolic pressure"),
            range(.diastolic, .mmHg, 10...200, 40...150, "diastolic pressure"),
            range(.meanArterial, .mmHg, 15...250, 50...200, "mean arterial pressure"),
            range(.cuffPressure, .mmHg, 0...320, 0...300, "cuff pressure"),
            range(.pulseRateNonInvasive, .perMinute, pulse.0, pulse.1, "pulse rate"),
            range(.pulseOximetryPulseRate, .perMinute, pulse.0, pulse.1, "pulse rate"),
            range(.heartRate, .perMinute, pulse.0, pulse.1, "heart rate"),
            range(.spo2, .percent, 30...100, 70...100, "oxygen saturation"),
            range(.perfusionIndex, .percent, 0...100, 0.02...20, "perfusion index"),
            range(.bodyTemperature, .celsius, 25...45, 34...42, "body temperature"),
            range(.bodyWeight, .kilogram, 0.5...400, 2...250, "body weight"),
            range(.bodyHeight, .metre, 0.3...2.6, 0.45...2.2, "body height"),
            range(.bodyMassIndex, .kgPerSquareMetre, 5...150, 12...60, "body mass index"),
        ] + glucoseCodes.map { range($0, .millimolePerLitre, 0.5...60, 2.2...33.3, "blood glucose") }
    }()

    private static let byCode: [UInt32: PhysiologicalRange] = Dictionary(
        table.map { ($0.code.value, $0) },
        uniquingKeysWith: { first, _ in first }
    )

    /// The range for `code`, if the booth knows one.
    public static func range(for code: MDCCode) -> PhysiologicalRange? { byCode[code.value] }

    /// Checks one value, converting its unit to the range's unit first.
    public static func check(_ value: ObservedValue) -> RangeFinding {
        guard let range = range(for: value.code), let number = value.number else {
            return RangeFinding(code: value.code, verdict: .unchecked, checkedValue: nil, checkedUnit: nil, message: "")
        }
        guard let converted = UnitConversion.convert(number.doubleValue, from: value.unit, to: range.unit) else {
            return RangeFinding(code: value.code, verdict: .unchecked, checkedValue: nil, checkedUnit: nil, message: "")
        }
        let shown = format(converted, unit: range.unit)
        if !range.possible.contains(converted) {
            return RangeFinding(
                code: value.code,
                verdict: .impossible,
                checkedValue: converted,
                checkedUnit: range.unit,
                message: "\(range.name) \(shown) is impossible (\(bounds(range.possible, range.unit)))"
            )
        }
        if !range.plausible.contains(converted) {
            return RangeFinding(
                code: value.code,
                verdict: .implausible,
                checkedValue: converted,
                checkedUnit: range.unit,
                message: "\(range.name) \(shown) is unusual (expected \(bounds(range.plausible, range.unit))): check it"
            )
        }
        return RangeFinding(
            code: value.code,
            verdict: .plausible,
            checkedValue: converted,
            checkedUnit: range.unit,
            message: ""
        )
    }

    /// Checks every value of a measurement.
    public static func check(_ measurement: Measurement) -> [RangeFinding] {
        measurement.values.map(check)
    }

    /// A decoded measurement with its range flags added to `status` (values untouched, nothing dropped).
    public static func flagged(_ measurement: Measurement) -> Measurement {
        var result = measurement
        let verdicts = check(measurement).map(\.verdict)
        for (verdict, flag) in [(RangeVerdict.impossible, impossibleFlag), (.implausible, implausibleFlag)]
        where verdicts.contains(verdict) && !result.status.contains(flag) {
            result.status.append(flag)
        }
        return result
    }

    static func format(_ value: Double, unit: UCUMUnit) -> String {
        let digits = max(UnitConversion.fractionDigits(for: unit), value.rounded() == value ? 0 : 1)
        let text = DecimalNumber(rounding: value, fractionDigits: digits)?.description ?? "\(value)"
        return "\(text) \(unit.code)"
    }

    private static func bounds(_ range: ClosedRange<Double>, _ unit: UCUMUnit) -> String {
        func text(_ value: Double) -> String {
            let digits = value.rounded() == value ? 0 : (value * 10).rounded() == value * 10 ? 1 : 2
            return DecimalNumber(rounding: value, fractionDigits: digits)?.description ?? "\(value)"
        }
        return "\(text(range.lowerBound))...\(text(range.upperBound)) \(unit.code)"
    }
}
