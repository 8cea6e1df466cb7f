/// What the booth knows about one device right now: identity, role, connection state and battery.
///
/// The device supervisor publishes these through the service layer's device registry; the session API
/// forwards every change to its clients.
public struct DeviceStatus: Sendable, Hashable, Codable, Identifiable {
    /// boothd's stable id for the device, e.g. `ble:C0:26:DA:01:02:03` or `sim:oximeter`.
    public var id: String
    /// The clinical role the device fills in this booth.
    public var role: DeviceRole
    /// Model name as the device or its profile reports it.
    public var model: String?
    /// `ble`, `usb-serial`, `usb-hid`, `v4l2`, `alsa`, `simulated`, `manual`.
    public var transport: String
    public var state: DeviceState
    /// Battery level in percent, when the device reports one.
    public var batteryPercent: Int?
    public var firmware: String?
    /// Last time boothd heard from the device (microseconds since the Unix epoch, UTC).
    public var lastSeenMicros: Int64
    /// A device-state warning for the operator (ECG sensor contact lost, flat line); nil when all is well.
    /// Never a measurement.
    public var warning: String?

    public init(
        id: String,
        role: DeviceRole,
        model: String? = nil,
        transport: String,
        state: DeviceState,
        batteryPercent: Int? = nil,
        firmware: String? = nil,
        lastSeenMicros: Int64,
        warning: String? = nil
    ) {
        self.id = id
        self.role = role
        self.model = model
        self.transport = transport
        self.state = state
        self.batteryPercent = batteryPercent
        self.firmware = firmware
        self.lastSeenMicros = lastSeenMicros
        self.warning = warning
    }

    private enum CodingKeys: String, CodingKey {
        case id, role, model, transport, state, stateReason, batteryPercent, firmware, lastSeenMicros, warning
    }

    /// Encodes `state` as a flat string with an optional `stateReason`, the shape the session API documents.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(role, forKey: .role)
        try container.encodeIfPresent(model, forKey: .model)
        try container.encode(transport, forKey: .transport)
        try container.encode(state.name, forKey: .state)
        if case .error(let reason) = state { try container.encode(reason, forKey: .stateReason) }
        try container.encodeIfPresent(batteryPercent, forKey: .batteryPercent)
        try container.encodeIfPresent(firmware, forKey: .firmware)
        try container.encode(lastSeenMicros, forKey: .lastSeenMicros)
        try container.encodeIfPresent(warning, forKey: .warning)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        role = try container.decode(DeviceRole.self, forKey: .role)
        model = try container.decodeIfPresent(String.self, forKey: .model)
        transport = try container.decode(String.self, forKey: .transport)
        let name = try container.decode(String.self, forKey: .state)
        let reason = try container.decodeIfPresent(String.self, forKey: .stateReason)
        guard let state = DeviceState(name: name, reason: reason) else {
            throw DecodingError.dataCorruptedError(
                forKey: .state,
                in: container,
                debugDescription: "unknown device state \"\(name)\""
            )
        }
        self.state = state
        batteryPercent = try container.decodeIfPresent(Int.self, forKey: .batteryPercent)
        firmware = try container.decodeIfPresent(String.self, forKey: .firmware)
        lastSeenMicros = try container.decode(Int64.self, forKey: .lastSeenMicros)
        warning = try container.decodeIfPresent(String.self, forKey: .warning)
    }
}

/// Connection state of a device, from first sighting to disappearance.
public enum DeviceState: Sendable, Hashable {
    /// Seen (advertising, plugged in) but not connected.
    case discovered
    case connecting
    /// Connected and idle, able to measure.
    case ready
    /// A measurement is in progress.
    case measuring
    /// The device failed; `reason` is a plain-language explanation for the operator.
    case error(reason: String)
    /// No longer present.
    case gone

    /// The stable name used on the wire: `discovered`, `connecting`, `ready`, `measuring`, `error`, `gone`.
    public var name: String {
        switch self {
        case .discovered: "discovered"
        case .connecting: "connecting"
        case .ready: "ready"
        case .measuring: "measuring"
        case .error: "error"
        case .gone: "gone"
        }
    }

    /// Rebuilds a state from its wire name; nil for an unknown name.
    public init?(name: String, reason: String? = nil) {
        switch name {
        case "discovered": self = .discovered
        case "connecting": self = .connecting
        case "ready": self = .ready
        case "measuring": self = .measuring
        case "error": self = .error(reason: reason ?? "unknown error")
        case "gone": self = .gone
        default: return nil
        }
    }
}
