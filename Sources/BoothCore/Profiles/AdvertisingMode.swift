/// How a device says in its advertisement whether it wants to be paired or has readings to hand over, read from
/// one byte of its manufacturer data (Omron cuffs: "pairing mode" while the Bluetooth button is held, "transfer
/// mode" after a measurement). Declared by a profile's `advertising_mode` section.
public struct BLEAdvertisingMode: Sendable, Hashable, Codable {
    /// What the advertisement says.
    public enum Mode: String, Sendable, Hashable {
        /// The device waits to be paired; it delivers no readings now.
        case pairing
        /// The device has readings for its bonded central.
        case transfer
    }

    /// The manufacturer data (Bluetooth SIG company identifier) that carries the mode.
    public var companyID: UInt16
    /// Offset of the mode byte in that data, after the 2-byte company identifier.
    public var offset: Int
    /// The bits of that byte that hold the mode.
    public var mask: UInt8
    /// `byte & mask` in pairing mode.
    public var pairing: UInt8
    /// `byte & mask` in transfer mode.
    public var transfer: UInt8

    public init(companyID: UInt16, offset: Int, mask: UInt8, pairing: UInt8, transfer: UInt8) {
        self.companyID = companyID
        self.offset = offset
        self.mask = mask
        self.pairing = pairing
        self.transfer = transfer
    }

    /// The mode this advertisement shows, or nil when it shows neither (no such manufacturer data, too short,
    /// or the masked bits hold another value).
    public func mode(of advertisement: BLEAdvertisement) -> Mode? {
        guard let data = advertisement.manufacturerData[companyID], offset >= 0, offset < data.count else {
            return nil
        }
        switch data[offset] & mask {
        case pairing: return .pairing
        case transfer: return .transfer
        default: return nil
        }
    }
}
