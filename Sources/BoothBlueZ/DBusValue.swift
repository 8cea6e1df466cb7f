/// A D-Bus value as BlueZ uses them, independent of GLib so that property parsing is testable without a bus.
///
/// Dictionaries keyed by strings (`a{sv}`) and by 16-bit integers (`a{qv}`, manufacturer data) have their own
/// cases because BlueZ's property maps are made of them; variants are unwrapped when parsed.
public indirect enum DBusValue: Sendable, Equatable {
    case boolean(Bool)
    case byte(UInt8)
    case int16(Int16)
    case uint16(UInt16)
    case int32(Int32)
    case uint32(UInt32)
    case int64(Int64)
    case uint64(UInt64)
    case double(Double)
    case string(String)
    case objectPath(String)
    /// `ay`
    case bytes([UInt8])
    /// An array of anything but bytes; `elementSignature` types it when empty.
    case array(elementSignature: String, [DBusValue])
    /// `a{sv}`, in key order as received (BlueZ never repeats a key).
    case dictionary([String: DBusValue])
    /// `a{qv}`
    case uint16Dictionary([UInt16: DBusValue])
    case variant(DBusValue)
    case tuple([DBusValue])
    /// A value of a type BlueZ's API does not use; kept as its signature so parsing can say what it saw.
    case unsupported(signature: String)

    /// The D-Bus type signature of the value.
    public var signature: String {
        switch self {
        case .boolean: "b"
        case .byte: "y"
        case .int16: "n"
        case .uint16: "q"
        case .int32: "i"
        case .uint32: "u"
        case .int64: "x"
        case .uint64: "t"
        case .double: "d"
        case .string: "s"
        case .objectPath: "o"
        case .bytes: "ay"
        case .array(let element, _): "a" + element
        case .dictionary: "a{sv}"
        case .uint16Dictionary: "a{qv}"
        case .variant: "v"
        case .tuple(let members): "(" + members.map(\.signature).joined() + ")"
        case .unsupported(let signature): signature
        }
    }

    public var string: String? {
        switch self {
        case .string(let value), .objectPath(let value): value
        case .variant(let inner): inner.string
        default: nil
        }
    }

    public var bool: Bool? {
        switch self {
        case .boolean(let value): value
        case .variant(let inner): inner.bool
        default: nil
        }
    }

    /// Any integer type that fits in an Int.
    public var integer: Int? {
        switch self {
        case .byte(let value): Int(value)
        case .int16(let value): Int(value)
        case .uint16(let value): Int(value)
        case .int32(let value): Int(value)
        case .uint32(let value): Int(value)
        case .int64(let value): Int(value)
        case .uint64(let value): Int(exactly: value)
        case .variant(let inner): inner.integer
        default: nil
        }
    }

    /// `ay`, or an array of bytes that arrived element by element.
    public var bytes: [UInt8]? {
        switch self {
        case .bytes(let value): value
        case .array("y", let elements):
            elements.compactMap { element -> UInt8? in
                if case .byte(let byte) = element { return byte }
                return nil
            }
        case .variant(let inner): inner.bytes
        default: nil
        }
    }

    /// `as` or `ao` as Swift strings.
    public var strings: [String]? {
        switch self {
        case .array(let element, let elements) where element == "s" || element == "o":
            elements.compactMap(\.string)
        case .variant(let inner): inner.strings
        default: nil
        }
    }

    public var dictionary: [String: DBusValue]? {
        switch self {
        case .dictionary(let value): value
        case .variant(let inner): inner.dictionary
        default: nil
        }
    }

    public var tupleMembers: [DBusValue]? {
        if case .tuple(let members) = self { return members }
        return nil
    }

    /// Builds an `as`.
    public static func stringArray(_ values: [String]) -> DBusValue {
        .array(elementSignature: "s", values.map(DBusValue.string))
    }
}
