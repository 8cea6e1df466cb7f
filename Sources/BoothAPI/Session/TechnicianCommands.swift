import BoothCore
import BoothService
import Foundation

/// What `status` answers: the daemon at a glance, for `boothctl status` and fleet tools. It names the active
/// session by its id only (never its context reference).
public struct DaemonStatus: Sendable, Codable, Equatable {
    public struct Session: Sendable, Codable, Equatable {
        public var active: Bool
        public var sessionId: String?
        public var startedAtMicros: Int64?
    }

    public struct Storage: Sendable, Codable, Equatable {
        public var state: String
        public var reason: String?
        /// Events no client has acknowledged yet; nil when the outbox cannot be read.
        public var depth: Int?
        public var oldestUndeliveredMicros: Int64?
        public var lastEventId: Int64
    }

    public var version: String
    public var uptimeSeconds: Double
    public var session: Session
    public var storage: Storage
    /// Devices by state name (`ready`, `error` ...), states with no device left out.
    public var devices: [String: Int]
    public var clients: Int
}

extension SessionConnection {
    /// `status` and `usage`: read-only technician commands.
    func technicianCommand(_ name: String, params: [String: JSONValue]) async throws(WireError) -> String {
        switch name {
        case "status":
            return Wire.encode(await Self.status(of: hub))
        default:
            guard let usage = hub.usage else {
                throw WireError("not_available", "usage statistics are not kept by this boothd")
            }
            func day(_ key: String) throws(WireError) -> String? {
                switch params[key] {
                case nil, .null: return nil
                case .string(let text): return text
                default: throw WireError("invalid_params", "usage: \"\(key)\" must be a day as YYYY-MM-DD")
                }
            }
            let today = usage.day(ofMicros: Outbox.currentMicros())
            let until = try day("until") ?? today
            let since = try day("since") ?? until
            do {
                return Wire.encode(try usage.report(since: since, until: until))
            } catch {
                throw WireError(error.code.rawValue, error.message)
            }
        }
    }

    static func status(of hub: SessionHub) async -> DaemonStatus {
        let backlog = try? await hub.outbox.backlog()
        let session = hub.outbox.activeSession
        var states: [String: Int] = [:]
        for device in await hub.devices.snapshot() { states[device.state.name, default: 0] += 1 }
        let uptime = ContinuousClock.now - hub.startedAt
        let storage = hub.outbox.storageState
        return DaemonStatus(
            version: BoothVersion.string,
            uptimeSeconds: Double(uptime.components.seconds) + Double(uptime.components.attoseconds) / 1e18,
            session: .init(active: session != nil, sessionId: session?.id, startedAtMicros: session?.startedAtMicros),
            storage: .init(
                state: storage.name,
                reason: storage.reason,
                depth: backlog?.depth,
                oldestUndeliveredMicros: backlog?.oldestUndeliveredMicros,
                lastEventId: hub.outbox.lastEventID
            ),
            devices: states,
            clients: hub.connectionCount
        )
    }
}
