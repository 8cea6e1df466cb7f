import BoothCore
import Foundation

/// Every configuration key: its type, its bounds and where it lands in `BoothConfig`.
/// The same table serves the file, the environment (`BOOTHD_API_PORT`) and `--set api.port=…`.
struct ConfigKey: Sendable {
    enum Kind: Sendable {
        case int(ClosedRange<Int>)
        case double(ClosedRange<Double>)
        case bool
        case string
        case stringList
        case choice([String])
    }

    enum Value {
        case int(Int)
        case double(Double)
        case bool(Bool)
        case string(String)
        case strings([String])
    }

    /// Why a text is not a valid value for a key.
    struct Rejection: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    let path: String
    let kind: Kind
    let apply: @Sendable (inout BoothConfig, Value) -> Void

    /// `api.port` → `BOOTHD_API_PORT`.
    var environmentName: String {
        "BOOTHD_" + path.uppercased().replacingOccurrences(of: ".", with: "_")
    }

    /// Converts a scalar's text into a value of this key's kind, or explains why it cannot.
    func parse(scalar text: String) -> Result<Value, Rejection> {
        switch kind {
        case .int(let range):
            guard let number = Int(text.trimmingCharacters(in: .whitespaces)) else {
                return .failure(Rejection("expected an integer, got \"\(text)\""))
            }
            guard range.contains(number) else {
                return .failure(Rejection("\(number) is out of range \(range.lowerBound)...\(range.upperBound)"))
            }
            return .success(.int(number))
        case .double(let range):
            guard let number = Double(text.trimmingCharacters(in: .whitespaces)), number.isFinite else {
                return .failure(Rejection("expected a number, got \"\(text)\""))
            }
            guard range.contains(number) else {
                return .failure(Rejection("\(text) is out of range \(range.lowerBound)...\(range.upperBound)"))
            }
            return .success(.double(number))
        case .bool:
            switch text.lowercased() {
            case "true", "yes", "on", "1": return .success(.bool(true))
            case "false", "no", "off", "0": return .success(.bool(false))
            default: return .failure(Rejection("expected true or false, got \"\(text)\""))
            }
        case .string:
            return .success(.string(text))
        case .stringList:
            // From the environment or the command line a list is comma-separated.
            let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            return .success(.strings(items.filter { !$0.isEmpty }))
        case .choice(let choices):
            guard choices.contains(text) else {
                return .failure(Rejection("expected one of \(choices.joined(separator: ", ")), got \"\(text)\""))
            }
            return .success(.string(text))
        }
    }

