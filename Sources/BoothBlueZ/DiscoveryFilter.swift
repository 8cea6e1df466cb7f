import BoothCore

/// What to look for while scanning: advertised service UUIDs (any of) and name prefixes (any of).
/// BlueZ merges the filters of all its clients, so every advertisement is checked again here.
public struct BLEDiscoveryFilter: Sendable, Hashable {
    public var serviceUUIDs: [GATTUUID]
    public var namePrefixes: [String]
    /// Weakest signal accepted, dBm.
    public var minimumRSSI: Int?

    public init(serviceUUIDs: [GATTUUID] = [], namePrefixes: [String] = [], minimumRSSI: Int? = nil) {
        self.serviceUUIDs = serviceUUIDs
        self.namePrefixes = namePrefixes
        self.minimumRSSI = minimumRSSI
    }

    /// The standard medical services boothd reads: PLX, BPS, HTS, Glucose, Weight Scale.
    public static let medicalServices: [GATTUUID] = [0x1822, 0x1810, 0x1809, 0x1808, 0x181D].map { GATTUUID($0) }

    /// The SetDiscoveryFilter argument. UUIDs go to BlueZ only when there are no name prefixes: BlueZ's UUID
    /// filter would hide devices that are matched by name only (vendor devices often advertise no service).
    public var bluezArgument: DBusValue {
        var filter: [String: DBusValue] = [
            "Transport": .string("le"),
            "DuplicateData": .boolean(false),
        ]
        if namePrefixes.isEmpty, !serviceUUIDs.isEmpty {
            filter["UUIDs"] = .stringArray(serviceUUIDs.map(\.uuidString))
        }
        if let minimumRSSI { filter["RSSI"] = .int16(Int16(clamping: minimumRSSI)) }
        return .dictionary(filter)
    }

    /// True when the device matches: no criteria matches everything.
    public func matches(_ device: BlueZDeviceInfo) -> Bool {
        if let minimumRSSI, let rssi = device.rssi, rssi < minimumRSSI { return false }
        if serviceUUIDs.isEmpty && namePrefixes.isEmpty { return true }
        if device.serviceUUIDs.contains(where: serviceUUIDs.contains) { return true }
        if let name = device.name, namePrefixes.contains(where: { name.hasPrefix($0) }) { return true }
        return false
    }
}
