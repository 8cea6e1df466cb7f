/// FHIR R4 Observation carrying waveforms as `SampledData`, one component per lead (the shape of HL7's
/// "ekg" example): code MDC_ECG_ELEC_POTL, each component coded with the lead's MDC_ECG_ELEC_POTL_x.
public struct FHIRWaveformObservation: Sendable, Hashable, Encodable {
    public struct Coding: Sendable, Hashable, Encodable {
        public var system: String
        public var code: String
        public var display: String?
    }

    public struct CodeableConcept: Sendable, Hashable, Encodable {
        public var coding: [Coding]
        public var text: String?
    }

    public struct Quantity: Sendable, Hashable, Encodable {
        public var value: Double
        public var unit: String
        public var system: String
        public var code: String
    }

    public struct SampledData: Sendable, Hashable, Encodable {
        public var origin: Quantity
        /// Milliseconds between samples.
        public var period: Double
        public var factor: Double
        public var dimensions: Int
        /// Space-separated raw values; `E` marks a sample period with no value (a gap).
        public var data: String
    }

    public struct Component: Sendable, Hashable, Encodable {
        public var code: CodeableConcept
        public var valueSampledData: SampledData
    }

    public struct Reference: Sendable, Hashable, Encodable {
        public var display: String
    }

    public var resourceType = "Observation"
    public var id: String
    public var status: String
    public var category: [CodeableConcept]
    public var code: CodeableConcept
    public var effectiveDateTime: String
    public var device: Reference
    public var component: [Component]

    static let mdcSystem = "urn:iso:std:iso:11073:10101"

    /// The observation for `recording`; `effectiveDateTime` is the ISO 8601 UTC start time.
    /// An incomplete recording is `preliminary`, a complete one `final`.
    public init(id: String, recording: ECGRecording, effectiveDateTime: String) {
        self.id = id
        self.status = recording.incomplete ? "preliminary" : "final"
        self.category = [
            CodeableConcept(
                coding: [
                    Coding(
                        system: "http://terminology.hl7.org/CodeSystem/observation-category",
                        code: "procedure",
                        display: "Procedure"
                    )
                ],
                text: nil
            )
        ]
        self.code = CodeableConcept(
            coding: [
                Coding(system: Self.mdcSystem, code: String(MDCCode.ecgPotential.value), display: "MDC_ECG_ELEC_POTL")
            ],
            text: "ECG"
        )
        self.effectiveDateTime = effectiveDateTime
        self.device = Reference(
            display: [recording.device.manufacturer, recording.device.model, recording.device.id]
                .compactMap { $0 }.joined(separator: " ")
        )
        self.component = recording.leads.map { lead in
            Component(
                code: CodeableConcept(
                    coding: [
                        Coding(system: Self.mdcSystem, code: String(lead.code.value), display: lead.code.referenceID)
                    ],
                    text: lead.label
                ),
                valueSampledData: SampledData(
                    origin: Quantity(
                        value: lead.origin,
                        unit: lead.unit.code,
                        system: "http://unitsofmeasure.org",
                        code: lead.unit.code
                    ),
                    period: 1000 / lead.sampleRateHz,
                    factor: lead.scale,
                    dimensions: 1,
                    data: Self.dataString(lead)
                )
            )
        }
    }

    /// Raw values separated by spaces, `E` inside gaps.
    static func dataString(_ lead: Waveform) -> String {
        var text = ""
        text.reserveCapacity(lead.timelineCount * 5)
        for (index, value) in lead.timeline().enumerated() {
            if index > 0 { text.append(" ") }
            if let value { text.append(String(value)) } else { text.append("E") }
        }
        return text
    }
}
