import BoothCore
import Foundation
import GRDB
import Logging
import Synchronization

/// Why a usage query or update failed.
public struct UsageError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case invalidArgument = "invalid_params"
        case unavailable = "storage_unavailable"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// Usage of one device or one role over a period ("usage rate of each connected device").
public struct UsageRow: Sendable, Codable, Equatable {
    /// Nil on a per-role row.
    public var deviceId: String?
    public var role: String
    public var model: String?
    /// Sessions started in the period (the denominator of the rate).
    public var sessions: Int
    /// Sessions in which the device (or a device of the role) gave at least one reading.
    public var sessionsUsed: Int
    /// `sessionsUsed / sessions`, nil when no session was started in the period.
    public var usageRate: Double?
    /// Readings the device gave (in a session or not).
    public var measurements: Int
    /// Times the device failed (connection or read failure reported by the supervisor).
    public var failures: Int
    /// Times the device connected (became ready from not connected): a cuff or thermometer that connects only
    /// after each measurement counts once per transfer.
    public var connections: Int
    /// Readings of a role already measured in the same session (a second blood pressure, a re-taken temperature).
    public var retakes: Int
    /// Readiness checks that found the role not ready (warning or missing); per-role rows only.
    public var notReady: Int

    public init(
        deviceId: String?,
        role: String,
        model: String?,
        sessions: Int,
        sessionsUsed: Int,
        measurements: Int,
        failures: Int,
        retakes: Int,
        notReady: Int = 0,
        connections: Int = 0
    ) {
        self.deviceId = deviceId
        self.role = role
        self.model = model
        self.sessions = sessions
        self.sessionsUsed = sessionsUsed
        self.usageRate = sessions > 0 ? Double(sessionsUsed) / Double(sessions) : nil
        self.measurements = measurements
        self.failures = failures
        self.retakes = retakes
        self.notReady = notReady
        self.connections = connections
    }
}

/// Readiness checks run before consultations (the `readiness` command), by overall result.
public struct UsageReadiness: Sendable, Codable, Equatable {
    public var runs: Int
    public var ready: Int
    public var warning: Int
    public var missing: Int

    public init(runs: Int = 0, ready: Int = 0, warning: Int = 0, missing: Int = 0) {
        self.runs = runs
        self.ready = ready
        self.warning = warning
        self.missing = missing
    }

    static func + (lhs: Self, rhs: Self) -> Self {
        Self(
            runs: lhs.runs + rhs.runs,
            ready: lhs.ready + rhs.ready,
            warning: lhs.warning + rhs.warning,
            missing: lhs.missing + rhs.missing
        )
    }
}

/// One day of usage.
public struct UsageDay: Sendable, Codable, Equatable {
    /// `YYYY-MM-DD` in the statistics' time zone.
    public var day: String
    public var sessions: Int
    public var devices: [UsageRow]
    public var roles: [UsageRow]
    public var readiness: UsageReadiness

    public init(
        day: String,
        sessions: Int,
        devices: [UsageRow],
        roles: [UsageRow],
        readiness: UsageReadiness = UsageReadiness()
    ) {
        self.day = day
        self.sessions = sessions
        self.devices = devices
        self.roles = roles
        self.readiness = readiness
    }
}

/// Usage statistics over `since ... until` (inclusive days), totals and per day. No patient identifier and no
/// session identifier appears in it.
public struct UsageReport: Sendable, Codable, Equatable {
    public var since: String
    public var until: String
    public var timeZone: String
    public var sessions: Int
    public var devices: [UsageRow]
    public var roles: [UsageRow]
    public var readiness: UsageReadiness
    public var days: [UsageDay]

    public init(
        since: String,
        until: String,
        timeZone: String,
        sessions: Int,
        devices: [UsageRow],
        roles: [UsageRow],
        readiness: UsageReadiness = UsageReadiness(),
        days: [UsageDay]
    ) {
        self.since = since
        self.until = until
        self.timeZone = timeZone
        self.sessions = sessions
        self.devices = devices
        self.roles = roles
        self.readiness = readiness
        self.days = days
    }
}

/// Daily usage aggregates kept in their own SQLite file (`usage.sqlite`), which the outbox's retention purge
/// never touches: the figures outlive the health data they were computed from.
///
/// Fed by the outbox's durable event stream (`apply`) with its own cursor, written in the same transaction as
/// the aggregates: each event is counted exactly once, across restarts. Ids of sessions in progress are kept
/// only until the session ends (to count a device once per session and to see retakes); context references
/// (patient or consultation) are never read.
public final class UsageStatistics: Sendable {
    public static let fileName = "usage.sqlite"

