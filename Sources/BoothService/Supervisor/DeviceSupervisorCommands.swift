import BoothCore
import Synchronization

/// The supervisor's device commands: `measurement.start` / `measurement.stop` on a device that offers a
/// `MeasurementControl`, and `device.forget`, which stops supervising a device and drops it from the registry
/// (clients see its state `gone`, then `device.removed`). Readings a started device takes flow through the
/// supervisor's normal path (driver, safety recorder, durable outbox) like any other.
public final class DeviceSupervisorCommands: DeviceCommandHandler {
    /// The command names this handler serves, for `DeviceCommandRouter.register`.
    public static let names = ["measurement.start", "measurement.stop", "device.forget"]

    private let devices: [String: ManagedDevice]
    private let registry: DeviceRegistry
    private struct State {
        var tasks: [String: Task<Void, Never>] = [:]
        var forgotten: Set<String> = []
    }
    private let state = Mutex(State())

    init(devices: [ManagedDevice], registry: DeviceRegistry) {
        self.devices = Dictionary(devices.map { ($0.identity.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.registry = registry
    }

    /// Records the task supervising `id`; false when the device was forgotten already (do not run it).
    func adopt(_ id: String, task: Task<Void, Never>) -> Bool {
        state.withLock { state in
            guard !state.forgotten.contains(id) else { return false }
            state.tasks[id] = task
            return true
        }
    }

    public func perform(_ command: DeviceCommand) async throws(DeviceCommandError) -> [String: String] {
        let id = command.deviceID
        guard let device = devices[id], !state.withLock({ $0.forgotten.contains(id) }) else {
            throw DeviceCommandError(
                code: "unknown_device",
                message: "\(command.name): no device \"\(id.prefix(128))\""
            )
        }
        switch command.name {
        case "measurement.start", "measurement.stop":
            guard let control = device.measurementControl else {
                throw DeviceCommandError(
                    code: "not_supported",
                    message: "\(command.name): \(id) measures only when used on the device itself"
                )
            }
            let current = await registry.status(id: id)?.state
            guard current == .ready || current == .measuring else {
                throw DeviceCommandError(
                    code: "device_not_ready",
                    message: "\(command.name): \(id) is \(current?.name ?? "unknown"), not ready"
                )
            }
            let starting = command.name == "measurement.start"
            do {
                if starting {
                    try await control.startMeasurement()
                } else {
                    try await control.stopMeasurement()
                }
            } catch {
                throw DeviceCommandError(code: "device_error", message: "\(command.name): \(id): \(error)")
            }
            if starting, var status = await registry.status(id: id) {
                // Back to `ready` when the reading arrives (the supervisor publishes it with the measurement).
                status.state = .measuring
                await registry.update(status)
            }
            return ["deviceId": id, "state": starting ? "measuring" : "ready"]
        case "device.forget":
            let task = state.withLock { state in
                state.forgotten.insert(id)
                return state.tasks.removeValue(forKey: id)
            }
            task?.cancel()
            await task?.value
            if var status = await registry.status(id: id) {
                status.state = .gone
                await registry.update(status)
            }
            await registry.remove(id: id)
            return ["deviceId": id, "state": "gone"]
        default:
            throw DeviceCommandError(
                code: "not_supported",
                message: "\(command.name) is not a device supervisor command (\(Self.names.joined(separator: ", ")))"
            )
        }
    }
}
