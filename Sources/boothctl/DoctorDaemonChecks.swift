import BoothAPI
import BoothCore
import BoothProfiles
import BoothService
import Foundation

/// The doctor checks that need boothctl's own modules: the firmware profiles load, and boothd answers on its
/// session API.
enum DoctorDaemonChecks {
    static func run(configPath: String?, environment: [String: String]) -> [DoctorCheck] {
        guard let config = try? ConfigLoader.load(path: configPath, environment: environment) else { return [] }
        return [profiles(config), daemon(config)] + (DoctorBluetoothPower.check(config).map { [$0] } ?? [])
    }

    static func profiles(_ config: BoothConfig) -> DoctorCheck {
        let directories = config.profiles.directories
        do {
            let set = try ProfileDirectoryLoader(directories: directories, knownDrivers: KnownDrivers.ids).load()
            if set.profiles.isEmpty {
                return DoctorCheck(
                    name: "firmware profiles",
                    verdict: .warn,
                    detail:
                        "none in \(directories.joined(separator: ", ")): only the simulator and standard GATT devices work",
                    hint: "make install copies firmware-profiles/ to /usr/share/boothd/firmware-profiles"
                )
            }
            return DoctorCheck(
                name: "firmware profiles",
                verdict: .pass,
                detail: "\(set.profiles.count) valid in \(directories.joined(separator: ", "))"
            )
        } catch {
            let problems = error.errors.prefix(3).map { "\($0)" }.joined(separator: "; ")
            return DoctorCheck(
                name: "firmware profiles",
                verdict: .fail,
                detail: "\(error.errors.count) error(s): \(problems)",
                hint: "fix the file:line above (`boothctl profiles validate` lists all); boothd refuses to start"
            )
        }
    }

    static func daemon(_ config: BoothConfig) -> DoctorCheck {
        do {
            let client = try DaemonClient(config: config, timeout: .seconds(3))
            let status = try client.command("status", as: DaemonStatus.self)
            let devices = status.devices.values.reduce(0, +)
            let detail =
                "\(client.server) answers on \(client.endpoint) (up \(Int(status.uptimeSeconds)) s, "
                + "\(devices) device\(devices == 1 ? "" : "s"), storage \(status.storage.state))"
            guard status.storage.state == "ok" else {
                return DoctorCheck(
                    name: "boothd",
                    verdict: .fail,
                    detail: detail + ": \(status.storage.reason ?? "")",
                    hint: "free disk space or check the outbox database in the state directory; `boothctl logs`"
                )
            }
            return DoctorCheck(name: "boothd", verdict: .pass, detail: detail)
        } catch {
            switch error {
            case .notRunning:
                return DoctorCheck(
                    name: "boothd",
                    verdict: .warn,
                    detail: "\(error)",
                    hint: "systemctl start boothd; `boothctl logs` shows why it stopped"
                )
            case .permissionDenied, .noToken:
                return DoctorCheck(name: "boothd", verdict: .fail, detail: "\(error)", hint: "see the message above")
            default:
                return DoctorCheck(
                    name: "boothd",
                    verdict: .fail,
                    detail: "\(error)",
                    hint: "restart boothd (systemctl restart boothd) and read `boothctl logs`"
                )
            }
        }
    }
}
