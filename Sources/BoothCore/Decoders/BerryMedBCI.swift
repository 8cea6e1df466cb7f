/// BerryMed BCI protocol frame (kind `berrymed`): the same 5-byte sync-bit frame as the Contec CMS50D+.
/// Byte 0 bits 0-3 signal strength; byte 1 pleth; byte 2 bar graph and pulse bit 7; byte 3 pulse; byte 4 SpO2.
public struct BerryMedBCI: PayloadDecoder, Hashable {
    public static let profile = "berrymed-bci"

    public var frame: OximeterFiveByteFrame

    public init(frame: OximeterFiveByteFrame) { self.frame = frame }

    public init(bytes: [UInt8]) throws(DecodeError) { frame = try OximeterFiveByteFrame(bytes: bytes) }

    public func encoded() -> [UInt8] { frame.encoded() }

    public var reading: DecodedReading { frame.reading(profile: Self.profile) }
}