    private let pool: DatabasePool?
    /// Why the database could not be opened (then every call throws `unavailable`).
    public let unavailableReason: String?
    private let calendar: Calendar
    private let roles = Mutex<[String: (role: DeviceRole, model: String?)]>([:])
    private let cursorValue = Mutex<Int64>(0)

    /// Opens (or creates) `directory/usage.sqlite`. Days are counted in `timeZone` (the booth's local time).
    public static func open(directory: String, timeZone: TimeZone = .current, logger: Logger) -> UsageStatistics {
        let path = (directory as NSString).appendingPathComponent(fileName)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            var configuration = Configuration()
            configuration.busyMode = .timeout(5)
            DatabaseMemory.limitCache(&configuration)
            let pool = try DatabasePool(path: path, configuration: configuration)
            try migrator.migrate(pool)
            let statistics = UsageStatistics(pool: pool, reason: nil, timeZone: timeZone)
            let cursor = try pool.read { db in
                try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'cursor'") ?? 0
            }
            statistics.cursorValue.withLock { $0 = cursor }
            return statistics
        } catch {
            let reason = "cannot open usage database \(path): \(error)"
            logger.error("usage statistics unavailable", metadata: ["reason": "\(reason)"])
            return UsageStatistics(pool: nil, reason: reason, timeZone: timeZone)
        }
    }

    private init(pool: DatabasePool?, reason: String?, timeZone: TimeZone) {
        self.pool = pool
        self.unavailableReason = reason
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        self.calendar = calendar
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
                    CREATE TABLE daily_sessions (day TEXT PRIMARY KEY, sessions INTEGER NOT NULL);
                    CREATE TABLE daily_device (
                        day TEXT NOT NULL, device_id TEXT NOT NULL, role TEXT NOT NULL, model TEXT,
                        sessions_used INTEGER NOT NULL DEFAULT 0, measurements INTEGER NOT NULL DEFAULT 0,
                        failures INTEGER NOT NULL DEFAULT 0, retakes INTEGER NOT NULL DEFAULT 0,
                        PRIMARY KEY (day, device_id)
                    );
                    CREATE TABLE daily_role (
                        day TEXT NOT NULL, role TEXT NOT NULL,
                        sessions_used INTEGER NOT NULL DEFAULT 0, measurements INTEGER NOT NULL DEFAULT 0,
                        failures INTEGER NOT NULL DEFAULT 0, retakes INTEGER NOT NULL DEFAULT 0,
                        PRIMARY KEY (day, role)
                    );
                    CREATE TABLE open_sessions (session_id TEXT PRIMARY KEY, day TEXT NOT NULL);
                    CREATE TABLE open_session_usage (
                        session_id TEXT NOT NULL, key TEXT NOT NULL, readings INTEGER NOT NULL,
                        PRIMARY KEY (session_id, key)
                    );
                    """
            )
        }
        migrator.registerMigration("v2-readiness") { db in
            try db.execute(
                sql: """
                    CREATE TABLE daily_readiness (
                        day TEXT PRIMARY KEY, runs INTEGER NOT NULL DEFAULT 0, ready INTEGER NOT NULL DEFAULT 0,
                        warning INTEGER NOT NULL DEFAULT 0, missing INTEGER NOT NULL DEFAULT 0
                    );
                    ALTER TABLE daily_role ADD COLUMN not_ready INTEGER NOT NULL DEFAULT 0;
                    """
            )
        }
        migrator.registerMigration("v3-connections") { db in
            try db.execute(
                sql: """
                    ALTER TABLE daily_device ADD COLUMN connections INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE daily_role ADD COLUMN connections INTEGER NOT NULL DEFAULT 0;
                    """
            )
        }
        return migrator
    }

    /// Checkpoints the database at graceful stop, after the last write (nil when it is not open).
    public func checkpointAtStop() async throws -> WALCheckpointReport? {
        guard let pool else { return nil }
        return try await WALCheckpoint.truncate(pool, path: pool.path)
    }

    /// The id of the last outbox event counted.
    public var cursor: Int64 { cursorValue.withLock { $0 } }

    /// `YYYY-MM-DD` of an instant in the statistics' time zone.
    public func day(ofMicros micros: Int64) -> String {
        let parts = calendar.dateComponents(
            [.year, .month, .day],
            from: Date(timeIntervalSince1970: Double(micros) / 1_000_000)
        )
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }

    /// Tells the statistics which role and model a device has (from the device registry); readings of a device
    /// it has never heard of get the role their kind implies.
    public func noteDevice(id: String, role: DeviceRole, model: String?) {
        roles.withLock { $0[id] = (role, model) }
    }

    /// The role counted for a reading of `kind` from device `id`.
    func role(ofDevice id: String, kind: String) -> (role: String, model: String?) {
        if let known = roles.withLock({ $0[id] }), known.role != .other { return (known.role.rawValue, known.model) }
        let role: DeviceRole =
            switch MeasurementKind(rawValue: kind) {
            case .bloodPressure, .cuffPressure: .bp
            case .oxygenSaturation: .oximeter
            case .bodyTemperature: .thermometer
            case .glucose: .glucometer
            case .bodyWeight: .scale
            case .heartRate: .ecg
            case nil: .other
            }
        return (role.rawValue, nil)
    }

    // MARK: counting

    private struct SessionData: Decodable {
        var startedAtMicros: Int64?
    }

    /// A `readiness.report` event: `{"durationMicros": …, "report": {"overall": …, "results": [{"role", "level"…}]}}`.
    private struct ReadinessData: Decodable {
        struct Report: Decodable {
            struct Result: Decodable {
                var role: String
                var level: String
            }
            var overall: String
            var results: [Result]
        }
        var report: Report
    }

    private struct MeasurementData: Decodable {
        struct Head: Decodable {
            struct Device: Decodable {
                var id: String
                var model: String?
            }
            var kind: String
            var device: Device
        }
        var binding: String?
        var sessionId: String?
        var measurement: Head?
    }

    /// Counts the events after the cursor, in order, in one transaction with the new cursor. Events at or
    /// before the cursor are skipped, so a replay counts nothing twice. Returns how many were counted.
    @discardableResult
    public func apply(_ events: [StoredEvent]) throws(UsageError) -> Int {
        let pool = try writable()
        let fresh = events.filter { $0.id > cursor }.sorted { $0.id < $1.id }
        guard let last = fresh.last else { return 0 }
        do {
            try pool.write { db in
                for event in fresh { try count(event, db) }
                try db.execute(
                    sql: "INSERT INTO meta (key, value) VALUES ('cursor', ?) "
                        + "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    arguments: [last.id]
                )
            }
        } catch {
            throw UsageError(.unavailable, "usage database write failed: \(error)")
        }
        cursorValue.withLock { $0 = last.id }
        return fresh.count
    }

    private func count(_ event: StoredEvent, _ db: Database) throws {
        let decoder = JSONDecoder()
        let payload = Data(event.payload.utf8)
        switch event.type {
        case "session.started":
            guard let id = event.sessionID else { return }
            let started = (try? decoder.decode(SessionData.self, from: payload))?.startedAtMicros
            let day = day(ofMicros: started ?? event.createdAtMicros)
            try db.execute(
                sql: "INSERT OR IGNORE INTO open_sessions (session_id, day) VALUES (?, ?)",
                arguments: [id, day]
            )
            guard db.changesCount > 0 else { return }
            try db.execute(
                sql: "INSERT INTO daily_sessions (day, sessions) VALUES (?, 1) "
                    + "ON CONFLICT(day) DO UPDATE SET sessions = sessions + 1",
                arguments: [day]
            )
        case "session.ended":
            guard let id = event.sessionID else { return }
            try db.execute(sql: "DELETE FROM open_session_usage WHERE session_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM open_sessions WHERE session_id = ?", arguments: [id])
        case "measurement", "measurement.assigned":
            guard let data = try? decoder.decode(MeasurementData.self, from: payload),
                let head = data.measurement,
                // Intermediate cuff pressures during inflation are not readings of their own.
                head.kind != MeasurementKind.cuffPressure.rawValue
            else { return }
            let (role, knownModel) = role(ofDevice: head.device.id, kind: head.kind)
            let model = knownModel ?? head.device.model
            if event.type == "measurement" {
                let day = day(ofMicros: event.createdAtMicros)
                try bump(db, day: day, device: head.device.id, role: role, model: model, column: "measurements")
            }
            let bound = event.type == "measurement.assigned" || data.binding == MeasurementBinding.session.rawValue
            if bound, let session = data.sessionId ?? event.sessionID {
                try use(db, session: session, device: head.device.id, role: role, model: model)
            }
        case "readiness.report":
            guard let data = try? decoder.decode(ReadinessData.self, from: payload) else { return }
            let day = day(ofMicros: event.createdAtMicros)
            let level = ["ready", "warning", "missing"].contains(data.report.overall) ? data.report.overall : "missing"
            // `level` is one of the three column names above, never input as is.
            try db.execute(
                sql: """
                    INSERT INTO daily_readiness (day, runs, \(level)) VALUES (?, 1, 1)
                    ON CONFLICT(day) DO UPDATE SET runs = runs + 1, \(level) = \(level) + 1
                    """,
                arguments: [day]
            )
            for result in data.report.results where result.level != "ready" {
                try bump(db, day: day, device: nil, role: result.role, model: nil, column: "not_ready")
            }
        default:
            return
        }
    }

    /// A reading in a session: the device and its role count as used once per session; a second reading of
    /// the same role in the same session is a retake.
    private func use(_ db: Database, session: String, device: String, role: String, model: String?) throws {
        guard
            let day = try String.fetchOne(
                db,
                sql: "SELECT day FROM open_sessions WHERE session_id = ?",
                arguments: [session]
            )
        else { return }
        func readings(_ key: String) throws -> Int {
            try db.execute(
                sql: "INSERT INTO open_session_usage (session_id, key, readings) VALUES (?, ?, 1) "
                    + "ON CONFLICT(session_id, key) DO UPDATE SET readings = readings + 1",
                arguments: [session, key]
            )
            return try Int.fetchOne(
                db,
                sql: "SELECT readings FROM open_session_usage WHERE session_id = ? AND key = ?",
                arguments: [session, key]
            ) ?? 1
        }
        if try readings("device:" + device) == 1 {
            try bump(db, day: day, device: device, role: nil, model: model, column: "sessions_used", deviceRole: role)
        }
        if try readings("role:" + role) == 1 {
            try bump(db, day: day, device: nil, role: role, model: nil, column: "sessions_used")
        } else {
            try bump(db, day: day, device: device, role: role, model: model, column: "retakes")
        }
    }

    /// Adds one to `column` of the device's row (when `device` is set) and of the role's row (when `role` is set).
    private func bump(
        _ db: Database,
        day: String,
        device: String?,
        role: String?,
        model: String?,
        column: String,
        deviceRole: String? = nil
    ) throws {
        // `column` is one of this file's constants, never input.
        if let device, let rowRole = deviceRole ?? role {
            try db.execute(
                sql: """
                    INSERT INTO daily_device (day, device_id, role, model, \(column)) VALUES (?, ?, ?, ?, 1)
                    ON CONFLICT(day, device_id) DO UPDATE SET \(column) = \(column) + 1,
                        role = excluded.role, model = coalesce(excluded.model, model)
                    """,
                arguments: [day, device, rowRole, model]
            )
        }
        if let role {
            try db.execute(
                sql: """
                    INSERT INTO daily_role (day, role, \(column)) VALUES (?, ?, 1)
                    ON CONFLICT(day, role) DO UPDATE SET \(column) = \(column) + 1
                    """,
                arguments: [day, role]
            )
        }
    }

    /// Counts one failure of a device (the supervisor put it in the error state).
    public func recordFailure(deviceID: String, role: DeviceRole, model: String?, atMicros: Int64) throws(UsageError) {
        try count("failures", deviceID: deviceID, role: role, model: model, atMicros: atMicros)
    }

    /// Counts one connection of a device (it became ready from not connected).
    public func recordConnection(
        deviceID: String,
        role: DeviceRole,
        model: String?,
        atMicros: Int64
    ) throws(UsageError) {
        try count("connections", deviceID: deviceID, role: role, model: model, atMicros: atMicros)
    }

    private func count(
        _ column: String,
        deviceID: String,
        role: DeviceRole,
        model: String?,
        atMicros: Int64
    ) throws(UsageError) {
        let pool = try writable()
        do {
            try pool.write { db in
                try bump(
                    db,
                    day: day(ofMicros: atMicros),
                    device: deviceID,
                    role: role.rawValue,
                    model: model,
                    column: column
                )
            }
        } catch {
            throw UsageError(.unavailable, "usage database write failed: \(error)")
        }
    }

    private func writable() throws(UsageError) -> DatabasePool {
        guard let pool else { throw UsageError(.unavailable, unavailableReason ?? "usage database not open") }
        return pool
    }

    // MARK: reading

    /// Checks a `YYYY-MM-DD` day; `name` is the parameter's name for the error.
    public static func validDay(_ text: String, name: String) throws(UsageError) -> String {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
            (1970...9999).contains(year), (1...12).contains(month), (1...31).contains(day)
        else {
            throw UsageError(.invalidArgument, "\(name) must be a day as YYYY-MM-DD, not \"\(text.prefix(40))\"")
        }
        return text
    }

    /// Usage from `since` to `until` (inclusive, `YYYY-MM-DD`).
    public func report(since: String, until: String) throws(UsageError) -> UsageReport {
        let since = try Self.validDay(since, name: "since")
        let until = try Self.validDay(until, name: "until")
        guard since <= until else { throw UsageError(.invalidArgument, "since (\(since)) is after until (\(until))") }
        let pool = try writable()
        struct Raw {
            var day: String
            var device: String?
            var role: String
            var model: String?
            var used: Int
            var measurements: Int
            var failures: Int
            var retakes: Int
            var notReady = 0
            var connections = 0
        }
        let range: StatementArguments = [since, until]
        let fetched: ([String: Int], [Raw], [Raw], [String: UsageReadiness])
        do {
            fetched = try pool.read { db in
                var sessions: [String: Int] = [:]
                for row in try Row.fetchAll(
                    db,
                    sql: "SELECT day, sessions FROM daily_sessions WHERE day BETWEEN ? AND ?",
                    arguments: range
                ) {
                    sessions[row["day"]] = row["sessions"]
                }
                let devices = try Row.fetchAll(
                    db,
                    sql: "SELECT * FROM daily_device WHERE day BETWEEN ? AND ? ORDER BY day, role, device_id",
                    arguments: range
                ).map {
                    Raw(
                        day: $0["day"],
                        device: $0["device_id"],
                        role: $0["role"],
                        model: $0["model"],
                        used: $0["sessions_used"],
                        measurements: $0["measurements"],
                        failures: $0["failures"],
                        retakes: $0["retakes"],
                        connections: $0["connections"]
                    )
                }
                let roles = try Row.fetchAll(
                    db,
                    sql: "SELECT * FROM daily_role WHERE day BETWEEN ? AND ? ORDER BY day, role",
                    arguments: range
                ).map {
                    Raw(
                        day: $0["day"],
                        device: nil,
                        role: $0["role"],
                        model: nil,
                        used: $0["sessions_used"],
                        measurements: $0["measurements"],
                        failures: $0["failures"],
                        retakes: $0["retakes"],
                        notReady: $0["not_ready"],
                        connections: $0["connections"]
                    )
                }
                var readiness: [String: UsageReadiness] = [:]
                for row in try Row.fetchAll(
                    db,
                    sql: "SELECT * FROM daily_readiness WHERE day BETWEEN ? AND ?",
                    arguments: range
                ) {
                    readiness[row["day"]] = UsageReadiness(
                        runs: row["runs"],
                        ready: row["ready"],
                        warning: row["warning"],
                        missing: row["missing"]
                    )
                }
                return (sessions, devices, roles, readiness)
            }
        } catch {
            throw UsageError(.unavailable, "usage database read failed: \(error)")
        }
        let (sessionsByDay, deviceRows, roleRows, readinessByDay) = fetched
        let total = sessionsByDay.values.reduce(0, +)
        func row(_ raw: Raw, sessions: Int) -> UsageRow {
            UsageRow(
                deviceId: raw.device,
                role: raw.role,
                model: raw.model,
                sessions: sessions,
                sessionsUsed: raw.used,
                measurements: raw.measurements,
                failures: raw.failures,
                retakes: raw.retakes,
                notReady: raw.notReady,
                connections: raw.connections
            )
        }
        func totals(_ rows: [Raw], key: (Raw) -> String) -> [UsageRow] {
            var merged: [String: Raw] = [:]
            var order: [String] = []
            for raw in rows {
                let k = key(raw)
                if var existing = merged[k] {
                    existing.used += raw.used
                    existing.measurements += raw.measurements
                    existing.failures += raw.failures
                    existing.retakes += raw.retakes
                    existing.notReady += raw.notReady
                    existing.connections += raw.connections
                    existing.model = raw.model ?? existing.model
                    merged[k] = existing
                } else {
                    merged[k] = raw
                    order.append(k)
                }
            }
            return order.sorted().compactMap { merged[$0] }.map { row($0, sessions: total) }
        }
        let days = Set(sessionsByDay.keys).union(deviceRows.map(\.day)).union(roleRows.map(\.day))
            .union(readinessByDay.keys).sorted()
        return UsageReport(
            since: since,
            until: until,
            timeZone: calendar.timeZone.identifier,
            sessions: total,
            devices: totals(deviceRows) { "\($0.role)\u{0}\($0.device ?? "")" },
            roles: totals(roleRows) { $0.role },
            readiness: readinessByDay.values.reduce(UsageReadiness(), +),
            days: days.map { day in
                let sessions = sessionsByDay[day] ?? 0
                return UsageDay(
                    day: day,
                    sessions: sessions,
                    devices: deviceRows.filter { $0.day == day }.map { row($0, sessions: sessions) },
                    roles: roleRows.filter { $0.day == day }.map { row($0, sessions: sessions) },
                    readiness: readinessByDay[day] ?? UsageReadiness()
                )
            }
        )
    }
}
