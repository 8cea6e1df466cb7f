import ArgumentParser
import BoothAPI
import BoothCore
import BoothService
import Foundation
import Logging
import Synchronization

/// Options of the commands that talk to the running boothd.
struct DaemonOptions: ParsableArguments {
    @Option(help: "Configuration file (default \(BoothConfig.defaultPath) if it exists).") var config: String?
    @Option(name: .customLong("set"), help: "Override one key, e.g. --set api.port=8788.")
    var overrides: [String] = []
    @Flag(help: "Machine-readable output.") var json = false

    func load() throws -> BoothConfig {
        do {
            return try ConfigLoader.load(path: config, overrides: overrides)
        } catch {
            throw ValidationError("configuration error: \(error)")
        }
    }
}

/// Prints the client error on one line and exits 1; a stopped daemon gets `hint` (e.g. try --simulate).
func failure(_ error: DaemonClientError, hint: String? = nil) -> ExitCode {
    var text = "boothctl: \(error)\n"
    if case .notRunning = error, let hint { text += "  → \(hint)\n" }
    FileHandle.standardError.write(Data(text.utf8))
    return ExitCode(error.isNotRunning ? 3 : 1)
}

extension DaemonClientError {
    var isNotRunning: Bool {
        if case .notRunning = self { return true }
        return false
    }
}

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "boothd at a glance: version, uptime, session, storage and undelivered events, devices, clients."
    )
    @OptionGroup var options: DaemonOptions

    func run() throws {
        let config = try options.load()
        do {
            let client = try DaemonClient(config: config)
            let status = try client.command("status", as: DaemonStatus.self)
            if options.json {
                try printJSON(status)
            } else {
                let lines = TechnicianViews.status(
                    status,
                    endpoint: client.endpoint.description,
                    nowMicros: Outbox.currentMicros()
                )
                print(lines.joined(separator: "\n"))
            }
        } catch let error as DaemonClientError {
            throw failure(error, hint: "start it with `systemctl start boothd`")
        }
    }
}

struct DevicesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "The devices boothd knows: role, model, transport, address, state, battery, firmware, last seen."
    )
    @OptionGroup var options: DaemonOptions
    @Flag(help: "Do not ask boothd: run the built-in simulator's devices in this process and list them.")
    var simulate = false

    func run() async throws {
        let config = try options.load()
        let devices: [DeviceStatus]
        if simulate {
            devices = await InProcessSimulator(config: config).devicesWhenReady(timeout: .seconds(10))
        } else {
            do {
                let client = try DaemonClient(config: config)
                struct Answer: Decodable { var devices: [DeviceStatus] }
                devices = try client.command("devices.list", as: Answer.self).devices
            } catch {
                throw failure(error, hint: "`boothctl devices --simulate` runs the simulator's devices without boothd")
            }
        }
        if options.json {
            try printJSON(devices)
        } else {
            print(TechnicianViews.devices(devices, nowMicros: Outbox.currentMicros()).joined(separator: "\n"))
        }
    }
}

