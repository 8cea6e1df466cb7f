import BoothCore
import Foundation

/// One role the booth is equipped for, and the model expected to serve it.
public struct InventoryItem: Sendable, Hashable, Codable {
    public var role: DeviceRole
    public var model: String?

    public init(role: DeviceRole, model: String? = nil) {
        self.role = role
        self.model = model
    }
}

/// The booth inventory from `booth.*` configuration keys.
public struct BoothInventory: Sendable, Hashable, Codable {
    public var items: [InventoryItem]
    /// The multi-user cuff slot that belongs to the booth; nil when the cuff is used as single-user.
    public var cuffUserSlot: Int?

    public init(items: [InventoryItem], cuffUserSlot: Int? = nil) {
        self.items = items
        self.cuffUserSlot = cuffUserSlot
    }

    /// Parses `booth.inventory` entries (`thermometer` or `thermometer=Jumper JPD-FR400`).
    public init(config: BoothConfig, source: String = "configuration") throws(ConfigError) {
        var items: [InventoryItem] = []
        for entry in config.booth.inventory {
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            let roleName = parts.first ?? ""
            guard let role = DeviceRole(rawValue: roleName), role != .other else {
                let known = DeviceRole.allCases.filter { $0 != .other }.map(\.rawValue).joined(separator: ", ")
                throw ConfigError(
                    source: source,
                    key: "booth.inventory",
                    reason: "unknown role \"\(roleName)\" (known: \(known))"
                )
            }
            guard !items.contains(where: { $0.role == role }) else {
                throw ConfigError(source: source, key: "booth.inventory", reason: "role \(role.rawValue) listed twice")
            }
            let model = parts.count == 2 && !parts[1].isEmpty ? parts[1] : nil
            items.append(InventoryItem(role: role, model: model))
        }
        self.init(items: items, cuffUserSlot: config.booth.cuffUserSlot == 0 ? nil : config.booth.cuffUserSlot)
    }
}

/// Ready, warning (usable, but act soon) or missing (cannot be used now).
public enum ReadinessLevel: String, Sendable, Hashable, Codable, Comparable {
    case ready, warning, missing

    private var rank: Int {
        switch self {
        case .ready: 0
        case .warning: 1
        case .missing: 2
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }
}

/// The check of one inventoried role, with what the pharmacist or nurse should do.
public struct ReadinessResult: Sendable, Hashable, Codable {
    public var role: DeviceRole
    public var expectedModel: String?
    public var deviceID: String?
    public var level: ReadinessLevel
    /// What was found, e.g. `battery 12 %`.
    public var detail: String
    /// What to do, in plain words; nil when ready.
    public var action: String?
    /// What was measured on the device chosen for the role (nil when not known or no device was found).
    public var deviceState: String?
    public var batteryPercent: Int?
    /// Whether the camera delivered a picture when probed (cameras only).
    public var framesDelivered: Bool?
    /// Whether the stethoscope had signal when probed.
    public var stethoscopeSignal: Bool?
    /// Device clock minus boothd's clock at the last connection, and whether it is trusted.
    public var clockOffsetMicros: Int64?
    public var clockTrust: ClockTrust?

    public init(
        role: DeviceRole,
        expectedModel: String?,
        deviceID: String?,
        level: ReadinessLevel,
        detail: String,
        action: String?
    ) {
        self.role = role
        self.expectedModel = expectedModel
        self.deviceID = deviceID
        self.level = level
        self.detail = detail
        self.action = action
    }
}

public struct ReadinessReport: Sendable, Hashable, Codable {
    public var evaluatedAtMicros: Int64
    /// The worst level of all results (ready when the inventory is empty).
    public var overall: ReadinessLevel
    public var results: [ReadinessResult]

    public init(evaluatedAtMicros: Int64, results: [ReadinessResult]) {
        self.evaluatedAtMicros = evaluatedAtMicros
        self.results = results
        self.overall = results.map(\.level).max() ?? .ready
    }
}

/// What the probes observed beyond the registry: whether a camera delivers frames, whether a stethoscope has
/// signal, and each device's clock estimate from its last connection. Absent entries mean "not probed".
public struct ReadinessObservations: Sendable, Hashable {
    public var framesDelivered: [String: Bool]
    public var stethoscopeSignal: [String: Bool]
    public var clocks: [String: ClockEstimate]

    public init(
        framesDelivered: [String: Bool] = [:],
        stethoscopeSignal: [String: Bool] = [:],
        clocks: [String: ClockEstimate] = [:]
    ) {
        self.framesDelivered = framesDelivered
        self.stethoscopeSignal = stethoscopeSignal
        self.clocks = clocks
    }
}

/// The readiness check before the doctor joins (issue 11).
public enum Readiness {
    /// The plain-language name of a role, as a pharmacist would say it.
    public static func name(of role: DeviceRole) -> String {
        switch role {
        case .oximeter: "oximeter"
        case .bp: "blood pressure cuff"
        case .thermometer: "thermometer"
        case .glucometer: "glucose meter"
        case .scale: "scale"
        case .otoscope: "otoscope"
        case .dermatoscope: "dermatoscope"
        case .oralCamera: "oral camera"
        case .stethoscope: "stethoscope"
        case .ecg: "ECG"
        case .roomCamera: "room camera"
        case .other: "device"
        }
    }

    /// Whether the role's devices are plugged in (USB cameras, stethoscopes) rather than wireless.
    static func isWired(_ role: DeviceRole) -> Bool {
        switch role {
        case .otoscope, .dermatoscope, .oralCamera, .stethoscope, .roomCamera: true
        default: false
        }
    }

    static func isCamera(_ role: DeviceRole) -> Bool {
        switch role {
        case .otoscope, .dermatoscope, .oralCamera, .roomCamera: true
        default: false
        }
    }

