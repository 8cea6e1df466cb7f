/// Why a Bluetooth operation failed, in words a technician can act on.
public enum BlueZError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No system bus (not running, or no permission to connect).
    case busUnavailable(String)
    /// bluetoothd is not on the bus.
    case bluetoothdNotRunning
    /// No adapter at all, or not the configured one.
    case adapterAbsent(wanted: String?)
    case adapterOff(String)
    /// rfkill soft or hard block.
    case adapterBlocked(String)
    case deviceNotFound(String)
    case characteristicNotFound(device: String, uuid: String)
    case notConnected(String)
    /// A D-Bus call failed: the BlueZ error name (e.g. `org.bluez.Error.Failed`) and its message.
    case callFailed(method: String, name: String, message: String)
    case timeout(String, seconds: Double)
    case unexpectedReply(method: String, signature: String)
    /// The link was closed (device disconnected or bluetoothd went away) while waiting.
    case linkLost(String)

    /// True for a failed call whose BlueZ error name ends with `suffix` (e.g. `.InProgress`).
    public func isBlueZError(_ suffix: String) -> Bool {
        if case .callFailed(_, let name, _) = self { return name.hasSuffix(suffix) }
        return false
    }

    public var description: String {
        switch self {
        case .busUnavailable(let why): "cannot connect to the D-Bus system bus: \(why)"
        case .bluetoothdNotRunning: "bluetoothd is not running (org.bluez is not on the system bus)"
        case .adapterAbsent(let wanted?): "Bluetooth adapter \(wanted) not found"
        case .adapterAbsent(nil): "no Bluetooth adapter found"
        case .adapterOff(let name): "Bluetooth adapter \(name) is powered off"
        case .adapterBlocked(let name): "Bluetooth adapter \(name) is blocked by rfkill (rfkill unblock bluetooth)"
        case .deviceNotFound(let address): "device \(address) not found (not advertising, or out of range)"
        case .characteristicNotFound(let device, let uuid): "device \(device) has no characteristic \(uuid)"
        case .notConnected(let device): "device \(device) is not connected"
        case .callFailed(let method, let name, let message): "\(method) failed: \(name): \(message)"
        case .timeout(let what, let seconds): "\(what) timed out after \(seconds) s"
        case .unexpectedReply(let method, let signature): "\(method): unexpected D-Bus reply of type \(signature)"
        case .linkLost(let device): "connection to \(device) lost"
        }
    }
}

extension Error {
    /// True for a BlueZ call failure whose error name ends with `suffix` (e.g. `.InProgress`).
    func isBlueZError(_ suffix: String) -> Bool {
        (self as? BlueZError)?.isBlueZError(suffix) ?? false
    }
}
