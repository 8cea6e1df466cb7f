import BoothCore

/// GATTLink over BlueZ for one connected device. Characteristics are looked up by UUID on every call, so a link
/// stays valid across reconnects and service cache refreshes (paths are re-resolved, never cached).
public struct BlueZGATTLink: GATTLink {
    let central: BlueZCentral
    public let devicePath: String

    public var address: String { BlueZPath(devicePath)?.deviceAddress ?? devicePath }

    public func read(_ characteristic: GATTUUID) async throws -> [UInt8] {
        if characteristic == BatterySource.levelUUID { return try await readBatteryLevel() }
        return try await central.readValue(try path(characteristic))
    }

    /// Battery Level through whichever of the characteristic and bluetoothd's Battery1 appears first (at most
    /// `batteryWait` after connection), as the one byte 0x2A19 would hold.
    private func readBatteryLevel() async throws -> [UInt8] {
        let deadline = ContinuousClock.now + Self.batteryWait
        while true {
            switch central.objects.batterySource(device: devicePath) {
            case .characteristic(let path):
                return try await central.readValue(path)
            case .percentage(let percentage):
                return [UInt8(clamping: percentage)]
            case .pending where ContinuousClock.now < deadline:
                try await Task.sleep(for: .milliseconds(50))
            case .pending, .absent:
                throw BlueZError.characteristicNotFound(device: address, uuid: BatterySource.levelUUID.description)
            }
        }
    }

    /// How long a battery read waits for bluetoothd to export the level after connection.
    static let batteryWait: Duration = .seconds(2)

    public func write(_ characteristic: GATTUUID, _ value: [UInt8], withResponse: Bool) async throws {
        try await central.writeValue(try path(characteristic), value, withResponse: withResponse)
    }

    public func notifications(_ characteristic: GATTUUID) async throws -> AsyncThrowingStream<[UInt8], any Error> {
        try await central.notifications(try path(characteristic), device: devicePath)
    }

    /// The characteristics BlueZ resolved on the device.
    public var characteristics: [BlueZCharacteristicInfo] { central.objects.characteristics(device: devicePath) }

    private func path(_ uuid: GATTUUID) throws -> String {
        guard let info = central.objects.characteristic(uuid, device: devicePath) else {
            throw BlueZError.characteristicNotFound(device: address, uuid: uuid.description)
        }
        return info.path
    }
}