    /// Evaluates every inventoried role against a device snapshot. Pure: same inputs, same report.
    public static func evaluate(
        inventory: BoothInventory,
        devices: [DeviceStatus],
        observations: ReadinessObservations = ReadinessObservations(),
        nowMicros: Int64,
        batteryWarningPercent: Int = 20,
        staleMicros: Int64 = 300_000_000,
        clockThresholdMicros: Int64 = DeviceClock.defaultThresholdMicros
    ) -> ReadinessReport {
        let results = inventory.items.map { item in
            evaluate(
                item,
                devices: devices.filter { $0.role == item.role },
                observations: observations,
                nowMicros: nowMicros,
                batteryWarningPercent: batteryWarningPercent,
                staleMicros: staleMicros,
                clockThresholdMicros: clockThresholdMicros
            )
        }
        return ReadinessReport(evaluatedAtMicros: nowMicros, results: results)
    }

    /// Reads the registry snapshot and evaluates it.
    public static func evaluate(
        inventory: BoothInventory,
        registry: DeviceRegistry,
        observations: ReadinessObservations = ReadinessObservations(),
        nowMicros: Int64,
        config: BoothConfig = BoothConfig()
    ) async -> ReadinessReport {
        evaluate(
            inventory: inventory,
            devices: await registry.snapshot(),
            observations: observations,
            nowMicros: nowMicros,
            batteryWarningPercent: config.booth.batteryWarningPercent,
            staleMicros: Int64(config.booth.staleSeconds) * 1_000_000
        )
    }

    // swift-format-ignore: FunctionLength
    private static func evaluate(
        _ item: InventoryItem,
        devices: [DeviceStatus],
        observations: ReadinessObservations,
        nowMicros: Int64,
        batteryWarningPercent: Int,
        staleMicros: Int64,
        clockThresholdMicros: Int64
    ) -> ReadinessResult {
        let name = name(of: item.role)
        func result(
            _ device: DeviceStatus?,
            _ level: ReadinessLevel,
            _ detail: String,
            _ action: String?
        )
            -> ReadinessResult
        {
            var result = ReadinessResult(
                role: item.role,
                expectedModel: item.model,
                deviceID: device?.id,
                level: level,
                detail: detail,
                action: action
            )
            if let device {
                result.deviceState = device.state.name
                result.batteryPercent = device.batteryPercent
                result.framesDelivered = isCamera(item.role) ? observations.framesDelivered[device.id] : nil
                result.stethoscopeSignal = observations.stethoscopeSignal[device.id]
                result.clockOffsetMicros = observations.clocks[device.id]?.offsetMicros
                result.clockTrust = observations.clocks[device.id]?.trust
            }
            return result
        }
        let present = devices.filter { $0.state != .gone }
        let matching = present.filter { device in
            guard let model = item.model else { return true }
            return device.model?.lowercased().contains(model.lowercased()) ?? false
        }
        // The best candidate: a connected device of the expected model first.
        let candidates = (matching.isEmpty ? present : matching).sorted { score($0) > score($1) }
        guard let device = candidates.first else {
            let action =
                isWired(item.role)
                ? "plug the \(name) into the booth"
                : "switch on the \(name) and bring it near the booth (check its batteries)"
            return result(nil, .missing, "no \(name) found", action)
        }
        if case .error(let reason) = device.state {
            return result(
                device,
                .missing,
                "the \(name) reports a problem: \(reason)",
                "switch the \(name) off and on again"
            )
        }
        let silentMicros = nowMicros - device.lastSeenMicros
        if silentMicros > staleMicros {
            let minutes = silentMicros / 60_000_000
            return result(
                device,
                .missing,
                "the \(name) has not been seen for \(minutes) min",
                isWired(item.role) ? "unplug the \(name) and plug it back in" : "switch on the \(name)"
            )
        }
        if isCamera(item.role), observations.framesDelivered[device.id] == false {
            return result(
                device,
                .missing,
                "the \(name) sends no picture",
                "unplug the \(name) and plug it back in; remove the lens cap"
            )
        }
        if item.role == .stethoscope, observations.stethoscopeSignal[device.id] == false {
            return result(
                device,
                .warning,
                "no sound from the stethoscope",
                "check the stethoscope is switched on and its volume is up"
            )
        }
        if let battery = device.batteryPercent, battery <= batteryWarningPercent {
            return result(device, .warning, "battery \(battery) %", "replace or charge the \(name) batteries")
        }
        if let clock = observations.clocks[device.id] {
            switch clock.trust {
            case .unset:
                return result(
                    device,
                    .warning,
                    "the \(name) clock is not set",
                    "set the \(name) date and time (readings are timed on arrival meanwhile)"
                )
            case .untrusted:
                let minutes = (clock.offsetMicros ?? 0).magnitude / 60_000_000
                return result(
                    device,
                    .warning,
                    "the \(name) clock is \(minutes) min off",
                    "set the \(name) date and time (readings are timed on arrival meanwhile)"
                )
            case .trusted, .unknown:
                break
            }
        }
        if item.model != nil, matching.isEmpty {
            return result(
                device,
                .warning,
                "a \(name) of another model (\(device.model ?? "unknown")) is present",
                "check this \(name) is the one the booth was set up with"
            )
        }
        if device.state == .discovered {
            return result(device, .ready, "\(name) advertising; it connects at the first measurement", nil)
        }
        return result(device, .ready, "\(name) \(device.state.name)", nil)
    }

    private static func score(_ device: DeviceStatus) -> Int {
        switch device.state {
        case .ready, .measuring: 3
        case .connecting: 2
        case .discovered: 1
        case .error, .gone: 0
        }
    }
}
