/// A value typed by the pharmacist or nurse when a device fails (degraded mode).
///
/// The operator is identified only by an opaque reference the app gives (never a name): it is kept in the
/// measurement's provenance for the audit trail. Units are converted to the unit boothd checks ranges in
/// (°F → °C, kPa → mmHg, lb → kg, mg/dL or g/L → mmol/L); impossible values are rejected, implausible ones are
/// accepted with the `implausibleValue` flag.
public struct ManualEntry: Sendable, Hashable, Codable {
    public struct Value: Sendable, Hashable, Codable {
        public var code: MDCCode
        /// The number as typed: `37.2` or `37,2`.
        public var text: String
        public var unit: UCUMUnit

        public init(code: MDCCode, text: String, unit: UCUMUnit) {
            self.code = code
            self.text = text
            self.unit = unit
        }
    }

    public var kind: MeasurementKind
    public var values: [Value]
    /// The app's opaque reference for the operator (1 to 128 characters).
    public var operatorRef: String
    /// Why the value was typed (for example `thermometer battery flat`), shown in the audit trail.
    public var reason: String?

    public init(kind: MeasurementKind, values: [Value], operatorRef: String, reason: String? = nil) {
        self.kind = kind
        self.values = values
        self.operatorRef = operatorRef
        self.reason = reason
    }

    /// Codes an entry of `kind` may carry; the first ones listed are required.
    public static func codes(for kind: MeasurementKind) -> (required: [MDCCode], optional: [MDCCode]) {
        switch kind {
        case .bloodPressure: ([.systolic, .diastolic], [.meanArterial, .pulseRateNonInvasive])
        case .oxygenSaturation: ([.spo2], [.pulseOximetryPulseRate, .perfusionIndex])
        case .bodyTemperature: ([.bodyTemperature], [])
        case .glucose:
            (
                [],
                [
                    .glucoseCapillaryPlasma, .glucoseCapillaryWholeBlood, .glucoseVenousPlasma,
                    .glucoseVenousWholeBlood, .glucoseArterialPlasma, .glucoseArterialWholeBlood,
                    .glucoseInterstitialFluid,
                ]
            )
        case .bodyWeight: ([.bodyWeight], [.bodyHeight, .bodyMassIndex])
        case .heartRate: ([.heartRate], [])
        case .cuffPressure: ([], [])
        }
    }

    /// Status flag every manual measurement carries.
    public static let manualFlag = "manualEntry"

