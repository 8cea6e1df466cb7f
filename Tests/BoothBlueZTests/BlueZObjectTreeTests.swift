import BoothCore
import Testing

@testable import BoothBlueZ

/// Signal payloads as GDBus decodes them (shapes from BlueZ 5.66 on the lab's bluetoothd).
enum Recorded {
    static let adapterPath = "/org/bluez/hci1"
    static let devicePath = "/org/bluez/hci1/dev_00_AA_01_00_00_00"
    static let plxPath = devicePath + "/service0022/char0023"

    static func entry(_ key: DBusValue, _ value: DBusValue) -> DBusValue { .tuple([key, value]) }

    static func interfaces(_ map: [(String, [String: DBusValue])]) -> DBusValue {
        .array(elementSignature: "{sa{sv}}", map.map { entry(.string($0.0), .dictionary($0.1)) })
    }

    static let adapter: [String: DBusValue] = [
        "Address": .string("00:AA:01:01:00:01"), "Powered": .boolean(true), "Discovering": .boolean(false),
    ]

    static let device: [String: DBusValue] = [
        "Address": .string("00:AA:01:00:00:00"), "AddressType": .string("public"), "Name": .string("VLab-Oximeter"),
        "RSSI": .int16(-42), "Connected": .boolean(false), "Paired": .boolean(false),
        "UUIDs": .stringArray(["00001822-0000-1000-8000-00805f9b34fb", "00001809-0000-1000-8000-00805f9b34fb"]),
        "ManufacturerData": .uint16Dictionary([0x00D2: .bytes([0x01, 0x02])]),
    ]

    static let managedObjects: DBusValue = .tuple([
        .array(
            elementSignature: "{oa{sa{sv}}}",
            [
                entry(.objectPath("/org/bluez"), interfaces([("org.bluez.AgentManager1", [:])])),
                entry(.objectPath(adapterPath), interfaces([(BlueZName.adapter, adapter)])),
                entry(.objectPath(devicePath), interfaces([(BlueZName.device, device)])),
            ]
        )
    ])

    static func characteristicAdded(_ path: String, uuid: String, flags: [String]) -> DBusValue {
        .tuple([
            .objectPath(path),
            interfaces([
                (
                    BlueZName.gattCharacteristic,
                    [
                        "UUID": .string(uuid), "Flags": .stringArray(flags),
                        "Service": .objectPath("/" + path.split(separator: "/").dropLast().joined(separator: "/")),
                    ]
                )
            ]),
        ])
    }

    static func changed(_ interface: String, _ values: [String: DBusValue], invalidated: [String] = []) -> DBusValue {
        .tuple([.string(interface), .dictionary(values), .stringArray(invalidated)])
    }
}

@Suite("BlueZ object paths")
struct BlueZPathTests {
    @Test func parsesEveryLevel() throws {
        let adapter = try #require(BlueZPath("/org/bluez/hci1"))
        #expect(adapter.adapter == "hci1" && adapter.deviceAddress == nil)
        let characteristic = try #require(BlueZPath(Recorded.plxPath))
        #expect(characteristic.adapter == "hci1")
        #expect(characteristic.deviceAddress == "00:AA:01:00:00:00")
        #expect(characteristic.serviceHandle == 0x22)
        #expect(characteristic.characteristicHandle == 0x23)
        #expect(characteristic.devicePath == Recorded.devicePath)
        let descriptor = try #require(BlueZPath(Recorded.plxPath + "/desc0025"))
        #expect(descriptor.characteristicHandle == 0x23)
    }

    @Test func rejectsWhatIsNotAnAdapterOrBelow() {
        for path in [
            "/org/bluez", "/", "", "/org/bluez/hciX", "/org/bluez/hci0/dev_00_AA",
            "/org/bluez/hci0/dev_00_AA_01_00_00_ZZ",
            "/org/bluez/hci0/dev_00_AA_01_00_00_00/svc0001", "/org/bluez/hci0/dev_00_AA_01_00_00_00/serviceXYZ",
            "/lab/service0", "/org/bluez/hci0/dev_00_AA_01_00_00_00/service0001/char0002/desc0003/extra",
        ] {
            #expect(BlueZPath(path) == nil, "\(path)")
        }
    }

    @Test func buildsDevicePaths() {
        #expect(
            BlueZPath.device(adapter: "hci0", address: "c0:26:da:01:02:03") == "/org/bluez/hci0/dev_C0_26_DA_01_02_03"
        )
        #expect(BlueZPath.device(adapter: "hci0", address: "C0:26:DA:01:02") == nil)
        #expect(BlueZPath.device(adapter: "hci0", address: "C0:26:DA:01:02:0G") == nil)
    }
}

