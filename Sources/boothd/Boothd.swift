import ArgumentParser
import BoothAPI
import BoothCore
import BoothService
import Foundation
import Logging
import ServiceLifecycle

@main
struct Boothd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "boothd",
        abstract: "Device daemon of the teleconsultation booth and the nurse case.",
        discussion: """
            Configuration comes from, in increasing precedence: built-in defaults, the YAML file
            (\(BoothConfig.defaultPath), or --config), BOOTHD_* environment variables, and --set key=value.
            With no file and no devices, boothd runs its built-in simulator on 127.0.0.1.
            """,
        version: BoothVersion.string
    )

    @Option(name: .long, help: "Configuration file (YAML). Default: \(BoothConfig.defaultPath) if it exists.")
    var config: String?

    @Option(name: .customLong("set"), help: "Override one key, e.g. --set api.port=9000 (repeatable).")
    var overrides: [String] = []

    @Flag(name: .long, help: "Print every configuration key with its environment variable, then exit.")
    var listKeys = false

    @Flag(name: .long, help: "Check the configuration and exit (0 when valid).")
    var checkConfig = false

    func run() async throws {
        if listKeys {
            for key in ConfigLoader.keyTable { print("\(key.path)\t\(key.environment)") }
            return
        }
        let environment = ProcessInfo.processInfo.environment
        let loaded: BoothConfig
        do {
            loaded = try ConfigLoader.load(
                path: config ?? environment["BOOTHD_CONFIG"],
                environment: environment,
                overrides: overrides
            )
        } catch {
            FileHandle.standardError.write(Data("boothd: configuration error: \(error)\n".utf8))
            throw ExitCode(78)  // EX_CONFIG: systemd will not restart-loop on it (RestartPreventExitStatus).
        }
        if checkConfig {
            print("configuration OK")
            return
        }
        try await Daemon(config: loaded, environment: environment).run()
    }
}
