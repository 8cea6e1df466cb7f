import Synchronization

/// The device command handler boothd gives the session API: it hands each command to the modules registered for
/// its name (`measurement.start` to the device supervisor and to the media module, `snapshot.take` to the media
/// module ...). Several modules may serve one name for different devices: they are asked in registration order
/// and a module that does not know the device (`unknown_device`, `not_available`) passes it to the next. A
/// command nobody registered is refused with `not_available`.
public final class DeviceCommandRouter: DeviceCommandHandler {
    private let handlers = Mutex<[String: [any DeviceCommandHandler]]>([:])

    /// One module's commands, for the route-list initializer.
    public struct Route: Sendable {
        public var commands: Set<String>
        public var handler: any DeviceCommandHandler

        public init(commands: Set<String>, handler: any DeviceCommandHandler) {
            self.commands = commands
            self.handler = handler
        }
    }

    public init() {}

    /// A router with `routes` registered in order (more may be registered later).
    public convenience init(_ routes: [Route]) {
        self.init()
        for route in routes { register(route.commands.sorted(), to: route.handler) }
    }

    /// Routes `names` to `handler`, after any handler already registered for them.
    public func register(_ names: [String], to handler: any DeviceCommandHandler) {
        handlers.withLock { table in
            for name in names { table[name, default: []].append(handler) }
        }
    }

    /// Command names that have a handler, sorted.
    public var registeredNames: [String] { handlers.withLock { $0.keys.sorted() } }

    public func perform(_ command: DeviceCommand) async throws(DeviceCommandError) -> [String: String] {
        let candidates = handlers.withLock { $0[command.name] ?? [] }
        var refusal: DeviceCommandError?
        for handler in candidates {
            do {
                return try await handler.perform(command)
            } catch  where error.code == "unknown_device" || error.code == "not_available" {
                // Not this module's device. "Not available" (the device exists) says more than "unknown".
                if refusal == nil || error.code == "not_available" { refusal = error }
            }
        }
        throw refusal
            ?? DeviceCommandError(
                code: "not_available",
                message: "\(command.name): no module of this boothd handles it"
            )
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
