import Synchronization

/// The device command handler boothd gives the session API: it hands each command to the module registered for
/// its name (`measurement.start` to the device supervisor, `snapshot.take` to the camera service ...). Modules
/// register at startup, in any order; a command nobody registered is refused with `not_available`.
public final class DeviceCommandRouter: DeviceCommandHandler {
    private let handlers = Mutex<[String: any DeviceCommandHandler]>([:])

    public init() {}

    /// Routes `names` to `handler`; a later registration of the same name replaces the earlier one.
    public func register(_ names: [String], to handler: any DeviceCommandHandler) {
        handlers.withLock { table in
            for name in names { table[name] = handler }
        }
    }

    /// Command names that have a handler, sorted.
    public var registeredNames: [String] { handlers.withLock { $0.keys.sorted() } }

    public func perform(_ command: DeviceCommand) async throws(DeviceCommandError) -> [String: String] {
        guard let handler = handlers.withLock({ $0[command.name] }) else {
            throw DeviceCommandError(
                code: "not_available",
                message: "\(command.name): no module of this boothd handles it"
            )
        }
        return try await handler.perform(command)
    }
}

/// What a device that can be told to measure offers the supervisor (a simulated device, a cuff that can be
/// started over Bluetooth ...).
public protocol MeasurementControl: Sendable {
    /// Take a reading now; the reading arrives through the device's normal measurement path.
    func startMeasurement() async throws
    /// Stop taking readings until the next start (a continuous device stops streaming).
    func stopMeasurement() async throws
}
