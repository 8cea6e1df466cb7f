import ArgumentParser
import BoothCore
import BoothMedia
import BoothService
import Foundation

@main
struct Boothctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "boothctl",
        abstract: "Diagnose and operate the booth's devices (for technicians).",
        discussion: """
            Every command takes --json for scripts.
            Planned, not yet in this build: camera.
            """,
        version: BoothVersion.string,
        subcommands: [
            Version.self,
            DoctorCommand.self,
            DecodeCommand.self,
            ProfilesCommand.self,
            ECGCommand.self,
            StethoscopeCommand.self,
            CameraCommand.self,
            TokenCommand.self,
            ScanCommand.self,
            PairCommand.self,
            GATTCommand.self,
            LogsCommand.self,
            ReportCommand.self,
            CheckCommand.self,
            StatusCommand.self,
            DevicesCommand.self,
            MeasureCommand.self,
            ForgetCommand.self,
            UsageCommand.self,
        ]
    )
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print boothd's version and its libraries'.")

    @Flag(help: "Machine-readable output.") var json = false

    func run() throws {
        let info = ["boothd": BoothVersion.string, "gstreamer": MediaRuntime.version]
        if json {
            try printJSON(info)
        } else {
            print("boothctl \(BoothVersion.string)")
            print(MediaRuntime.version)
        }
    }
}

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check this machine for what boothd needs; each check says PASS, WARN or FAIL and how to fix it."
    )

    @Option(help: "Configuration file to validate.") var config: String?
    @Flag(help: "Machine-readable output.") var json = false
    @Option(help: .hidden) var sysroot = "/"

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let checks =
            Doctor(root: sysroot, configPath: config, environment: environment).run()
            + DoctorDaemonChecks.run(configPath: config, environment: environment)
        if json {
            try printJSON(checks)
        } else {
            for check in checks {
                print(
                    "\(check.verdict.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0))"
                        + "\(check.name): \(check.detail)"
                )
                if let hint = check.hint, check.verdict != .pass { print("     → \(hint)") }
            }
        }
        if checks.contains(where: { $0.verdict == .fail }) { throw ExitCode(1) }
    }
}

func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
