/// A Bluetooth GATT attribute UUID, kept in its canonical lowercase 128-bit text form.
public struct GATTUUID: Sendable, Hashable, Codable, CustomStringConvertible {
    public let uuidString: String

    /// A SIG-assigned 16-bit UUID such as 0x2A35, expanded onto the Bluetooth base UUID.
    public init(_ short: UInt16) {
        let hex = String(short, radix: 16)
        let padded = String(repeating: "0", count: 4 - hex.count) + hex
        self.init(canonical: "0000\(padded)-0000-1000-8000-00805f9b34fb")
    }

    private init(canonical: String) {
        uuidString = canonical
    }

    /// A full 128-bit UUID, e.g. `6e400001-b5a3-f393-e0a9-e50e24dcca9e`; nil when the text is not one.
    public init?(string: String) {
        let lower = string.lowercased()
        let groups = lower.split(separator: "-", omittingEmptySubsequences: false)
        guard groups.map(\.count) == [8, 4, 4, 4, 12], lower.allSatisfy({ $0 == "-" || $0.isHexDigit }) else {
            if lower.count == 4, let short = UInt16(lower, radix: 16) {
                self.init(short)
                return
            }
            return nil
        }
        self.init(canonical: lower)
    }

    /// The 16-bit form when the UUID lies on the Bluetooth base UUID.
    public var shortValue: UInt16? {
        guard uuidString.hasPrefix("0000"), uuidString.hasSuffix("-0000-1000-8000-00805f9b34fb") else { return nil }
        return UInt16(uuidString.dropFirst(4).prefix(4), radix: 16)
    }

    public var description: String {
        if let short = shortValue {
            let hex = String(short, radix: 16, uppercase: true)
            return "0x" + String(repeating: "0", count: 4 - hex.count) + hex
        }
        return uuidString
    }
}

/// What a driver needs from a connected GATT peer. BlueZ implements it over D-Bus; the simulator and the
/// tests implement it in memory, so drivers and decoders run the same code in all three.
public protocol GATTLink: Sendable {
    /// Reads a characteristic value.
    func read(_ characteristic: GATTUUID) async throws -> [UInt8]
    /// Writes a characteristic value.
    func write(_ characteristic: GATTUUID, _ value: [UInt8], withResponse: Bool) async throws
    /// Subscribes to notifications or indications; the stream ends when the link drops.
    func notifications(_ characteristic: GATTUUID) async throws -> AsyncThrowingStream<[UInt8], any Error>
}

/// What a driver needs from a byte-stream device (USB serial, HID reports, vendor BLE UART).
public protocol ByteStreamLink: Sendable {
    func send(_ bytes: [UInt8]) async throws
    /// Chunks as they arrive; chunk boundaries carry no meaning.
    func received() async throws -> AsyncThrowingStream<[UInt8], any Error>
}
