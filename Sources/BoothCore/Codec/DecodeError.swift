/// Why bytes could not be decoded: one typed error for every decoder, naming the field and the byte offset.
///
/// Decoders never trap on bad input; every failure ends up here so the service layer can log one clear line
/// and keep the raw bytes.
public struct DecodeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public enum Reason: Sendable, Hashable {
        /// The field needs `needed` bytes but only `available` remain.
        case truncated(needed: Int, available: Int)
        /// Bytes remain after the last field the flags announce.
        case trailingBytes(count: Int)
        /// A value outside the range the specification allows (reserved code, month 13 ...).
        case reservedValue(UInt64)
        /// A checksum or CRC does not match.
        case badChecksum(expected: UInt64, actual: UInt64)
        /// A frame marker (sync bit, header, trailer, complement byte) is not what the format requires.
        case badMarker(UInt64)
        /// A length field disagrees with the bytes present.
        case badLength(declared: Int, actual: Int)
        /// Text that is not valid UTF-8.
        case invalidText
    }

    /// The field being decoded, e.g. `systolic`, `timestamp.month`, `crc8`.
    public var field: String
    /// Byte offset of the field in the input.
    public var offset: Int
    public var reason: Reason

    public init(field: String, offset: Int, reason: Reason) {
        self.field = field
        self.offset = offset
        self.reason = reason
    }

    /// A short stable name of the reason (`truncated`, `trailing-bytes`, ...), for logs and tests.
    public var reasonName: String {
        switch reason {
        case .truncated: "truncated"
        case .trailingBytes: "trailing-bytes"
        case .reservedValue: "reserved-value"
        case .badChecksum: "bad-checksum"
        case .badMarker: "bad-marker"
        case .badLength: "bad-length"
        case .invalidText: "invalid-text"
        }
    }

    public var description: String {
        let what =
            switch reason {
            case .truncated(let needed, let available):
                "truncated: needs \(needed) byte(s), \(available) left"
            case .trailingBytes(let count): "\(count) unexpected trailing byte(s)"
            case .reservedValue(let value): "reserved or out-of-range value \(value) (0x\(String(value, radix: 16)))"
            case .badChecksum(let expected, let actual):
                "bad checksum: computed 0x\(String(expected, radix: 16)), frame says 0x\(String(actual, radix: 16))"
            case .badMarker(let value): "unexpected marker 0x\(String(value, radix: 16))"
            case .badLength(let declared, let actual): "length field says \(declared), frame has \(actual)"
            case .invalidText: "not valid UTF-8 text"
            }
        return "\(field) at offset \(offset): \(what)"
    }
}

/// Why a value could not be encoded losslessly.
public struct EncodeError: Error, Sendable, Hashable, CustomStringConvertible {
    public var field: String
    public var detail: String

    public init(field: String, detail: String) {
        self.field = field
        self.detail = detail
    }

    public var description: String { "cannot encode \(field): \(detail)" }
}