@Suite("BlueZ object tree")
struct BlueZObjectTreeTests {
    @Test func loadsManagedObjects() throws {
        var tree = BlueZObjectTree()
        try tree.load(managedObjects: Recorded.managedObjects)
        #expect(
            tree.adapters() == [
                BlueZAdapterInfo(
                    path: Recorded.adapterPath,
                    name: "hci1",
                    address: "00:AA:01:01:00:01",
                    powered: true,
                    discovering: false
                )
            ]
        )
        let device = try #require(tree.device(Recorded.devicePath))
        #expect(device.address == "00:AA:01:00:00:00")
        #expect(device.name == "VLab-Oximeter")
        #expect(device.rssi == -42)
        #expect(device.serviceUUIDs == [GATTUUID(0x1822), GATTUUID(0x1809)])
        #expect(device.manufacturerData == [0x00D2: [0x01, 0x02]])
        #expect(!device.connected && !device.paired)
        #expect(device.deviceID == "ble:00:AA:01:00:00:00")
        #expect(tree.devices(adapter: "hci0").isEmpty)
    }

    @Test func followsConnectionAndCharacteristics() throws {
        var tree = BlueZObjectTree()
        try tree.load(managedObjects: Recorded.managedObjects)
        try tree.interfacesAdded(
            Recorded.characteristicAdded(
                Recorded.plxPath,
                uuid: "00002a5f-0000-1000-8000-00805f9b34fb",
                flags: ["notify"]
            )
        )
        try tree.interfacesAdded(
            Recorded.characteristicAdded(
                Recorded.devicePath + "/service001e/char001f",
                uuid: "00002a19-0000-1000-8000-00805f9b34fb",
                flags: ["read", "notify"]
            )
        )
        let update = try tree.propertiesChanged(
            path: Recorded.devicePath,
            Recorded.changed(
                BlueZName.device,
                ["Connected": .boolean(true), "ServicesResolved": .boolean(true)],
                invalidated: ["RSSI"]
            )
        )
        #expect(update.interface == BlueZName.device)
        let device = try #require(tree.device(Recorded.devicePath))
        #expect(device.connected && device.servicesResolved)
        #expect(device.rssi == nil)
        // Lowest handle first; looked up by UUID.
        #expect(tree.characteristics(device: Recorded.devicePath).map(\.uuid) == [GATTUUID(0x2A19), GATTUUID(0x2A5F)])
        let plx = try #require(tree.characteristic(GATTUUID(0x2A5F), device: Recorded.devicePath))
        #expect(plx.path == Recorded.plxPath)
        #expect(plx.flags == ["notify"])
        #expect(plx.servicePath == Recorded.devicePath + "/service0022")
        #expect(tree.characteristic(GATTUUID(0x2A35), device: Recorded.devicePath) == nil)
    }

    @Test func removalsAndUnknownObjects() throws {
        var tree = BlueZObjectTree()
        try tree.load(managedObjects: Recorded.managedObjects)
        // A change for an object never announced is ignored, not invented.
        try tree.propertiesChanged(
            path: "/org/bluez/hci1/dev_11_22_33_44_55_66",
            Recorded.changed(BlueZName.device, ["RSSI": .int16(-50)])
        )
        #expect(tree.device("/org/bluez/hci1/dev_11_22_33_44_55_66") == nil)
        let gone = try tree.interfacesRemoved(
            .tuple([.objectPath(Recorded.devicePath), .stringArray([BlueZName.device])])
        )
        #expect(gone == Recorded.devicePath)
        #expect(tree.device(Recorded.devicePath) == nil)
        #expect(tree.adapters().count == 1)
    }

    @Test func malformedPayloadsNameTheSignal() {
        var tree = BlueZObjectTree()
        #expect(throws: BlueZError.unexpectedReply(method: "InterfacesAdded", signature: "(s)")) {
            try tree.interfacesAdded(.tuple([.string("x")]))
        }
        #expect(throws: BlueZError.unexpectedReply(method: "GetManagedObjects", signature: "s")) {
            try tree.load(managedObjects: .string("x"))
        }
        #expect(
            BlueZError.unexpectedReply(method: "GetManagedObjects", signature: "s").description
                == "GetManagedObjects: unexpected D-Bus reply of type s"
        )
    }
}

@Suite("Discovery filter")
struct DiscoveryFilterTests {
    func device(name: String?, uuids: [UInt16], rssi: Int? = -60) -> BlueZDeviceInfo {
        BlueZDeviceInfo(
            path: Recorded.devicePath,
            adapter: "hci1",
            address: "00:AA:01:00:00:00",
            addressType: "public",
            name: name,
            rssi: rssi,
            serviceUUIDs: uuids.map { GATTUUID($0) },
            manufacturerData: [:],
            connected: false,
            servicesResolved: false,
            paired: false,
            trusted: false
        )
    }

