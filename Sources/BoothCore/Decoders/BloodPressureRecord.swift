/// Blood Pressure Record (0x2B36, Blood Pressure Service 1.1): a stored measurement fetched through RACP, wrapped
/// with its sequence number and the UUID of the characteristic it holds. Layout: segmentation header (u8: bit 0
/// first segment, bit 1 last segment, bits 2-7 rolling counter), sequence number (u16), UUID (u16), then the
/// recorded characteristic's value. Only records sent whole (first and last segment in one message) are accepted:
/// a segmented record, or one with an E2E-CRC, is reported as undecodable rather than guessed at.
public struct BloodPressureRecord: Sendable, Hashable {
    public var segmentation: UInt8
    public var sequenceNumber: UInt16
    /// The 16-bit UUID of the recorded characteristic (0x2A35 Blood Pressure Measurement, 0x2B34 Enhanced ...).
    public var recordedUUID: UInt16
    /// The recorded characteristic's value, decoded by that characteristic's decoder.
    public var recorded: [UInt8]

    public init(segmentation: UInt8 = 0x03, sequenceNumber: UInt16, recordedUUID: UInt16, recorded: [UInt8]) {
        self.segmentation = segmentation
        self.sequenceNumber = sequenceNumber
        self.recordedUUID = recordedUUID
        self.recorded = recorded
    }

    public init(bytes: [UInt8]) throws(DecodeError) {
        var reader = ByteReader(bytes)
        segmentation = try reader.u8("segmentationHeader")
        guard segmentation & 0x03 == 0x03 else { throw ByteReader.reserved("segmentationHeader", at: 0, segmentation) }
        sequenceNumber = try reader.u16("sequenceNumber")
        recordedUUID = try reader.u16("uuid")
        try reader.require(1, "recordedCharacteristic")
        recorded = reader.rest()
    }

    /// The sequence number straight from the bytes, without checking the rest (duplicate suppression).
    public static func sequenceNumber(_ bytes: [UInt8]) -> UInt16? {
        guard bytes.count >= 3 else { return nil }
        return UInt16(bytes[1]) | UInt16(bytes[2]) << 8
    }

    public func encoded() -> [UInt8] {
        [segmentation, UInt8(sequenceNumber & 0xFF), UInt8(sequenceNumber >> 8)]
            + [UInt8(recordedUUID & 0xFF), UInt8(recordedUUID >> 8)] + recorded
    }
}
