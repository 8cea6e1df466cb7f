import BoothCore

/// D-Bus names of BlueZ's API (org.bluez, BlueZ 5.66 doc/*-api.txt).
public enum BlueZName {
    public static let service = "org.bluez"
    public static let adapter = "org.bluez.Adapter1"
    public static let device = "org.bluez.Device1"
    public static let gattService = "org.bluez.GattService1"
    public static let gattCharacteristic = "org.bluez.GattCharacteristic1"
    public static let battery = "org.bluez.Battery1"
    public static let agentManager = "org.bluez.AgentManager1"
    public static let agent = "org.bluez.Agent1"
    public static let objectManager = "org.freedesktop.DBus.ObjectManager"
    public static let properties = "org.freedesktop.DBus.Properties"
}

/// The parts of a BlueZ object path: `/org/bluez/hci1/dev_00_AA_01_00_00_00/service0012/char0014`.
public struct BlueZPath: Sendable, Hashable, CustomStringConvertible {
    public let raw: String
    /// `hci1`
    public let adapter: String
    /// `00:AA:01:00:00:00` for device paths and below.
    public let deviceAddress: String?
    public let serviceHandle: UInt16?
    public let characteristicHandle: UInt16?

    /// Nil when `raw` is not an adapter path or below (e.g. `/org/bluez` itself or an application's object).
    public init?(_ raw: String) {
        let parts = raw.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].isEmpty, parts[1] == "org", parts[2] == "bluez", parts[3].hasPrefix("hci"),
            parts[3].count > 3, parts[3].dropFirst(3).allSatisfy(\.isNumber)
        else { return nil }
        var address: String?
        var service: UInt16?
        var characteristic: UInt16?
        if parts.count >= 5 {
            let device = parts[4]
            let octets = device.dropFirst(4).split(separator: "_", omittingEmptySubsequences: false)
            guard device.hasPrefix("dev_"), octets.count == 6,
                octets.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isHexDigit) })
            else { return nil }
            address = octets.joined(separator: ":").uppercased()
        }
        if parts.count >= 6 {
            guard parts[5].hasPrefix("service"), let handle = UInt16(parts[5].dropFirst(7), radix: 16) else {
                return nil
            }
            service = handle
        }
        if parts.count >= 7 {
            guard parts[6].hasPrefix("char"), let handle = UInt16(parts[6].dropFirst(4), radix: 16) else {
                return nil
            }
            characteristic = handle
        }
        // Descriptors (parts[7]) are accepted and belong to their characteristic.
        guard parts.count <= 8 else { return nil }
        self.raw = raw
        self.adapter = String(parts[3])
        self.deviceAddress = address
        self.serviceHandle = service
        self.characteristicHandle = characteristic
    }

    /// The object path of a device: `/org/bluez/hci1/dev_00_AA_01_00_00_00`; nil when `address` is malformed.
    public static func device(adapter: String, address: String) -> String? {
        let octets = address.uppercased().split(separator: ":", omittingEmptySubsequences: false)
        guard octets.count == 6, octets.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isHexDigit) }) else {
            return nil
        }
        return "/org/bluez/\(adapter)/dev_" + octets.joined(separator: "_")
    }

    /// The device object path this path belongs to (itself for a device path).
    public var devicePath: String? {
        guard deviceAddress != nil else { return nil }
        return raw.split(separator: "/").prefix(4).reduce("") { $0 + "/" + $1 }
    }

    public var description: String { raw }
}

/// What boothd knows of one adapter (org.bluez.Adapter1).
public struct BlueZAdapterInfo: Sendable, Hashable {
    public var path: String
    /// `hci0`
    public var name: String
    public var address: String
    public var powered: Bool
    public var discovering: Bool
}

/// What boothd knows of one remote device (org.bluez.Device1), from advertisements and the connection.
public struct BlueZDeviceInfo: Sendable, Hashable {
    public var path: String
    public var adapter: String
    public var address: String
    /// `public` or `random`
    public var addressType: String
    public var name: String?
    public var rssi: Int?
    public var serviceUUIDs: [GATTUUID]
    public var manufacturerData: [UInt16: [UInt8]]
    public var connected: Bool
    public var servicesResolved: Bool
    public var paired: Bool
    public var trusted: Bool

    /// boothd's stable device id.
    public var deviceID: String { "ble:" + address }
}

