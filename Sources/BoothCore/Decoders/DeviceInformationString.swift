/// A Device Information Service string (Manufacturer Name 0x2A29, Model Number 0x2A24, Serial Number 0x2A25,
/// Hardware 0x2A27, Firmware 0x2A26, Software 0x2A28 Revision): UTF-8, some devices pad with NULs.
public struct DeviceInformationString: PayloadDecoder, Hashable {
    public static let profile = "device-information"

    public var text: String

    public init(text: String) {
        self.text = text
    }

    public init(bytes: [UInt8]) throws(DecodeError) {
        var end = bytes.count
        while end > 0, bytes[end - 1] == 0 { end -= 1 }
        let content = bytes[..<end]
        if let zero = content.firstIndex(of: 0) {
            throw DecodeError(field: "text", offset: zero, reason: .invalidText)
        }
        guard let text = String(validating: content, as: UTF8.self) else {
            throw DecodeError(field: "text", offset: 0, reason: .invalidText)
        }
        self.text = text
    }

    public func encoded() -> [UInt8] { Array(text.utf8) }

    public var reading: DecodedReading {
        DecodedReading(profile: Self.profile, kind: nil, fields: [.init("text", .text(text))])
    }
}
