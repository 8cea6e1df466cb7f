import BoothCore
import BoothService
import Testing

/// A transport problem (Bluetooth adapter off or removed) shown on every device of that transport, and lifted.
@Suite struct DeviceRegistryProblemTests {
    static func status(_ id: String, _ state: DeviceState, transport: String = "ble") -> DeviceStatus {
        DeviceStatus(id: id, role: .oximeter, transport: transport, state: state, lastSeenMicros: 1)
    }

    @Test func adapterOffShowsOnEveryBLEDeviceUntilItIsBack() async {
        let registry = DeviceRegistry()
        await registry.update(Self.status("ble:A", .gone))
        await registry.update(Self.status("ble:B", .connecting))
        await registry.update(Self.status("sim:oximeter", .ready, transport: "simulated"))
        let changes = await registry.changes()
        await registry.setProblem("Bluetooth adapter hci1 is powered off", transport: "ble")
        let off = await registry.snapshot().map { "\($0.id)=\($0.state)" }
        #expect(
            off == [
                "ble:A=error(reason: \"Bluetooth adapter hci1 is powered off\")",
                "ble:B=error(reason: \"Bluetooth adapter hci1 is powered off\")", "sim:oximeter=ready",
            ]
        )
        // The supervisor keeps reporting while the adapter is off: still the problem, not `gone`.
        await registry.update(Self.status("ble:A", .connecting))
        #expect(await registry.status(id: "ble:A")?.state == .error(reason: "Bluetooth adapter hci1 is powered off"))
        // A device that reads again shows its own state.
        await registry.update(Self.status("ble:B", .ready))
        #expect(await registry.status(id: "ble:B")?.state == .ready)
        await registry.setProblem(nil, transport: "ble")
        #expect(await registry.status(id: "ble:A")?.state == .connecting)
        // Every visible change was broadcast: A and B off, A again (connecting under the problem: no change), B
        // ready, A connecting.
        var seen: [String] = []
        for await change in changes {
            if case .updated(let status) = change { seen.append("\(status.id):\(status.state.name)") }
            if seen.count == 4 { break }
        }
        #expect(seen == ["ble:A:error", "ble:B:error", "ble:B:ready", "ble:A:connecting"])
    }
}
