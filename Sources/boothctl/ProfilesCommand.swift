import ArgumentParser
import BoothCore
import BoothProfiles
import BoothService
import Foundation

struct ProfilesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profiles",
        abstract: "List, check and try the firmware profiles; generate the udev rules from them.",
        subcommands: [
            List.self, Validate.self, Match.self, UdevRulesCommand.self, ScanUSB.self, WatchUSB.self, Probe.self,
        ]
    )

    /// Where profiles are read from: explicit paths, else the configuration's directories.
    struct Source: ParsableArguments {
        @Option(help: "Configuration file whose profiles.directories are used.") var config: String?
        @Option(
            name: .customLong("dir"),
            help: "Profile directory or file (repeatable; later ones override earlier ones by id)."
        )
        var directories: [String] = []

        func resolvedDirectories() throws -> [String] {
            if !directories.isEmpty { return directories }
            return try configuredDirectories(config: config)
        }

        func load(checkDrivers: Bool = true) throws -> ProfileSet {
            let loader = ProfileDirectoryLoader(
                directories: try resolvedDirectories(),
                knownDrivers: checkDrivers ? KnownDrivers.ids : nil
            )
            do {
                return try loader.load()
            } catch {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                throw ExitCode(1)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the profiles in force (after overrides).")
        @OptionGroup var source: Source
        @Flag(help: "Machine-readable output.") var json = false

        func run() throws {
            let set = try source.load()
            if json {
                try printJSON(set.profiles)
                return
            }
            for profile in set.profiles {
                print(
                    "\(profile.id.padding(toLength: 30, withPad: " ", startingAt: 0)) "
                        + "\(profile.role.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)) "
                        + "\(profile.transport.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)) "
                        + "\(profile.driver.padding(toLength: 16, withPad: " ", startingAt: 0)) \(profile.name)"
                )
            }
            for override in set.overridden {
                print("note: \(override.id) from \(override.replaced) is overridden by \(override.by)")
            }
        }
    }

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check profile files or directories: schema, driver ids, traces (replayed through a link)."
        )
        @Argument(help: "Profile files or directories (default: the configured directories).") var paths: [String] = []
        @Option(help: "Configuration file whose profiles.directories are used.") var config: String?
        @Flag(help: "Machine-readable output.") var json = false

        struct Report: Encodable {
            var profile: String
            var file: String
            var trace: String?
            var traceChunks: Int?
            var traceExpectations: Int?
            var synthetic: Bool?
            var failure: String?
        }

        func run() async throws {
            let directories: [String]
            if paths.isEmpty {
                directories = try configuredDirectories(config: config)
            } else {
                directories = paths
            }
            let loader = ProfileDirectoryLoader(directories: directories, knownDrivers: KnownDrivers.ids)
            let set: ProfileSet
            do {
                set = try loader.load()
            } catch {
                for problem in error.errors { FileHandle.standardError.write(Data("error: \(problem)\n".utf8)) }
                if !json { print("\(error.errors.count) error(s)") }
                throw ExitCode(1)
            }
            var reports: [Report] = []
            var failures: [String] = []
            for profile in set.profiles {
                var report = Report(profile: profile.id, file: profile.origin.file)
                if let path = ProfileDirectoryLoader.tracePath(of: profile) {
                    report.trace = path
                    do {
                        let trace = try ProfileDirectoryLoader.loadTrace(path)
                        let replay = try await TraceReplay.run(trace, for: profile)
                        report.traceChunks = replay.deviceChunks
                        report.traceExpectations = replay.expectationsChecked
                        report.synthetic = trace.isSynthetic
                    } catch {
                        report.failure = "\(path): \(error)"
                        failures.append("\(path): \(error)")
                    }
                }
                reports.append(report)
            }
            if json {
                try printJSON(reports)
            } else {
                for report in reports {
                    var line = "\(report.failure == nil ? "OK  " : "FAIL") \(report.profile) (\(report.file))"
                    if let chunks = report.traceChunks {
                        line +=
                            " — trace replayed: \(chunks) device chunks, \(report.traceExpectations ?? 0) readings as expected"
                        if report.synthetic == true { line += " (synthetic)" }
                    }
                    print(line)
                }
                print("\(reports.count - failures.count) of \(reports.count) profile(s) valid")
            }
            for failure in failures { FileHandle.standardError.write(Data("error: \(failure)\n".utf8)) }
            if !failures.isEmpty { throw ExitCode(1) }
        }
    }

    struct Match: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show which profile claims a device.",
            discussion: """
                Examples:
                  boothctl profiles match usb 10c4:ea60
                  boothctl profiles match ble name=A\\&D_UA-651BLE_8DA42A service=1810
                  boothctl profiles match ble service=1810 mfr=020e:01
                  boothctl profiles match v4l2 card="Dino-Lite Edge" driver=uvcvideo usb=a168:0981
                  boothctl profiles match alsa card="Digital Stethoscope" id=Steth
                """
        )
        @OptionGroup var source: Source
        @Flag(help: "Machine-readable output.") var json = false
        @Argument(parsing: .captureForPassthrough, help: "Device description (see examples).") var description: [String]

        struct Result: Encodable {
            var device: String
            var claimedBy: String?
            var ambiguous: Bool
            var candidates: [Candidate]
        }

        struct Candidate: Encodable {
            var profile: String
            var score: Int
            var rule: Int
            var driver: String
            var role: String
        }

        func run() throws {
            let device: DeviceDescription
            do {
                device = try DeviceDescription.parse(description)
            } catch {
                throw ValidationError("\(error)")
            }
            let set = try source.load()
            let matches = set.matches(device)
            let best = set.bestMatch(device)
            let result = Result(
                device: device.description,
                claimedBy: best?.profile.id,
                ambiguous: best == nil && !matches.isEmpty,
                candidates: matches.map {
                    Candidate(
                        profile: $0.profile.id,
                        score: $0.score,
                        rule: $0.ruleIndex,
                        driver: $0.profile.driver,
                        role: $0.profile.role.rawValue
                    )
                }
            )
            if json {
                try printJSON(result)
            } else {
                print("device: \(result.device)")
                if let best {
                    print("claimed by: \(best.profile.id) — \(best.profile.name) (driver \(best.profile.driver))")
                } else if result.ambiguous {
                    print("ambiguous: two profiles match equally well; boothd claims neither")
                } else {
                    print("no profile matches")
                }
                for candidate in result.candidates {
                    print("  \(candidate.score)\t\(candidate.profile) (rule \(candidate.rule))")
                }
            }
            if best == nil { throw ExitCode(1) }
        }
    }

    struct UdevRulesCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "udev-rules",
            abstract: "Print the udev rules generated from the profiles (udev/70-boothd.rules)."
        )
        @OptionGroup var source: Source

        func run() throws {
            print(UdevRules.generate(try source.load()), terminator: "")
        }
    }
}

/// The configuration's `profiles.directories` (shipped, then site overrides).
func configuredDirectories(config: String?) throws -> [String] {
    do {
        return try ConfigLoader.load(path: config).profiles.directories
    } catch {
        throw ValidationError("\(error)")
    }
}
