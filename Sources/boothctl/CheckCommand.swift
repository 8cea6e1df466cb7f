import ArgumentParser
import BoothAPI
import BoothCore
import BoothService
import Foundation

/// `boothctl check`: the readiness check before the doctor joins, for each role in the booth inventory.
///
/// It asks the running boothd (the session API's `readiness` command: the daemon's devices, camera probes and
/// clock estimates; the run is recorded for the usage report). When boothd is not running, or with `--local`, it
/// evaluates the configuration's inventory against what this machine shows (camera nodes, sound capture cards)
/// and says so in its output.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Readiness check: for each device the booth should have, ready / warning / missing and what to do."
    )

    @Option(help: "Configuration file (booth.inventory, booth.cuff_user_slot ...).") var config: String?
    @Option(name: .customLong("set"), help: "Override one key, e.g. --set api.port=9000.")
    var overrides: [String] = []
    @Flag(help: "Do not ask the running boothd; evaluate from the configuration and this machine only.")
    var local = false
    @Flag(help: "Machine-readable output.") var json = false

    struct Output: Encodable {
        var source: String
        var durationMicros: Int64
        /// The `readiness.report` event recording the run (when boothd answered).
        var eventId: Int64?
        var videoNodes: [String]?
        var soundCaptureCards: [String]?
        var report: ReadinessReport
    }

    static let sourceNote =
        "evaluated from the configuration and this machine only, without the running boothd: "
        + "wireless devices cannot be seen and are reported missing"

    func run() throws {
        let started = Date()
        let loaded: BoothConfig
        let inventory: BoothInventory
        do {
            loaded = try ConfigLoader.load(path: config, overrides: overrides)
            inventory = try BoothInventory(config: loaded, source: config ?? BoothConfig.defaultPath)
        } catch {
            throw ValidationError("\(error)")
        }
        var unreachable: String?
        if !local {
            let queried: (answer: DaemonReadiness.Answer, endpoint: String)?
            do {
                queried = try DaemonReadiness.query(config: loaded)
            } catch {
                queried = nil
                unreachable = "\(error)"
            }
            if let (answer, endpoint) = queried {
                // The daemon's own inventory decides what is expected.
                try emit(
                    Output(
                        source: "boothd at \(endpoint) (recorded as readiness.report event \(answer.eventId))",
                        durationMicros: answer.durationMicros,
                        eventId: answer.eventId,
                        report: answer.report
                    ),
                    inventoryIsEmpty: answer.report.results.isEmpty
                )
                return
            }
        }
        let now = Int64((started.timeIntervalSince1970 * 1_000_000).rounded())
        let videoNodes = Self.videoNodes()
        let cards = Self.soundCaptureCards()
        // Wired roles: a camera node or a capture card on this machine stands for the device (which node serves
        // which camera role needs the daemon's profile matching).
        var devices: [DeviceStatus] = []
        var freeVideo = videoNodes[...]
        var freeCards = cards[...]
        for item in inventory.items {
            switch item.role {
            case .otoscope, .dermatoscope, .oralCamera, .roomCamera:
                if let node = freeVideo.popFirst() {
                    devices.append(
                        DeviceStatus(
                            id: "v4l2:\(node)",
                            role: item.role,
                            transport: "v4l2",
                            state: .discovered,
                            lastSeenMicros: now
                        )
                    )
                }
            case .stethoscope:
                if let card = freeCards.popFirst() {
                    devices.append(
                        DeviceStatus(
                            id: "alsa:\(card)",
                            role: item.role,
                            transport: "alsa",
                            state: .discovered,
                            lastSeenMicros: now
                        )
                    )
                }
            default:
                break
            }
        }
        let report = Readiness.evaluate(
            inventory: inventory,
            devices: devices,
            nowMicros: now,
            batteryWarningPercent: loaded.booth.batteryWarningPercent,
            staleMicros: Int64(loaded.booth.staleSeconds) * 1_000_000
        )
        let duration = Int64((Date().timeIntervalSince(started) * 1_000_000).rounded())
        try emit(
            Output(
                source: unreachable.map { "\(Self.sourceNote) (\($0))" } ?? Self.sourceNote,
                durationMicros: duration,
                videoNodes: videoNodes,
                soundCaptureCards: cards,
                report: report
            ),
            inventoryIsEmpty: inventory.items.isEmpty
        )
    }

    private func emit(_ output: Output, inventoryIsEmpty: Bool) throws {
        let report = output.report
        if json {
            try printJSON(output)
        } else {
            print("Readiness (\(output.source))")
            if inventoryIsEmpty {
                print("no inventory configured: set booth.inventory (for example [\"thermometer\", \"otoscope\"])")
            }
            for result in report.results {
                let level = result.level.rawValue.uppercased().padding(toLength: 8, withPad: " ", startingAt: 0)
                print("\(level)\(Readiness.name(of: result.role)): \(result.detail)")
                if let action = result.action { print("        → \(action)") }
            }
            print("overall: \(report.overall.rawValue) (checked in \(output.durationMicros / 1000) ms)")
        }
        if report.overall == .missing { throw ExitCode(1) }
    }

    static func videoNodes() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/dev")) ?? []
        return names.filter { $0.hasPrefix("video") }.sorted().map { "/dev/\($0)" }
    }

    /// Sound cards with a capture device (`/dev/snd/pcmC<card>D<dev>c`).
    static func soundCaptureCards() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/dev/snd")) ?? []
        return names.filter { $0.hasPrefix("pcmC") && $0.hasSuffix("c") }.sorted()
    }
}
