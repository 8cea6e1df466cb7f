/// A minimal JSON tree written as text by hand, because numbers must keep the precision the device sent
/// (`2.0` stays `2.0`; JSONEncoder would print `2`). Object keys keep insertion order.
public indirect enum JSONText: Sendable, Hashable {
    case object([Member])
    case array([JSONText])
    case string(String)
    /// A number already in JSON syntax (e.g. `DecimalNumber.description`).
    case number(String)
    case bool(Bool)
    case null

    /// One key/value pair of an object.
    public struct Member: Sendable, Hashable {
        public var key: String
        public var value: JSONText

        public init(_ key: String, _ value: JSONText) {
            self.key = key
            self.value = value
        }
    }

    public static func decimal(_ value: DecimalNumber) -> JSONText { .number(value.description) }

    public static func integer(_ value: some BinaryInteger) -> JSONText { .number(String(value)) }

    /// An object from ordered pairs.
    public static func object(_ pairs: [(String, JSONText)]) -> JSONText { .object(pairs.map { Member($0.0, $0.1) }) }

    /// Compact text, or indented by two spaces per level when `pretty`.
    public func rendered(pretty: Bool = false) -> String {
        var out = ""
        write(into: &out, pretty: pretty, indent: 0)
        return out
    }

    private func write(into out: inout String, pretty: Bool, indent: Int) {
        let newline = pretty ? "\n" : ""
        let pad = pretty ? String(repeating: "  ", count: indent + 1) : ""
        let closePad = pretty ? String(repeating: "  ", count: indent) : ""
        switch self {
        case .object(let members):
            guard !members.isEmpty else {
                out += "{}"
                return
            }
            out += "{" + newline
            for (index, member) in members.enumerated() {
                out += pad
                Self.writeString(member.key, into: &out)
                out += pretty ? ": " : ":"
                member.value.write(into: &out, pretty: pretty, indent: indent + 1)
                out += (index < members.count - 1 ? "," : "") + newline
            }
            out += closePad + "}"
        case .array(let elements):
            guard !elements.isEmpty else {
                out += "[]"
                return
            }
            out += "[" + newline
            for (index, value) in elements.enumerated() {
                out += pad
                value.write(into: &out, pretty: pretty, indent: indent + 1)
                out += (index < elements.count - 1 ? "," : "") + newline
            }
            out += closePad + "]"
        case .string(let text): Self.writeString(text, into: &out)
        case .number(let text): out += text
        case .bool(let value): out += value ? "true" : "false"
        case .null: out += "null"
        }
    }

    private static func writeString(_ text: String, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

/// UTC time text from microseconds since the Unix epoch, e.g. `2026-11-25T21:40:03.250Z`.
/// Clamped to 1970...9999 so a bogus clock cannot overflow the arithmetic.
public func iso8601UTC(micros: Int64) -> String {
    let micros = min(max(micros, 0), 253_402_300_799_999_999)
    let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
    let fraction = Int(micros - seconds * 1_000_000)
    let days = Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
    let time = DeviceTimestamp(daysSinceEpoch: days, secondsOfDay: Int(seconds - Int64(days) * 86_400))
    let millis = String(fraction / 1000)
    return time.description + "." + String(repeating: "0", count: 3 - millis.count) + millis + "Z"
}
