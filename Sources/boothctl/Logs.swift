import ArgumentParser
import Foundation

/// `boothctl logs`: recent boothd lines from the journal, for a technician on site.
struct LogsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Show boothd's recent log lines from the journal (no patient data is ever logged)."
    )

    @Option(name: [.customShort("n"), .long], help: "Number of lines.") var lines = 200
    @Option(help: "Only lines since this time (journalctl --since syntax, e.g. \"1 hour ago\").") var since: String?
    @Option(help: "systemd unit name.") var unit = "boothd.service"
    @Flag(help: "One JSON object per line (journalctl -o json).") var json = false

    func run() throws {
        let arguments = JournalQuery(unit: unit, lines: lines, since: since, json: json).arguments
        let result = try runProgram("journalctl", arguments)
        FileHandle.standardOutput.write(result.output)
        guard result.status == 0 else {
            throw ValidationError(
                "journalctl failed (status \(result.status)): \(String(decoding: result.error, as: UTF8.self))"
            )
        }
    }
}

/// The journalctl arguments for boothd's lines.
struct JournalQuery: Equatable {
    var unit: String
    var lines: Int
    var since: String?
    var json: Bool

    var arguments: [String] {
        var arguments = [
            "--unit", unit, "--lines", String(lines), "--no-pager", "--output", json ? "json" : "short-iso",
        ]
        if let since { arguments += ["--since", since] }
        return arguments
    }
}

/// Runs a program found on PATH and collects its output.
func runProgram(_ name: String, _ arguments: [String]) throws -> (status: Int32, output: Data, error: Data) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [name] + arguments
    let output = Pipe()
    let error = Pipe()
    process.standardOutput = output
    process.standardError = error
    do {
        try process.run()
    } catch {
        throw ValidationError("cannot run \(name): \(error.localizedDescription)")
    }
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, outputData, errorData)
}