/// One remote characteristic (org.bluez.GattCharacteristic1).
public struct BlueZCharacteristicInfo: Sendable, Hashable {
    public var path: String
    public var uuid: GATTUUID
    /// `read`, `write`, `write-without-response`, `notify`, `indicate`, ...
    public var flags: [String]
    public var servicePath: String
}

/// A mirror of BlueZ's object tree kept current from ObjectManager and Properties signals.
/// Pure: fed by the D-Bus layer, read by the adapter, tested with recorded signal payloads.
public struct BlueZObjectTree: Sendable {
    /// path → interface → property → value
    public private(set) var objects: [String: [String: [String: DBusValue]]] = [:]

    public init() {}

    /// Replaces everything with a GetManagedObjects reply (`a{oa{sa{sv}}}`).
    public mutating func load(managedObjects reply: DBusValue) throws(BlueZError) {
        guard case .array(_, let entries) = reply.tupleMembers?.first ?? reply else {
            throw .unexpectedReply(method: "GetManagedObjects", signature: reply.signature)
        }
        var fresh: [String: [String: [String: DBusValue]]] = [:]
        for entry in entries {
            guard case .tuple(let pair) = entry, pair.count == 2, let path = pair[0].string else {
                throw .unexpectedReply(method: "GetManagedObjects", signature: entry.signature)
            }
            fresh[path] = try Self.interfaces(pair[1], method: "GetManagedObjects")
        }
        objects = fresh
    }

    /// Applies InterfacesAdded `(oa{sa{sv}})`.
    public mutating func interfacesAdded(_ body: DBusValue) throws(BlueZError) {
        guard let members = body.tupleMembers, members.count == 2, let path = members[0].string else {
            throw .unexpectedReply(method: "InterfacesAdded", signature: body.signature)
        }
        for (interface, properties) in try Self.interfaces(members[1], method: "InterfacesAdded") {
            objects[path, default: [:]][interface, default: [:]].merge(properties) { _, new in new }
        }
    }

    /// Applies InterfacesRemoved `(oas)`; returns the path when the object is gone entirely.
    @discardableResult
    public mutating func interfacesRemoved(_ body: DBusValue) throws(BlueZError) -> String? {
        guard let members = body.tupleMembers, members.count == 2, let path = members[0].string,
            let interfaces = members[1].strings
        else { throw .unexpectedReply(method: "InterfacesRemoved", signature: body.signature) }
        for interface in interfaces { objects[path]?[interface] = nil }
        if objects[path]?.isEmpty ?? false {
            objects[path] = nil
            return path
        }
        return nil
    }

    /// Applies PropertiesChanged `(sa{sv}as)` emitted by `path`; returns the interface name and changed keys.
    @discardableResult
    public mutating func propertiesChanged(
        path: String,
        _ body: DBusValue
    ) throws(BlueZError) -> (
        interface: String, changed: [String: DBusValue]
    ) {
        guard let members = body.tupleMembers, members.count == 3, let interface = members[0].string,
            let changed = members[1].dictionary
        else { throw .unexpectedReply(method: "PropertiesChanged", signature: body.signature) }
        // A signal for an object we have not seen (e.g. between a restart and our reload) is ignored: the next
        // GetManagedObjects or InterfacesAdded brings it complete.
        guard objects[path]?[interface] != nil else { return (interface, changed) }
        objects[path]?[interface]?.merge(changed) { _, new in new }
        for name in members[2].strings ?? [] { objects[path]?[interface]?[name] = nil }
        return (interface, changed)
    }

    public mutating func removeAll() { objects = [:] }

    public func adapters() -> [BlueZAdapterInfo] {
        objects.compactMap { path, interfaces in
            guard let properties = interfaces[BlueZName.adapter], let parsed = BlueZPath(path),
                parsed.deviceAddress == nil
            else { return nil }
            return BlueZAdapterInfo(
                path: path,
                name: parsed.adapter,
                address: properties["Address"]?.string ?? "",
                powered: properties["Powered"]?.bool ?? false,
                discovering: properties["Discovering"]?.bool ?? false
            )
        }.sorted { ($0.name.count, $0.name) < ($1.name.count, $1.name) }
    }