    /// Validates the entry and builds the measurement (method `.manual`, transport `manual`).
    ///
    /// - Parameters:
    ///   - id: the measurement id (the API generates it; retries reuse it so the outbox stores it once).
    ///   - enteredAtMicros: when the operator entered it; used as the receive time for session binding.
    public func measurement(id: String, enteredAtMicros: Int64) throws(ManualEntryError) -> Measurement {
        guard !operatorRef.isEmpty, operatorRef.count <= 128 else {
            throw ManualEntryError(field: "operatorRef", reason: "must be 1 to 128 characters")
        }
        let allowed = Self.codes(for: kind)
        let allowedCodes = allowed.required + allowed.optional
        guard !allowedCodes.isEmpty else {
            throw ManualEntryError(field: "kind", reason: "\(kind.rawValue) cannot be entered by hand")
        }
        guard !values.isEmpty else { throw ManualEntryError(field: "values", reason: "no value given") }
        var observed: [ObservedValue] = []
        var findings: [RangeFinding] = []
        for value in values {
            let field = value.code.referenceID
            guard allowedCodes.contains(where: { $0.value == value.code.value }) else {
                throw ManualEntryError(field: field, reason: "is not a value of \(kind.rawValue)")
            }
            guard !observed.contains(where: { $0.code.value == value.code.value }) else {
                throw ManualEntryError(field: field, reason: "given twice")
            }
            guard let typed = Self.parseNumber(value.text) else {
                throw ManualEntryError(
                    field: field,
                    reason: "\"\(value.text)\" is not a number (write for example 37.2 or 37,2)"
                )
            }
            guard let range = PhysiologicalRanges.range(for: value.code) else {
                throw ManualEntryError(field: field, reason: "no range is known for this code")
            }
            var number = typed
            var unit = value.unit
            if unit != range.unit {
                guard let converted = UnitConversion.convert(typed.doubleValue, from: unit, to: range.unit),
                    let rounded = DecimalNumber(
                        rounding: converted,
                        fractionDigits: UnitConversion.fractionDigits(for: range.unit)
                    )
                else {
                    throw ManualEntryError(
                        field: field,
                        reason: "unit \(unit.code) is not accepted for \(range.name) (use \(range.unit.code))"
                    )
                }
                number = rounded
                unit = range.unit
            }
            let value = ObservedValue(code: value.code, number: number, unit: unit)
            let finding = PhysiologicalRanges.check(value)
            if finding.verdict == .impossible {
                throw ManualEntryError(field: field, reason: finding.message, impossibleValue: true)
            }
            if finding.verdict == .implausible { findings.append(finding) }
            observed.append(value)
        }
        for code in allowed.required where !observed.contains(where: { $0.code.value == code.value }) {
            throw ManualEntryError(field: code.referenceID, reason: "is required for \(kind.rawValue)")
        }
        var status = [Self.manualFlag]
        if !findings.isEmpty { status.append(PhysiologicalRanges.implausibleFlag) }
        return Measurement(
            id: id,
            kind: kind,
            values: observed,
            status: status,
            device: DeviceIdentity(id: "manual", transport: "manual"),
            receivedAtMicros: enteredAtMicros,
            origin: .live,
            method: .manual,
            provenance: MeasurementProvenance(
                bindingTimeMicros: enteredAtMicros,
                operatorRef: operatorRef,
                rangeFindings: findings.isEmpty ? nil : findings
            )
        )
    }

    /// `37.2`, `37,2`, `-1.5`, `120` → a decimal keeping the typed precision; nil for anything else.
    public static func parseNumber(_ text: String) -> DecimalNumber? {
        let trimmed = text.trimmingSpaces
        var scalars = Substring(trimmed)
        var negative = false
        if scalars.first == "-" || scalars.first == "+" {
            negative = scalars.first == "-"
            scalars = scalars.dropFirst()
        }
        let parts = scalars.split(separator: ".", omittingEmptySubsequences: false).flatMap {
            $0.split(separator: ",", omittingEmptySubsequences: false)
        }
        guard (1...2).contains(parts.count), let whole = parts.first, !whole.isEmpty,
            whole.allSatisfy({ $0.isASCII && $0.isNumber })
        else { return nil }
        let fraction = parts.count == 2 ? parts[1] : ""
        guard parts.count == 1 || !fraction.isEmpty, fraction.allSatisfy({ $0.isASCII && $0.isNumber }),
            whole.count + fraction.count <= 15
        else { return nil }
        guard let mantissa = Int64(whole + fraction) else { return nil }
        return DecimalNumber(mantissa: negative ? -mantissa : mantissa, exponent: -fraction.count)
    }
}

/// Why a manual entry was refused, naming the field.
public struct ManualEntryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `operatorRef`, `kind`, `values` or the MDC reference id of the value, e.g. `MDC_TEMP_BODY`.
    public var field: String
    public var reason: String
    /// True when the value was refused for being outside the possible range (the reason names the range);
    /// false for a malformed entry (unknown code, unit, missing value...).
    public var impossibleValue: Bool

    public init(field: String, reason: String, impossibleValue: Bool = false) {
        self.field = field
        self.reason = reason
        self.impossibleValue = impossibleValue
    }

    public var description: String { "\(field): \(reason)" }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var view = Substring(self)
        while let first = view.first, first == " " || first == "\t" { view = view.dropFirst() }
        while let last = view.last, last == " " || last == "\t" { view = view.dropLast() }
        return String(view)
    }
}