struct MeasureCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "measure",
        abstract: "Print a device's readings live as they arrive (starts a measurement where the device can).",
        discussion: """
            DEVICE is a device id (`boothctl devices --json`) or a role (oximeter, bp, thermometer ...).
            Readings go to boothd's outbox as usual; this command only watches. With --json, one JSON object
            (the measurement model) per line.
            """
    )
    @OptionGroup var options: DaemonOptions
    @Argument(help: "Device id or role.") var device: String
    @Option(help: "Stop after this many readings.") var count: Int?
    @Option(help: "Stop after this many seconds (with --count: fail if fewer readings came).") var timeout: Double?
    @Flag(help: "Do not ask boothd: run the built-in simulator in this process and read its device.")
    var simulate = false

    func validate() throws {
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        if let timeout, timeout <= 0 { throw ValidationError("--timeout must be positive") }
    }

    func run() async throws {
        let config = try options.load()
        let deadline = timeout.map { ContinuousClock.now + .milliseconds(Int64($0 * 1000)) }
        var received = 0
        let emit: (BoothCore.Measurement) throws -> Bool = { measurement in
            // Written straight to the descriptor: a pipe reader sees each reading as it arrives.
            if options.json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                FileHandle.standardOutput.write(try encoder.encode(measurement) + Data("\n".utf8))
            } else {
                FileHandle.standardOutput.write(Data((TechnicianViews.reading(measurement) + "\n").utf8))
            }
            received += 1
            return count.map { received >= $0 } ?? false
        }
        if simulate {
            try await InProcessSimulator(config: config).measure(device, deadline: deadline, emit: emit)
        } else {
            do {
                try watch(config: config, deadline: deadline, emit: emit)
            } catch let error as DaemonClientError {
                throw failure(error, hint: "`boothctl measure --simulate \(device)` reads the simulator without boothd")
            }
        }
        if let count, received < count {
            FileHandle.standardError.write(
                Data("boothctl: timed out: \(received) of \(count) readings from \(device)\n".utf8)
            )
            throw ExitCode(1)
        }
    }

    private struct DeviceList: Decodable { var devices: [DeviceStatus] }
    private struct MeasurementEvent: Decodable { var measurement: BoothCore.Measurement }

    private func watch(
        config: BoothConfig,
        deadline: ContinuousClock.Instant?,
        emit: (BoothCore.Measurement) throws -> Bool
    ) throws {
        // First connection: find the device and the newest event id; the second follows events after it.
        let probe = try DaemonClient(config: config)
        let known = try probe.command("devices.list", as: DeviceList.self).devices
        let target = try resolve(device, in: known)
        let client = try DaemonClient(config: config, resumeAfter: probe.lastEventID)
        let started = Result { () throws(DaemonClientError) -> IgnoredAnswer in
            try client.command("measurement.start", params: ["deviceId": target.id], as: IgnoredAnswer.self)
        }
        switch started {
        case .success: note("measurement started on \(target.id)")
        case .failure(.commandFailed(let code, let message))
        where ["not_available", "not_supported", "unknown_command"].contains(code):
            // Devices that measure on their own (and a boothd with no device commands wired) just send readings.
            note("\(target.id) measures on its own (\(code): \(message))")
        case .failure(let error): throw error
        }
        note("waiting for readings from \(target.id) (\(target.role.rawValue)); Ctrl-C stops")
        while true {
            let limit = deadline ?? ContinuousClock.now + .seconds(3600)
            guard let push = try client.nextPush(until: limit) else {
                if deadline != nil { return }
                continue
            }
            guard case .event(_, "measurement", let data) = push,
                let event = try? JSONDecoder().decode(MeasurementEvent.self, from: Data(data.utf8)),
                event.measurement.device.id == target.id
            else { continue }
            if try emit(event.measurement) { return }
        }
    }

    private func note(_ text: String) {
        FileHandle.standardError.write(Data("\(text)\n".utf8))
    }
}

/// A command answer whose content is not used.
struct IgnoredAnswer: Decodable {
    init(from decoder: any Decoder) throws {}
}

/// The device `name` designates: an id, or a role that exactly one device fills.
func resolve(_ name: String, in devices: [DeviceStatus]) throws -> DeviceStatus {
    if let device = devices.first(where: { $0.id == name }) { return device }
    let byRole = devices.filter { $0.role.rawValue == name }
    if byRole.count == 1, let device = byRole.first { return device }
    let known = devices.map(\.id).joined(separator: ", ")
    if byRole.count > 1 {
        throw ValidationError("several \(name) devices: name one of \(byRole.map(\.id).joined(separator: ", "))")
    }
    throw ValidationError("no device \"\(name)\" (known: \(known.isEmpty ? "none" : known))")
}

struct ForgetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget",
        abstract: "Make boothd forget a device (unpair it and drop it from the device list)."
    )
    @OptionGroup var options: DaemonOptions
    @Argument(help: "Device id or role.") var device: String

    func run() throws {
        let config = try options.load()
        do {
            let client = try DaemonClient(config: config)
            struct DeviceList: Decodable { var devices: [DeviceStatus] }
            let target = try resolve(device, in: try client.command("devices.list", as: DeviceList.self).devices)
            _ = try client.command("device.forget", params: ["deviceId": target.id], as: IgnoredAnswer.self)
            if options.json {
                try printJSON(["deviceId": target.id, "forgotten": "true"])
            } else {
                print("forgot \(target.id) (\(target.role.rawValue))")
            }
        } catch let error as DaemonClientError {
            throw failure(error)
        }
    }
}

