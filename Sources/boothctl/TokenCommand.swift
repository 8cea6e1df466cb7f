import ArgumentParser
import BoothAPI
import BoothService
import Foundation

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Manage the session API's bearer token.",
        subcommands: [Rotate.self, Show.self]
    )

    struct Options: ParsableArguments {
        @Option(help: "Configuration file (default \(BoothConfig.defaultPath) if it exists).") var config: String?
        @Option(name: .customLong("set"), help: "Override one key, e.g. --set storage.state_directory=/tmp/x.")
        var overrides: [String] = []

        func load() throws -> BoothConfig {
            do {
                return try ConfigLoader.load(path: config, overrides: overrides)
            } catch {
                throw ValidationError("configuration error: \(error)")
            }
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a new random token; boothd uses it for new connections at once (no restart)."
        )
        @OptionGroup var options: Options

        func run() throws {
            let config = try options.load()
            let path = TokenFile.path(for: config)
            do {
                try TokenFile.rotate(path: path, group: config.api.tokenGroup)
            } catch {
                throw ValidationError("cannot rotate the token: \(error)")
            }
            // The token itself is not printed: it would end up in shell histories and logs.
            print("token rotated: \(path) (mode 0640, group \(config.api.tokenGroup))")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the kiosk page address with the token in its fragment (for setting up the kiosk)."
        )
        @OptionGroup var options: Options

        func run() throws {
            let config = try options.load()
            let path = TokenFile.path(for: config)
            guard let token = try TokenFile.read(path: path) else {
                throw ValidationError("no token at \(path) yet: start boothd or run `boothctl token rotate`")
            }
            print("http://\(config.api.host):\(config.api.port)/#token=\(token)")
        }
    }
}
