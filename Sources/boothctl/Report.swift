import ArgumentParser
import BoothAPI
import BoothCore
import BoothMedia
import BoothService
import Foundation

/// `boothctl report`: one archive a technician sends to support — versions, the doctor's checklist, the
/// configuration keys in force, the firmware profiles and recent logs. It holds no patient data: no outbox,
/// no recordings, no snapshots, no session references, and the API token is never included.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a support archive (versions, doctor, configuration, recent logs) with no patient data."
    )

    @Option(name: .shortAndLong, help: "Archive to write (.tar.gz).") var output = "boothd-report.tar.gz"
    @Option(help: "Configuration file to include (secrets and tokens are never included).") var config: String?
    @Option(help: "Recent journal lines to include.") var logLines = 500
    @Flag(help: "Print the archive's contents list as JSON.") var json = false

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "boothd-report-\(UUID().uuidString)"
        )
        let folder = directory.appendingPathComponent("boothd-report")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        var files: [String: Data] = [:]
        files["version.txt"] = Data("boothd \(BoothVersion.string)\n\(MediaRuntime.version)\n".utf8)
        let checks =
            Doctor(configPath: config, environment: environment).run()
            + DoctorDaemonChecks.run(configPath: config, environment: environment)
        files["doctor.json"] = try jsonData(checks)
        files.merge(daemonFiles(environment: environment)) { first, _ in first }
        files["config-keys.txt"] = Data(configurationSummary(environment: environment).utf8)
        let logs = try? runProgram(
            "journalctl",
            JournalQuery(unit: "boothd.service", lines: logLines, since: nil, json: false).arguments
        )
        files["journal.txt"] =
            logs.map {
                $0.status == 0
                    ? $0.output : Data("journalctl failed: \(String(decoding: $0.error, as: UTF8.self))".utf8)
            }
            ?? Data("journalctl is not available on this machine\n".utf8)
        for (name, data) in files {
            try data.write(to: folder.appendingPathComponent(name))
        }
        let target = URL(
            fileURLWithPath: output,
            relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        )
        let tar = try runProgram("tar", ["-czf", target.path, "-C", directory.path, "boothd-report"])
        guard tar.status == 0 else {
            throw ValidationError("tar failed: \(String(decoding: tar.error, as: UTF8.self))")
        }
        if json {
            try printJSON(["archive": target.path, "files": files.keys.sorted().joined(separator: ",")])
        } else {
            print("wrote \(target.path): \(files.keys.sorted().joined(separator: ", "))")
        }
    }

    /// The running boothd's status and device list; the active session's id is left out (it may be linkable to
    /// a consultation).
    func daemonFiles(environment: [String: String]) -> [String: Data] {
        do {
            let loaded = try ConfigLoader.load(path: config, environment: environment)
            let client = try DaemonClient(config: loaded, timeout: .seconds(3))
            var status = try client.command("status", as: DaemonStatus.self)
            status.session.sessionId = nil
            struct DeviceList: Decodable { var devices: [DeviceStatus] }
            let devices = try client.command("devices.list", as: DeviceList.self).devices
            return ["status.json": try jsonData(status), "devices.json": try jsonData(devices)]
        } catch {
            return ["daemon.txt": Data("boothd was not asked: \(error)\n".utf8)]
        }
    }

    /// The configuration in force, as keys and values; the token file's content is never read.
    func configurationSummary(environment: [String: String]) -> String {
        do {
            let loaded = try ConfigLoader.load(path: config, environment: environment)
            var lines = ["configuration file: \(config ?? BoothConfig.defaultPath)"]
            lines.append(
                "api: \(loaded.api.host):\(loaded.api.port) origins=\(loaded.api.allowedOrigins.joined(separator: ","))"
            )
            lines.append("simulator: \(loaded.simulator.mode.rawValue)")
            lines.append("storage: retention \(loaded.storage.retentionHours) h")
            lines.append("profiles: \(loaded.profiles.directories.joined(separator: ", "))")
            return lines.joined(separator: "\n") + "\n"
        } catch {
            return "configuration error: \(error)\n"
        }
    }
}

func jsonData(_ value: some Encodable) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return try encoder.encode(value)
}
