/// FHIR R4 Observation JSON for a `Measurement`, following the HL7 Personal Health Device IG: category
/// vital-signs, MDC and LOINC codings, UCUM `valueQuantity` with the device's precision, `dataAbsentReason`
/// for special values, blood pressure as one Observation with systolic/diastolic/mean components.
public enum FHIRObservation {
    public static let mdcSystem = "urn:iso:std:iso:11073:10101"
    public static let loincSystem = "http://loinc.org"
    public static let ucumSystem = "http://unitsofmeasure.org"
    public static let categorySystem = "http://terminology.hl7.org/CodeSystem/observation-category"
    public static let absentReasonSystem = "http://terminology.hl7.org/CodeSystem/data-absent-reason"

    /// The Observations for one measurement, as JSON text: blood pressure gives one Observation with components
    /// (plus one for the pulse rate if present); every other value is its own Observation.
    ///
    /// `effectiveDateTime` is the device time when its clock is set and `deviceTimeZone` (e.g. `+01:00`, `Z`)
    /// is known — FHIR requires a zone on a time — otherwise the receive time in UTC. `issued` is the receive time.
    public static func json(
        _ measurement: Measurement,
        deviceReference: String? = nil,
        subjectReference: String? = nil,
        deviceTimeZone: String? = nil,
        pretty: Bool = false
    ) -> [String] {
        observations(
            measurement,
            deviceReference: deviceReference,
            subjectReference: subjectReference,
            deviceTimeZone: deviceTimeZone
        ).map { $0.rendered(pretty: pretty) }
    }

    /// The same Observations as JSON trees.
    public static func observations(
        _ measurement: Measurement,
        deviceReference: String? = nil,
        subjectReference: String? = nil,
        deviceTimeZone: String? = nil
    ) -> [JSONText] {
        let bloodPressureParts: [MDCCode] = [.systolic, .diastolic, .meanArterial]
        var results: [JSONText] = []
        var rest = measurement.values
        if measurement.kind == .bloodPressure {
            let parts = measurement.values.filter { bloodPressureParts.contains($0.code) }
            rest = measurement.values.filter { !bloodPressureParts.contains($0.code) }
            if !parts.isEmpty {
                let components: [JSONText] = parts.map { value in
                    .object([("code", codeable(value.code))] + valueMembers(value))
                }
                results.append(
                    observation(
                        measurement,
                        index: 0,
                        code: .pressureBloodNonInvasive,
                        body: [("component", .array(components))],
                        deviceReference: deviceReference,
                        subjectReference: subjectReference,
                        deviceTimeZone: deviceTimeZone
                    )
                )
            }
        }
        for value in rest {
            results.append(
                observation(
                    measurement,
                    index: results.count,
                    code: value.code,
                    body: valueMembers(value),
                    deviceReference: deviceReference,
                    subjectReference: subjectReference,
                    deviceTimeZone: deviceTimeZone
                )
            )
        }
        return results
    }

    private static func observation(
        _ measurement: Measurement,
        index: Int,
        code: MDCCode,
        body: [(String, JSONText)],
        deviceReference: String?,
        subjectReference: String?,
        deviceTimeZone: String?
    ) -> JSONText {
        var members: [(String, JSONText)] = [
            ("resourceType", .string("Observation")),
            ("identifier", .array([.object([("value", .string("\(measurement.id)-\(index)"))])])),
            ("status", .string("final")),
            (
                "category",
                .array([
                    .object([
                        (
                            "coding",
                            .array([
                                .object([
                                    ("system", .string(categorySystem)), ("code", .string("vital-signs")),
                                    ("display", .string("Vital Signs")),
                                ])
                            ])
                        )
                    ])
                ])
            ),
            ("code", codeable(code)),
        ]
        if let subjectReference { members.append(("subject", .object([("reference", .string(subjectReference))]))) }
        let received = iso8601UTC(micros: measurement.receivedAtMicros)
        if let time = measurement.deviceTime, !time.isClockUnset, let deviceTimeZone {
            members.append(("effectiveDateTime", .string(time.description + deviceTimeZone)))
        } else {
            members.append(("effectiveDateTime", .string(received)))
        }
        members.append(("issued", .string(received)))
        members += body
        if let deviceReference { members.append(("device", .object([("reference", .string(deviceReference))]))) }
        return .object(members)
    }

    /// `code` with the MDC coding, then the LOINC coding when one is defined.
    static func codeable(_ code: MDCCode) -> JSONText {
        var codings: [JSONText] = [
            .object([
                ("system", .string(mdcSystem)), ("code", .string(String(code.value))),
                ("display", .string(code.referenceID)),
            ])
        ]
        if let loinc = code.loinc {
            codings.append(.object([("system", .string(loincSystem)), ("code", .string(loinc))]))
        }
        return .object([("coding", .array(codings))])
    }

    /// `valueQuantity`, or `dataAbsentReason` when there is no number.
    static func valueMembers(_ value: ObservedValue) -> [(String, JSONText)] {
        if let number = value.number {
            return [
                (
                    "valueQuantity",
                    .object([
                        ("value", .decimal(number)), ("unit", .string(value.unit.code)),
                        ("system", .string(ucumSystem)), ("code", .string(value.unit.code)),
                    ])
                )
            ]
        }
        let reason = value.absentReason ?? .invalid
        return [
            (
                "dataAbsentReason",
                .object([
                    (
                        "coding",
                        .array([.object([("system", .string(absentReasonSystem)), ("code", .string(reason.fhirCode))])])
                    )
                ])
            )
        ]
    }
}
