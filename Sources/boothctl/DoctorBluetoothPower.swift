import BoothBlueZ
import BoothService
import Dispatch
import Synchronization

/// The doctor's view of the Bluetooth adapter through bluetoothd: present and powered on. (sysfs and rfkill tell
/// whether an adapter exists and is blocked; only bluetoothd knows whether it is powered.) Skipped on machines
/// without an adapter and when BLE is disabled.
enum DoctorBluetoothPower {
    static func check(_ config: BoothConfig) -> DoctorCheck? {
        guard config.ble.enabled, !DeviceTransports.probe().bluetoothAdapters.isEmpty else { return nil }
        let result = Mutex<DoctorCheck?>(nil)
        let done = DispatchSemaphore(value: 0)
        let wanted = config.ble.adapter
        Task {
            let check = await evaluate(wanted)
            result.withLock { $0 = check }
            done.signal()
        }
        guard done.wait(timeout: .now() + 8) == .success, let check = result.withLock({ $0 }) else {
            return DoctorCheck(
                name: "bluetooth power",
                verdict: .warn,
                detail: "bluetoothd did not answer within 8 s",
                hint: "systemctl status bluetooth"
            )
        }
        return check
    }

    static func evaluate(_ wanted: String) async -> DoctorCheck {
        let central: BlueZCentral
        do {
            central = try await BlueZCentral.connect()
        } catch {
            return DoctorCheck(name: "bluetooth power", verdict: .fail, detail: "\(error)")
        }
        defer { central.close() }
        do {
            let adapter = try await central.adapter(preferred: wanted.isEmpty ? nil : wanted, powerOn: false)
            return DoctorCheck(name: "bluetooth power", verdict: .pass, detail: "\(adapter.name) powered on")
        } catch {
            let known = central.objects.adapters().map(\.name).sorted().joined(separator: ", ")
            let hint: String
            switch error {
            case BlueZError.adapterOff(let name):
                hint =
                    "bluetoothctl power on (or `busctl set-property org.bluez /org/bluez/\(name) "
                    + "org.bluez.Adapter1 Powered b true`); boothd powers it on when bluetoothd restarts"
            case BlueZError.adapterAbsent:
                hint = known.isEmpty ? "plug the Bluetooth adapter" : "set ble.adapter to one of: \(known)"
            case BlueZError.adapterBlocked: hint = "rfkill unblock bluetooth"
            default: hint = "systemctl restart bluetooth"
            }
            return DoctorCheck(
                name: "bluetooth power",
                verdict: .fail,
                detail: "\(error): BLE devices cannot be reached",
                hint: hint
            )
        }
    }
}
