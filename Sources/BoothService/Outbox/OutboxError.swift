/// Why the outbox refused an operation, with a code the session API forwards as its typed error.
public struct OutboxError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        /// The database cannot be opened or written (safe mode); measurements are refused.
        case storageUnavailable = "storage_unavailable"
        /// The disk is full: the write was rolled back.
        case diskFull = "disk_full"
        /// The database file is damaged.
        case corrupt = "storage_corrupt"
        case sessionActive = "session_active"
        case noActiveSession = "no_active_session"
        case unknownSession = "unknown_session"
        case unknownMeasurement = "unknown_measurement"
        case unknownArtifact = "unknown_artifact"
        /// The measurement is already bound to a session or discarded.
        case alreadyBound = "already_bound"
        case invalidArgument = "invalid_argument"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

/// The health of the outbox database, reported to clients in `welcome` and `storage` messages.
public enum StorageState: Sendable, Equatable {
    case ok
    /// Working, but something needs a technician (a corrupt database was moved aside, the disk filled up once).
    case degraded(reason: String)
    /// Not writing at all: measurements are refused with `storage_unavailable`; the daemon keeps running.
    case safeMode(reason: String)

    public var name: String {
        switch self {
        case .ok: "ok"
        case .degraded: "degraded"
        case .safeMode: "safe-mode"
        }
    }

    public var reason: String? {
        switch self {
        case .ok: nil
        case .degraded(let reason), .safeMode(let reason): reason
        }
    }
}