struct UsageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage",
        abstract: "Usage of each device and role by day: sessions used, readings, retakes, failures, connections.",
        discussion: """
            Asks boothd; when it is stopped, reads the statistics file in the state directory directly.
            Days are the booth's local days. No patient or session identifier appears in the output.
            """
    )
    enum Format: String, ExpressibleByArgument, CaseIterable { case table, csv, json }

    @OptionGroup var options: DaemonOptions
    @Option(help: "First day, YYYY-MM-DD (default: today).") var since: String?
    @Option(help: "Last day, YYYY-MM-DD (default: today).") var until: String?
    @Option(help: "table, csv or json.") var format: Format = .table

    func run() throws {
        let config = try options.load()
        var params: [String: String] = [:]
        if let since { params["since"] = since }
        if let until { params["until"] = until }
        let report: UsageReport
        do {
            let client = try DaemonClient(config: config)
            report = try client.command("usage", params: params, as: UsageReport.self)
        } catch  where error.isNotRunning {
            report = try offline(config: config)
        } catch {
            throw failure(error)
        }
        switch options.json ? .json : format {
        case .json: try printJSON(report)
        case .csv: print(TechnicianViews.usageCSV(report), terminator: "")
        case .table: print(TechnicianViews.usageTable(report).joined(separator: "\n"))
        }
    }

    /// boothd is stopped: read `usage.sqlite` directly.
    private func offline(config: BoothConfig) throws -> UsageReport {
        let directory = config.storage.stateDirectory
        let path = (directory as NSString).appendingPathComponent(UsageStatistics.fileName)
        guard FileManager.default.fileExists(atPath: path) else {
            throw ValidationError("boothd is not running and there are no usage statistics at \(path)")
        }
        FileHandle.standardError.write(Data("boothd is not running: reading \(path)\n".utf8))
        let statistics = UsageStatistics.open(directory: directory, logger: Logger(label: "boothctl.usage"))
        let today = statistics.day(ofMicros: Outbox.currentMicros())
        do {
            return try statistics.report(since: since ?? until ?? today, until: until ?? today)
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

/// The embedded simulator run inside boothctl (like fwupdtool runs plugins without the daemon): the same
/// devices, drivers and supervisor boothd runs, with readings kept in memory only.
struct InProcessSimulator {
    let config: BoothConfig

    private var interval: Duration {
        .milliseconds(Int64(max(0.1, min(config.simulator.intervalSeconds, 2)) * 1000))
    }

    /// Collects readings instead of storing them.
    private final class Collector: MeasurementSink {
        let continuation: AsyncStream<BoothCore.Measurement>.Continuation
        init(_ continuation: AsyncStream<BoothCore.Measurement>.Continuation) { self.continuation = continuation }
        func record(_ measurement: BoothCore.Measurement) async throws { continuation.yield(measurement) }
    }

    private func start(
        registry: DeviceRegistry
    ) -> (Task<Void, any Error>, AsyncStream<BoothCore.Measurement>) {
        let (stream, continuation) = AsyncStream.makeStream(of: BoothCore.Measurement.self)
        let supervisor = DeviceSupervisor(
            devices: Simulator.devices(interval: interval),
            sink: Collector(continuation),
            registry: registry,
            logger: Logger(label: "boothctl.simulator") { _ in SwiftLogNoOpLogHandler() }
        )
        return (Task { try await supervisor.run() }, stream)
    }

    /// The simulator's devices once each is ready (or when `timeout` passes).
    func devicesWhenReady(timeout: Duration) async -> [DeviceStatus] {
        let registry = DeviceRegistry()
        let (task, _) = start(registry: registry)
        defer { task.cancel() }
        let deadline = ContinuousClock.now + timeout
        let expected = Simulator.devices(interval: interval).count
        while ContinuousClock.now < deadline {
            let devices = await registry.snapshot()
            if devices.count == expected, devices.allSatisfy({ $0.state == .ready }) { return devices }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return await registry.snapshot()
    }

    func measure(
        _ name: String,
        deadline: ContinuousClock.Instant?,
        emit: (BoothCore.Measurement) throws -> Bool
    ) async throws {
        let ids = Simulator.devices(interval: interval).map { ($0.identity.id, $0.role) }
        let known = ids.map {
            DeviceStatus(id: $0.0, role: $0.1, transport: "simulated", state: .discovered, lastSeenMicros: 0)
        }
        let target = try resolve(name, in: known)
        let registry = DeviceRegistry()
        let (task, readings) = start(registry: registry)
        defer { task.cancel() }
        FileHandle.standardError.write(
            Data("boothd not asked: simulating \(target.id) in this process; Ctrl-C stops\n".utf8)
        )
        let timer = deadline.map { deadline in
            Task {
                try? await Task.sleep(until: deadline)
                task.cancel()
            }
        }
        defer { timer?.cancel() }
        for await measurement in readings where measurement.device.id == target.id {
            if try emit(measurement) { return }
            if let deadline, ContinuousClock.now >= deadline { return }
        }
    }
}