    public func device(_ path: String) -> BlueZDeviceInfo? {
        guard let properties = objects[path]?[BlueZName.device], let parsed = BlueZPath(path),
            let address = parsed.deviceAddress
        else { return nil }
        var manufacturer: [UInt16: [UInt8]] = [:]
        if case .uint16Dictionary(let entries)? = properties["ManufacturerData"] {
            for (company, value) in entries { manufacturer[company] = value.bytes ?? [] }
        }
        return BlueZDeviceInfo(
            path: path,
            adapter: parsed.adapter,
            address: properties["Address"]?.string ?? address,
            addressType: properties["AddressType"]?.string ?? "public",
            name: properties["Name"]?.string ?? properties["Alias"]?.string,
            rssi: properties["RSSI"]?.integer,
            serviceUUIDs: (properties["UUIDs"]?.strings ?? []).compactMap(GATTUUID.init(string:)),
            manufacturerData: manufacturer,
            connected: properties["Connected"]?.bool ?? false,
            servicesResolved: properties["ServicesResolved"]?.bool ?? false,
            paired: properties["Paired"]?.bool ?? false,
            trusted: properties["Trusted"]?.bool ?? false
        )
    }

    public func devices(adapter: String? = nil) -> [BlueZDeviceInfo] {
        objects.keys.compactMap(device).filter { adapter == nil || $0.adapter == adapter }.sorted {
            $0.address < $1.address
        }
    }

    /// The device's characteristics, in handle order.
    public func characteristics(device devicePath: String) -> [BlueZCharacteristicInfo] {
        let prefix = devicePath + "/"
        return objects.compactMap { path, interfaces -> BlueZCharacteristicInfo? in
            guard path.hasPrefix(prefix), let properties = interfaces[BlueZName.gattCharacteristic],
                let uuidText = properties["UUID"]?.string, let uuid = GATTUUID(string: uuidText)
            else { return nil }
            return BlueZCharacteristicInfo(
                path: path,
                uuid: uuid,
                flags: properties["Flags"]?.strings ?? [],
                servicePath: properties["Service"]?.string ?? ""
            )
        }.sorted { $0.path < $1.path }
    }

    /// The first characteristic with this UUID on the device (lowest handle).
    public func characteristic(_ uuid: GATTUUID, device devicePath: String) -> BlueZCharacteristicInfo? {
        characteristics(device: devicePath).first { $0.uuid == uuid }
    }

    /// Where the device's battery level can be read right now.
    ///
    /// bluetoothd's own battery plugin claims the Battery Service, and BlueZ before 5.80 (Debian 12 ships 5.66)
    /// exports no D-Bus object for a claimed service: the level is then `org.bluez.Battery1.Percentage` on the
    /// device. Which of the two exists right after connection depends on timing (the characteristic is exported
    /// when the export runs before the claim), so a reader takes whichever appears first.
    public func batterySource(device devicePath: String) -> BatterySource {
        if let level = characteristic(BatterySource.levelUUID, device: devicePath) {
            return .characteristic(path: level.path)
        }
        if let percentage = objects[devicePath]?[BlueZName.battery]?["Percentage"]?.integer {
            return .percentage(percentage)
        }
        if let device = device(devicePath), device.serviceUUIDs.contains(BatterySource.serviceUUID) {
            return .pending
        }
        return .absent
    }

    private static func interfaces(
        _ value: DBusValue,
        method: String
    ) throws(BlueZError) -> [String: [String:
        DBusValue]]
    {
        guard case .array(_, let entries) = value else {
            throw .unexpectedReply(method: method, signature: value.signature)
        }
        var result: [String: [String: DBusValue]] = [:]
        for entry in entries {
            guard case .tuple(let pair) = entry, pair.count == 2, let name = pair[0].string,
                let properties = pair[1].dictionary
            else { throw .unexpectedReply(method: method, signature: entry.signature) }
            result[name] = properties
        }
        return result
    }
}

/// Where a device's battery level is (see `BlueZObjectTree.batterySource(device:)`).
public enum BatterySource: Sendable, Equatable {
    /// Battery Level (0x2A19) is exported: read it.
    case characteristic(path: String)
    /// bluetoothd's battery plugin holds the service and publishes the level on the device.
    case percentage(Int)
    /// The device has a Battery Service (0x180F) but neither is there yet.
    case pending
    /// The device has no Battery Service.
    case absent

    static let levelUUID = GATTUUID(0x2A19)
    static let serviceUUID = GATTUUID(0x180F)
}
