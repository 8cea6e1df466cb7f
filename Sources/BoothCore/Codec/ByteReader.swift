/// A bounds-checked little-endian reader over a byte array. Every read names its field so a short or
/// malformed payload becomes a `DecodeError` that says what was missing and where.
public struct ByteReader: Sendable {
    public let bytes: [UInt8]
    /// Offset of the next byte to read.
    public private(set) var offset: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    /// Bytes not yet read.
    public var remaining: Int { bytes.count - offset }

    /// Throws `truncated` unless `count` more bytes are available.
    public func require(_ count: Int, _ field: String) throws(DecodeError) {
        guard count <= remaining else {
            throw DecodeError(field: field, offset: offset, reason: .truncated(needed: count, available: remaining))
        }
    }

    public mutating func u8(_ field: String) throws(DecodeError) -> UInt8 {
        try require(1, field)
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func u16(_ field: String) throws(DecodeError) -> UInt16 {
        UInt16(truncatingIfNeeded: try unsigned(2, field))
    }

    public mutating func s16(_ field: String) throws(DecodeError) -> Int16 {
        Int16(bitPattern: try u16(field))
    }

    public mutating func u24(_ field: String) throws(DecodeError) -> UInt32 {
        UInt32(truncatingIfNeeded: try unsigned(3, field))
    }

    public mutating func u32(_ field: String) throws(DecodeError) -> UInt32 {
        UInt32(truncatingIfNeeded: try unsigned(4, field))
    }

    /// `count` bytes, little-endian, as an unsigned integer (count <= 8).
    public mutating func unsigned(_ count: Int, _ field: String) throws(DecodeError) -> UInt64 {
        try require(count, field)
        var value: UInt64 = 0
        for index in 0..<count {
            value |= UInt64(bytes[offset + index]) << (8 * index)
        }
        offset += count
        return value
    }

    public mutating func take(_ count: Int, _ field: String) throws(DecodeError) -> [UInt8] {
        try require(count, field)
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    /// All remaining bytes.
    public mutating func rest() -> [UInt8] {
        defer { offset = bytes.count }
        return Array(bytes[offset...])
    }

    /// An IEEE 11073-20601 SFLOAT (16 bit).
    public mutating func sfloat(_ field: String) throws(DecodeError) -> MDERFloat {
        MDERFloat(sfloat: try u16(field))
    }

    /// An IEEE 11073-20601 FLOAT (32 bit).
    public mutating func float(_ field: String) throws(DecodeError) -> MDERFloat {
        MDERFloat(float: try u32(field))
    }

    /// A Bluetooth Date Time (7 bytes), range-checked.
    public mutating func dateTime(_ field: String) throws(DecodeError) -> DeviceTimestamp {
        try DateTimeCodec.decode(&self, field)
    }

    /// Throws `trailingBytes` if anything is left: a payload longer than its flags announce is not trusted.
    public func finish(_ field: String = "end") throws(DecodeError) {
        guard remaining == 0 else {
            throw DecodeError(field: field, offset: offset, reason: .trailingBytes(count: remaining))
        }
    }

    /// A `reservedValue` error for the field that starts at `at`.
    public static func reserved(_ field: String, at: Int, _ value: some BinaryInteger) -> DecodeError {
        DecodeError(field: field, offset: at, reason: .reservedValue(UInt64(truncatingIfNeeded: value)))
    }
}

/// Little-endian byte writer used by the encoders (the simulator turns readings into real characteristic bytes).
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func u8(_ value: UInt8) { bytes.append(value) }

    public mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
    }

    public mutating func s16(_ value: Int16) { u16(UInt16(bitPattern: value)) }

    public mutating func u24(_ value: UInt32) {
        for shift in [0, 8, 16] { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    public mutating func u32(_ value: UInt32) {
        for shift in [0, 8, 16, 24] { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    public mutating func append(_ other: [UInt8]) { bytes.append(contentsOf: other) }

    public mutating func sfloat(_ value: MDERFloat, _ field: String) throws(EncodeError) {
        u16(try value.sfloatBits(field))
    }

    public mutating func float(_ value: MDERFloat, _ field: String) throws(EncodeError) {
        u32(try value.floatBits(field))
    }

    public mutating func dateTime(_ value: DeviceTimestamp, _ field: String) throws(EncodeError) {
        append(try DateTimeCodec.encode(value, field))
    }
}
