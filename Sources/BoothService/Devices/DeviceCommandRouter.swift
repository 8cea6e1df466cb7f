/// Several device-command handlers behind the session API's one: each route names the commands its handler answers;
/// a command goes to the routes naming it, in order, and a handler that does not know the device (`unknown_device`,
/// `not_available`) passes it to the next. Media and ECG both answer `measurement.start`, on their own devices.
public struct DeviceCommandRouter: DeviceCommandHandler {
    public struct Route: Sendable {
        public var commands: Set<String>
        public var handler: any DeviceCommandHandler

        public init(commands: Set<String>, handler: any DeviceCommandHandler) {
            self.commands = commands
            self.handler = handler
        }
    }

    public let routes: [Route]

    public init(_ routes: [Route]) {
        self.routes = routes
    }

    public func perform(_ command: DeviceCommand) async throws(DeviceCommandError) -> [String: String] {
        var last: DeviceCommandError?
        for route in routes where route.commands.contains(command.name) {
            do {
                return try await route.handler.perform(command)
            } catch  where error.code == "unknown_device" || error.code == "not_available" {
                last = error
            }
        }
        throw last
            ?? DeviceCommandError(code: "not_available", message: "\(command.name): no handler for this command here")
    }
}