    @Test func medicalServicesFilterGoesToBlueZ() {
        let filter = BLEDiscoveryFilter(serviceUUIDs: BLEDiscoveryFilter.medicalServices)
        #expect(
            filter.bluezArgument
                == .dictionary([
                    "Transport": .string("le"), "DuplicateData": .boolean(false),
                    "UUIDs": .stringArray([
                        "00001822-0000-1000-8000-00805f9b34fb", "00001810-0000-1000-8000-00805f9b34fb",
                        "00001809-0000-1000-8000-00805f9b34fb", "00001808-0000-1000-8000-00805f9b34fb",
                        "0000181d-0000-1000-8000-00805f9b34fb",
                    ]),
                ])
        )
        #expect(filter.matches(device(name: nil, uuids: [0x180F, 0x1810])))
        #expect(!filter.matches(device(name: "Phone", uuids: [0x180F])))
    }

    @Test func namePrefixesKeepBlueZUnfiltered() {
        let filter = BLEDiscoveryFilter(serviceUUIDs: [GATTUUID(0x1822)], namePrefixes: ["O2Ring"], minimumRSSI: -80)
        #expect(filter.bluezArgument.dictionary?["UUIDs"] == nil)
        #expect(filter.bluezArgument.dictionary?["RSSI"] == .int16(-80))
        #expect(filter.matches(device(name: "O2Ring 2041", uuids: [])))
        #expect(filter.matches(device(name: nil, uuids: [0x1822])))
        #expect(!filter.matches(device(name: "O2Ring 2041", uuids: [], rssi: -90)))
        #expect(BLEDiscoveryFilter().matches(device(name: nil, uuids: [])))
    }
}

/// Battery level on BlueZ 5.66: bluetoothd's battery plugin claims the Battery Service, and a claimed service gets
/// no D-Bus object when the claim comes before the export; the level is then `Battery1.Percentage` on the device.
/// The lab saw both orders (step 61: "device ready battery=-" once in a rehearsal, 87 otherwise).
@Suite("BlueZ battery source")
struct BlueZBatterySourceTests {
    static func tree(uuids: [String]) throws -> BlueZObjectTree {
        var device = Recorded.device
        device["UUIDs"] = .stringArray(uuids)
        var tree = BlueZObjectTree()
        try tree.load(
            managedObjects: .tuple([
                .array(
                    elementSignature: "{oa{sa{sv}}}",
                    [
                        Recorded.entry(
                            .objectPath(Recorded.devicePath),
                            Recorded.interfaces([(BlueZName.device, device)])
                        )
                    ]
                )
            ])
        )
        return tree
    }

    static let plxAndBattery = ["00001822-0000-1000-8000-00805f9b34fb", "0000180f-0000-1000-8000-00805f9b34fb"]

    @Test func claimedServiceGivesThePluginsPercentage() throws {
        var tree = try Self.tree(uuids: Self.plxAndBattery)
        #expect(tree.batterySource(device: Recorded.devicePath) == .pending)
        try tree.interfacesAdded(
            .tuple([
                .objectPath(Recorded.devicePath),
                Recorded.interfaces([(BlueZName.battery, ["Percentage": .byte(87), "Source": .string("org.bluez")])]),
            ])
        )
        #expect(tree.batterySource(device: Recorded.devicePath) == .percentage(87))
        try tree.propertiesChanged(
            path: Recorded.devicePath,
            Recorded.changed(BlueZName.battery, ["Percentage": .variant(.byte(86))])
        )
        #expect(tree.batterySource(device: Recorded.devicePath) == .percentage(86))
    }

    @Test func exportedCharacteristicIsPreferred() throws {
        var tree = try Self.tree(uuids: Self.plxAndBattery)
        let level = Recorded.devicePath + "/service001e/char001f"
        try tree.interfacesAdded(
            Recorded.characteristicAdded(
                level,
                uuid: "00002a19-0000-1000-8000-00805f9b34fb",
                flags: ["read", "notify"]
            )
        )
        #expect(tree.batterySource(device: Recorded.devicePath) == .characteristic(path: level))
        try tree.interfacesAdded(
            .tuple([
                .objectPath(Recorded.devicePath), Recorded.interfaces([(BlueZName.battery, ["Percentage": .byte(87)])]),
            ])
        )
        #expect(tree.batterySource(device: Recorded.devicePath) == .characteristic(path: level))
    }

    @Test func deviceWithoutBatteryServiceIsAbsentAtOnce() throws {
        let tree = try Self.tree(uuids: ["00001822-0000-1000-8000-00805f9b34fb"])
        #expect(tree.batterySource(device: Recorded.devicePath) == .absent)
        #expect(tree.batterySource(device: Recorded.devicePath + "_unknown") == .absent)
    }
}