    static let all: [ConfigKey] = [
        ConfigKey(path: "api.host", kind: .string) { config, value in
            if case .string(let text) = value { config.api.host = text }
        },
        ConfigKey(path: "api.port", kind: .int(1...65535)) { config, value in
            if case .int(let number) = value { config.api.port = number }
        },
        ConfigKey(path: "api.unix_socket", kind: .string) { config, value in
            if case .string(let text) = value { config.api.unixSocket = text }
        },
        ConfigKey(path: "api.allowed_origins", kind: .stringList) { config, value in
            if case .strings(let items) = value { config.api.allowedOrigins = items }
        },
        ConfigKey(path: "api.token_file", kind: .string) { config, value in
            if case .string(let text) = value { config.api.tokenFile = text }
        },
        ConfigKey(path: "api.serve_web", kind: .bool) { config, value in
            if case .bool(let flag) = value { config.api.serveWeb = flag }
        },
        ConfigKey(path: "api.max_frame_bytes", kind: .int(1024...16 * 1024 * 1024)) { config, value in
            if case .int(let number) = value { config.api.maxFrameBytes = number }
        },
        ConfigKey(path: "api.max_clients", kind: .int(1...1024)) { config, value in
            if case .int(let number) = value { config.api.maxClients = number }
        },
        ConfigKey(path: "api.token_group", kind: .string) { config, value in
            if case .string(let text) = value { config.api.tokenGroup = text }
        },
        ConfigKey(path: "api.web_directory", kind: .string) { config, value in
            if case .string(let text) = value { config.api.webDirectory = text }
        },
        ConfigKey(path: "api.commands_per_second", kind: .int(1...10000)) { config, value in
            if case .int(let number) = value { config.api.commandsPerSecond = number }
        },
        ConfigKey(path: "api.client_queue_bytes", kind: .int(64 * 1024...256 * 1024 * 1024)) { config, value in
            if case .int(let number) = value { config.api.clientQueueBytes = number }
        },
        ConfigKey(path: "api.client_stall_seconds", kind: .int(1...3600)) { config, value in
            if case .int(let number) = value { config.api.clientStallSeconds = Double(number) }
        },
        ConfigKey(path: "api.test_commands", kind: .bool) { config, value in
            if case .bool(let flag) = value { config.api.testCommands = flag }
        },
        ConfigKey(path: "metrics.enabled", kind: .bool) { config, value in
            if case .bool(let flag) = value { config.metrics.enabled = flag }
        },
        ConfigKey(path: "simulator.mode", kind: .choice(BoothConfig.SimulatorMode.allCases.map(\.rawValue))) {
            config,
            value in
            if case .string(let text) = value, let mode = BoothConfig.SimulatorMode(rawValue: text) {
                config.simulator.mode = mode
            }
        },
        ConfigKey(path: "simulator.interval_seconds", kind: .double(0.05...3600)) { config, value in
            if case .double(let number) = value { config.simulator.intervalSeconds = number }
        },
        ConfigKey(path: "simulator.camera", kind: .bool) { config, value in
            if case .bool(let flag) = value { config.simulator.camera = flag }
        },
        ConfigKey(path: "simulator.camera_pattern", kind: .choice(["ball", "smpte", "snow"])) { config, value in
            if case .string(let text) = value { config.simulator.cameraPattern = text }
        },
        ConfigKey(path: "simulator.stethoscope", kind: .bool) { config, value in
            if case .bool(let flag) = value { config.simulator.stethoscope = flag }
        },
        ConfigKey(path: "media.budget_kbps", kind: .int(64...100_000)) { config, value in
            if case .int(let number) = value { config.media.budgetKbps = number }
        },
        ConfigKey(path: "media.video_floor_kbps", kind: .int(0...100_000)) { config, value in
            if case .int(let number) = value { config.media.videoFloorKbps = number }
        },
        ConfigKey(path: "media.stun_server", kind: .string) { config, value in
            if case .string(let text) = value { config.media.stunServer = text }
        },
        ConfigKey(path: "media.turn_server", kind: .string) { config, value in
            if case .string(let text) = value { config.media.turnServer = text }
        },
        ConfigKey(path: "media.loopback_only", kind: .bool) { config, value in
            if case .bool(let flag) = value { config.media.loopbackOnly = flag }
        },
        ConfigKey(path: "media.camera_stall_seconds", kind: .double(0.5...600)) { config, value in
            if case .double(let number) = value { config.media.cameraStallSeconds = number }
        },
        ConfigKey(path: "media.camera_max_resets", kind: .int(0...20)) { config, value in
            if case .int(let number) = value { config.media.cameraMaxResets = number }
        },
        ConfigKey(path: "media.camera_idle_seconds", kind: .double(0...3600)) { config, value in
            if case .double(let number) = value { config.media.cameraIdleSeconds = number }
        },
        ConfigKey(path: "media.outputs", kind: .stringList) { config, value in
            if case .strings(let items) = value { config.media.outputs = items }
        },
        ConfigKey(path: "media.automatic_bandwidth", kind: .bool) { config, value in
            if case .bool(let flag) = value { config.media.automaticBandwidth = flag }
        },
        ConfigKey(path: "media.encoder", kind: .choice(H264EncoderPreference.allCases.map(\.rawValue))) {
            config,
            value in
            if case .string(let text) = value, let encoder = H264EncoderPreference(rawValue: text) {
                config.media.encoder = encoder
            }
        },
        ConfigKey(path: "storage.state_directory", kind: .string) { config, value in
            if case .string(let text) = value { config.storage.stateDirectory = text }
        },
        ConfigKey(path: "storage.retention_hours", kind: .double(0...24 * 365)) { config, value in
            if case .double(let number) = value { config.storage.retentionHours = number }
        },
        ConfigKey(path: "logging.level", kind: .choice(BoothConfig.LogLevel.allCases.map(\.rawValue))) {
            config,
            value in
            if case .string(let text) = value, let level = BoothConfig.LogLevel(rawValue: text) {
                config.logging.level = level
            }
        },
        ConfigKey(path: "logging.format", kind: .choice(BoothConfig.LogFormat.allCases.map(\.rawValue))) {
            config,
            value in
            if case .string(let text) = value, let format = BoothConfig.LogFormat(rawValue: text) {
                config.logging.format = format
            }
        },
        ConfigKey(path: "booth.inventory", kind: .stringList) { config, value in
            if case .strings(let items) = value { config.booth.inventory = items }
        },
        ConfigKey(path: "booth.cuff_user_slot", kind: .int(0...255)) { config, value in
            if case .int(let number) = value { config.booth.cuffUserSlot = number }
        },
        ConfigKey(path: "booth.battery_warning_percent", kind: .int(0...100)) { config, value in
            if case .int(let number) = value { config.booth.batteryWarningPercent = number }
        },
        ConfigKey(path: "booth.stale_seconds", kind: .int(5...86_400)) { config, value in
            if case .int(let number) = value { config.booth.staleSeconds = number }
        },
        ConfigKey(path: "profiles.directories", kind: .stringList) { config, value in
            if case .strings(let items) = value { config.profiles.directories = items }
        },
        ConfigKey(path: "ble.enabled", kind: .bool) { config, value in
            if case .bool(let flag) = value { config.ble.enabled = flag }
        },
        ConfigKey(path: "ble.adapter", kind: .string) { config, value in
            if case .string(let text) = value { config.ble.adapter = text }
        },
        ConfigKey(path: "ble.connect", kind: .choice(BoothConfig.BLE.ConnectPolicy.allCases.map(\.rawValue))) {
            config,
            value in
            if case .string(let text) = value, let policy = BoothConfig.BLE.ConnectPolicy(rawValue: text) {
                config.ble.connect = policy
            }
        },
        ConfigKey(path: "ble.minimum_rssi", kind: .int(-127...0)) { config, value in
            if case .int(let number) = value { config.ble.minimumRSSI = number }
        },
        ConfigKey(path: "ble.acquire_notify", kind: .bool) { config, value in
            if case .bool(let flag) = value { config.ble.acquireNotify = flag }
        },
        ConfigKey(path: "ble.reconnect_delay_seconds", kind: .double(0.05...60)) { config, value in
            if case .double(let number) = value { config.ble.reconnectDelaySeconds = number }
        },
        ConfigKey(path: "ble.driver_restart_max_seconds", kind: .double(0.2...60)) { config, value in
            if case .double(let number) = value { config.ble.driverRestartMaxSeconds = number }
        },
    ]

    static let byPath: [String: ConfigKey] = Dictionary(uniqueKeysWithValues: all.map { ($0.path, $0) })
}
