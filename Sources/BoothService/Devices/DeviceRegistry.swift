import BoothCore

/// One change of the device list, as the session API forwards it.
public enum DeviceChange: Sendable, Hashable {
    case updated(DeviceStatus)
    case removed(id: String)
}

/// The live list of devices. The device supervisor writes it; the session API reads a snapshot on connect
/// and then follows `changes()`.
public actor DeviceRegistry {
    private var devices: [String: DeviceStatus] = [:]
    /// Statuses as their owners reported them, for devices whose transport has a problem (see `setProblem`).
    private var reported: [String: DeviceStatus] = [:]
    /// Transport (`ble`) → why none of its devices can be reached (Bluetooth adapter off or removed).
    private var problems: [String: String] = [:]
    private var subscribers: [Int: AsyncStream<DeviceChange>.Continuation] = [:]
    private var nextSubscriber = 0
    /// Changes buffered per subscriber; a subscriber that falls further behind loses the oldest changes
    /// (device state is a "latest value" feed: it re-reads `snapshot()` when it needs the whole list).
    private let bufferPerSubscriber: Int

    public init(bufferPerSubscriber: Int = 256) {
        self.bufferPerSubscriber = bufferPerSubscriber
    }

    /// Adds or replaces a device's status. Identical statuses are not re-broadcast.
    public func update(_ status: DeviceStatus) {
        reported[status.id] = status
        publish(shown(status))
    }

    /// Forgets a device.
    public func remove(id: String) {
        reported[id] = nil
        guard devices.removeValue(forKey: id) != nil else { return }
        broadcast(.removed(id: id))
    }

    /// Marks every device of `transport` unreachable for `reason` (e.g. "Bluetooth adapter hci0 is powered off"),
    /// or clears that. While set, those devices show `error` with the reason instead of a silent `gone` or a
    /// `connecting` that never ends; a device that delivers (ready, measuring) shows its own state again.
    public func setProblem(_ reason: String?, transport: String) {
        guard problems[transport] != reason else { return }
        problems[transport] = reason
        for status in reported.values.sorted(by: { $0.id < $1.id }) where status.transport == transport {
            publish(shown(status))
        }
    }

    /// The transport problem, if any.
    public func problem(transport: String) -> String? { problems[transport] }

    private func shown(_ status: DeviceStatus) -> DeviceStatus {
        guard let reason = problems[status.transport] else { return status }
        switch status.state {
        case .ready, .measuring: return status
        default:
            var shown = status
            shown.state = .error(reason: reason)
            return shown
        }
    }

    private func publish(_ status: DeviceStatus) {
        guard devices[status.id] != status else { return }
        devices[status.id] = status
        broadcast(.updated(status))
    }

    /// Every known device, sorted by id.
    public func snapshot() -> [DeviceStatus] {
        devices.values.sorted { $0.id < $1.id }
    }

    public func status(id: String) -> DeviceStatus? {
        devices[id]
    }

    /// A stream of every later change; it ends when the caller stops iterating.
    public func changes() -> AsyncStream<DeviceChange> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: DeviceChange.self,
            bufferingPolicy: .bufferingNewest(bufferPerSubscriber)
        )
        let key = nextSubscriber
        nextSubscriber += 1
        subscribers[key] = continuation
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            Task { await self.unsubscribe(key) }
        }
        return stream
    }

    private func unsubscribe(_ key: Int) {
        subscribers.removeValue(forKey: key)
    }

    private func broadcast(_ change: DeviceChange) {
        for continuation in subscribers.values { continuation.yield(change) }
    }
}

/// A command for a device, from the session API: `measurement.start`, `measurement.stop`, `snapshot.take`,
/// `camera.control`, `device.forget`.
public struct DeviceCommand: Sendable, Hashable {
    public var name: String
    public var deviceID: String
    /// The command's other string parameters (for example `action: zoom`, `value: 2`).
    public var arguments: [String: String]

    public init(name: String, deviceID: String, arguments: [String: String] = [:]) {
        self.name = name
        self.deviceID = deviceID
        self.arguments = arguments
    }
}

/// A device command that failed; `code` is forwarded to the client as its typed error.
public struct DeviceCommandError: Error, Sendable, Equatable, CustomStringConvertible {
    /// For example `unknown_device`, `device_busy`, `not_supported`, `device_error`.
    public var code: String
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

/// Carries out device commands; the device supervisor implements it and boothd hands it to the API.
public protocol DeviceCommandHandler: Sendable {
    /// Performs the command; returns result fields for the reply (strings, shown to the app as is).
    func perform(_ command: DeviceCommand) async throws(DeviceCommandError) -> [String: String]
}
