extension DecodedReading {
    /// The stable JSON of `boothctl decode --json` (documented in docs/decode.md):
    /// `{kind, profile, values[{code, name, loinc, value, unit, absentReason}], status, timestamp, clockUnset,
    /// fields{...}}`. Numbers are plain JSON numbers in the unit the device sent, with its precision.
    public func json(kind requestedKind: String) -> JSONText {
        let values: [JSONText] = values.map { value in
            .object([
                ("code", .string(String(value.code.value))), ("name", .string(value.code.referenceID)),
                ("loinc", value.loinc.map { .string($0) } ?? .null),
                ("value", value.number.map { .decimal($0) } ?? .null), ("unit", .string(value.unit.code)),
                ("absentReason", value.absentReason.map { .string($0.fhirCode) } ?? .null),
            ])
        }
        let fieldMembers: [(String, JSONText)] = fields.map { field in
            let json: JSONText =
                switch field.value {
                case .integer(let value): .integer(value)
                case .decimal(let value): .decimal(value)
                case .text(let value): .string(value)
                case .flag(let value): .bool(value)
                case .list(let values): .array(values.map { .string($0) })
                case .bytes(let bytes): .string(Hex.string(bytes))
                }
            return (field.name, json)
        }
        return .object([
            ("kind", .string(requestedKind)), ("profile", .string(profile)),
            ("measurementKind", kind.map { .string($0.rawValue) } ?? .null), ("values", .array(values)),
            ("status", .array(status.map { .string($0) })),
            ("timestamp", deviceTime.map { .string($0.description) } ?? .null), ("clockUnset", .bool(clockUnset)),
            ("fields", .object(fieldMembers)),
        ])
    }
}
