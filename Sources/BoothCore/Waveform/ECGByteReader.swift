/// Why waveform or heart-rate bytes could not be decoded: names the field and its byte offset.
///
/// Interim type: once the shared codec (`ByteReader`/`DecodeError`) is on main, the heart-rate and PMD decoders
/// move onto it and this file goes away.
public struct ECGDecodeError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: Sendable, Hashable {
        /// The field needs `needed` bytes but only `available` remain.
        case truncated(needed: Int, available: Int)
        /// Bytes remain after the last field the flags announce.
        case trailingBytes(count: Int)
        /// A value the specification reserves or that this decoder does not support.
        case reservedValue(UInt64)
        /// A length that is not a whole number of items.
        case badLength(declared: Int, actual: Int)
    }

    /// The field being decoded, e.g. `heartRate`, `rrInterval[2]`.
    public var field: String
    /// Byte offset of the field in the input.
    public var offset: Int
    public var reason: Reason

    public init(field: String, offset: Int, reason: Reason) {
        self.field = field
        self.offset = offset
        self.reason = reason
    }

    /// A short stable name of the reason, for logs and tests.
    public var reasonName: String {
        switch reason {
        case .truncated: "truncated"
        case .trailingBytes: "trailing-bytes"
        case .reservedValue: "reserved-value"
        case .badLength: "bad-length"
        }
    }

    public var description: String {
        let what =
            switch reason {
            case .truncated(let needed, let available): "truncated: needs \(needed) byte(s), \(available) left"
            case .trailingBytes(let count): "\(count) unexpected trailing byte(s)"
            case .reservedValue(let value): "reserved or unsupported value \(value) (0x\(String(value, radix: 16)))"
            case .badLength(let declared, let actual): "expected \(declared), got \(actual)"
            }
        return "\(field) at offset \(offset): \(what)"
    }
}

/// Bounds-checked little-endian reader used by the heart-rate and PMD decoders (interim, see `ECGDecodeError`).
struct ECGByteReader {
    let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    var remaining: Int { bytes.count - offset }

    func require(_ count: Int, _ field: String) throws(ECGDecodeError) {
        guard count <= remaining else {
            throw ECGDecodeError(field: field, offset: offset, reason: .truncated(needed: count, available: remaining))
        }
    }

    mutating func unsigned(_ count: Int, _ field: String) throws(ECGDecodeError) -> UInt64 {
        try require(count, field)
        var value: UInt64 = 0
        for index in 0..<count {
            value |= UInt64(bytes[offset + index]) << (8 * index)
        }
        offset += count
        return value
    }

    mutating func u8(_ field: String) throws(ECGDecodeError) -> UInt8 {
        UInt8(truncatingIfNeeded: try unsigned(1, field))
    }

    mutating func u16(_ field: String) throws(ECGDecodeError) -> UInt16 {
        UInt16(truncatingIfNeeded: try unsigned(2, field))
    }

    /// A two's-complement signed integer of `count` bytes (count ≤ 8), sign-extended.
    mutating func signed(_ count: Int, _ field: String) throws(ECGDecodeError) -> Int64 {
        let raw = try unsigned(count, field)
        let shift = UInt64(64 - 8 * count)
        return Int64(bitPattern: raw << shift) >> Int64(shift)
    }

    func finish(_ field: String = "end") throws(ECGDecodeError) {
        guard remaining == 0 else {
            throw ECGDecodeError(field: field, offset: offset, reason: .trailingBytes(count: remaining))
        }
    }
}
