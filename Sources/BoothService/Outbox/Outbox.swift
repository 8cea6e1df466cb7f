import BoothCore
import Foundation
import GRDB
import Logging
import Synchronization

/// One durable event, as stored and as pushed to clients.
public struct StoredEvent: Sendable, Hashable {
    /// Monotonic id (never reused, even after a purge): clients ack and dedupe on it.
    public var id: Int64
    /// `measurement`, `measurement.assigned`, `measurement.discarded`, `session.started`, `session.ended`,
    /// `readiness.report`.
    public var type: String
    public var sessionID: String?
    public var createdAtMicros: Int64
    /// The event's `data` object as JSON text.
    public var payload: String

    public init(id: Int64, type: String, sessionID: String?, createdAtMicros: Int64, payload: String) {
        self.id = id
        self.type = type
        self.sessionID = sessionID
        self.createdAtMicros = createdAtMicros
        self.payload = payload
    }
}

/// What one retention purge removed (also written to the `purge_log` table).
public struct PurgeReport: Sendable, Equatable {
    public var cutoffMicros: Int64
    public var events: Int
    public var measurements: Int
    public var sessions: Int
    public var auditEntries: Int
    /// Artifacts (snapshots, recordings, strips) removed with their files.
    public var artifacts: Int = 0
}

/// Undelivered events of the outbox (see `Outbox.backlog()`).
public struct OutboxBacklog: Sendable, Equatable, Codable {
    /// Events after the highest acknowledged id.
    public var depth: Int
    /// When the oldest undelivered event was written (µs since the epoch), nil when there is none.
    public var oldestUndeliveredMicros: Int64?
    /// The highest event id some client acknowledged.
    public var deliveredThrough: Int64
}

/// The durable outbox: every measurement and session change is committed to SQLite (WAL, synchronous=FULL)
/// before anyone is told about it; clients read it back from their acknowledged cursor.
///
/// Opening never throws: a damaged database is moved aside and a new one started (state `degraded`), and a
/// database that cannot be opened at all puts the outbox in safe mode, where writes are refused with a clear
/// error but the daemon keeps serving (no crash loop under systemd).
public final class Outbox: MeasurementSink, Sendable {
    public static let fileName = "outbox.sqlite"

    let pool: DatabasePool?
    let logger: Logger
    /// The state directory holding the database and the `artifacts/` folder.
    public let directory: String
    private let projector: (any ObservationProjector)?
    let now: @Sendable () -> Int64
    /// The boot clock that stamps session starts and ends next to `now` (see `SessionRules`).
    public let bootNow: @Sendable () -> BootInstant?
    private let state: Mutex<State>
    private let recordQueue = Mutex(RecordQueue())
    /// Events buffered per subscriber before the subscriber is considered too slow (it then re-reads the outbox).
    public let subscriberBuffer: Int

    private struct State {
        var storage: StorageState
        var active: SessionInfo?
        var lastEventID: Int64 = 0
        var subscribers: [Int: Subscriber] = [:]
        var nextSubscriber = 0
        /// Acks not yet written: acks are batched because a lost ack only causes a redelivery.
        var pendingAcks: [String: Int64] = [:]
        var storageSubscribers: [Int: AsyncStream<StorageState>.Continuation] = [:]
    }

    private struct Subscriber {
        var continuation: AsyncStream<StoredEvent>.Continuation
        var dropped = false
    }

    /// Opens (or creates) `directory/outbox.sqlite`.
    public static func open(
        directory: String,
        logger: Logger,
        projector: (any ObservationProjector)? = nil,
        subscriberBuffer: Int = 512,
        now: @escaping @Sendable () -> Int64 = Outbox.currentMicros,
        bootNow: @escaping @Sendable () -> BootInstant? = BootClock.now
    ) -> Outbox {
        let path = (directory as NSString).appendingPathComponent(fileName)
        var storage = StorageState.ok
        var pool: DatabasePool?
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            pool = try openDatabase(path: path)
        } catch let error as OutboxError where error.code == .corrupt {
            let quarantine = "\(path).corrupt-\(now() / 1_000_000)"
            logger.critical(
                "outbox database is damaged; moved aside and started a new one",
                metadata: ["path": "\(path)", "moved_to": "\(quarantine)", "error": "\(error.message)"]
            )
            do {
                for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
                    try FileManager.default.moveItem(atPath: path + suffix, toPath: quarantine + suffix)
                }
                pool = try openDatabase(path: path)
                storage = .degraded(reason: "the outbox database was damaged and was moved to \(quarantine)")
            } catch {
                storage = .safeMode(reason: "outbox database \(path) is damaged and could not be replaced: \(error)")
            }
        } catch {
            storage = .safeMode(reason: "cannot open outbox database \(path): \(describe(error))")
        }
        if case .safeMode(let reason) = storage {
            logger.critical("outbox in safe mode: measurements are refused", metadata: ["reason": "\(reason)"])
        }
        let outbox = Outbox(
            pool: pool,
            directory: directory,
            storage: storage,
            logger: logger,
            projector: projector,
            subscriberBuffer: subscriberBuffer,
            now: now,
            bootNow: bootNow
        )
        outbox.loadState()
        outbox.sweepArtifacts()
        return outbox
    }

    private init(
        pool: DatabasePool?,
        directory: String,
        storage: StorageState,
        logger: Logger,
        projector: (any ObservationProjector)?,
        subscriberBuffer: Int,
        now: @escaping @Sendable () -> Int64,
        bootNow: @escaping @Sendable () -> BootInstant?
    ) {
        self.pool = pool
        self.directory = directory
        self.logger = logger
        self.projector = projector
        self.subscriberBuffer = subscriberBuffer
        self.now = now
        self.bootNow = bootNow
        self.state = Mutex(State(storage: storage))
    }

    public static let currentMicros: @Sendable () -> Int64 = {
        Int64((Date().timeIntervalSince1970 * 1_000_000).rounded())
    }

    private static func openDatabase(path: String) throws -> DatabasePool {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            // FULL: a commit is on disk when it returns, so "recorded" means "survives power loss".
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        DatabaseMemory.limitCache(&configuration)
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            let check = try pool.read { db in try String.fetchOne(db, sql: "PRAGMA quick_check") }
            if check != "ok" {
                throw OutboxError(.corrupt, "integrity check failed: \(check ?? "no answer")")
            }
            try migrator.migrate(pool)
        } catch let error as DatabaseError
            where error.resultCode == .SQLITE_CORRUPT || error.resultCode == .SQLITE_NOTADB
        {
            throw OutboxError(.corrupt, "\(error.resultCode): \(error.message ?? "damaged file")")
        }
        return pool
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE events (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        type TEXT NOT NULL,
                        session_id TEXT,
                        measurement_id TEXT,
                        created_at INTEGER NOT NULL,
                        payload TEXT NOT NULL
                    );
                    CREATE INDEX events_created ON events(created_at);
                    CREATE TABLE sessions (
                        id TEXT PRIMARY KEY,
                        context_ref TEXT NOT NULL,
                        started_at INTEGER NOT NULL,
                        ended_at INTEGER
                    );
                    CREATE TABLE measurements (
                        id TEXT PRIMARY KEY,
                        received_at INTEGER NOT NULL,
                        origin TEXT NOT NULL,
                        binding TEXT NOT NULL,
                        session_id TEXT,
                        body TEXT NOT NULL,
                        updated_at INTEGER NOT NULL
                    );
                    CREATE TABLE cursors (
                        client_id TEXT PRIMARY KEY,
                        acked INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL
                    );
                    CREATE TABLE audit (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        at INTEGER NOT NULL,
                        action TEXT NOT NULL,
                        measurement_id TEXT,
                        session_id TEXT,
                        reason TEXT
                    );
                    CREATE TABLE purge_log (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        at INTEGER NOT NULL,
                        cutoff INTEGER NOT NULL,
                        events INTEGER NOT NULL,
                        measurements INTEGER NOT NULL,
                        sessions INTEGER NOT NULL,
                        audit_entries INTEGER NOT NULL
                    );
                    """
            )
        }
        migrator.registerMigration("v2-artifacts") { db in try Self.createArtifactTables(db) }
        // Issue 11: why each reading has its binding (shown to the app), and who typed a manual entry.
        migrator.registerMigration("v3-binding-reason") { db in
            try db.execute(
                sql: """
                    ALTER TABLE measurements ADD COLUMN binding_reason TEXT;
                    ALTER TABLE audit ADD COLUMN operator_ref TEXT;
                    """
            )
        }
        // Session start and end on the boot clock, so a wall-clock step cannot move a live reading out of its
        // session (SessionRules); null for sessions stamped before, which keep the wall-clock rule.
        migrator.registerMigration("v4-boot-clock") { db in
            try db.execute(
                sql: """
                    ALTER TABLE sessions ADD COLUMN started_boot_id TEXT;
                    ALTER TABLE sessions ADD COLUMN started_boot_micros INTEGER;
                    ALTER TABLE sessions ADD COLUMN ended_boot_id TEXT;
                    ALTER TABLE sessions ADD COLUMN ended_boot_micros INTEGER;
                    """
            )
        }
        return migrator
    }

    private func loadState() {
        guard let pool else { return }
        do {
            let (active, last) = try pool.read { db -> (SessionInfo?, Int64) in
                let row = try Row.fetchOne(
                    db,
                    sql: "SELECT * FROM sessions WHERE ended_at IS NULL ORDER BY started_at DESC LIMIT 1"
                )
                let last = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'events'") ?? 0
                return (row.map(Self.session(from:)), last)
            }
            state.withLock {
                $0.active = active
                $0.lastEventID = last
            }
        } catch {
            enterSafeMode("cannot read the outbox database: \(Self.describe(error))")
        }
    }

    // MARK: state

    public var storageState: StorageState { state.withLock { $0.storage } }
    public var activeSession: SessionInfo? { state.withLock { $0.active } }
    /// Id of the newest event written.
    public var lastEventID: Int64 { state.withLock { $0.lastEventID } }

    private func enterSafeMode(_ reason: String) {
        logger.critical("outbox in safe mode: measurements are refused", metadata: ["reason": "\(reason)"])
        setStorage(.safeMode(reason: reason))
    }

    /// Changes the storage state and tells `storageChanges()` followers when it really changed.
    private func setStorage(_ storage: StorageState) {
        state.withLock { state in
            guard state.storage != storage else { return }
            state.storage = storage
            for continuation in state.storageSubscribers.values { continuation.yield(storage) }
        }
    }

    /// Every later change of `storageState` (ok, degraded, safe mode), newest only when the follower lags.
    public func storageChanges() -> AsyncStream<StorageState> {
        let (stream, continuation) = AsyncStream.makeStream(of: StorageState.self, bufferingPolicy: .bufferingNewest(1))
        let key = state.withLock { state in
            let key = state.nextSubscriber
            state.nextSubscriber += 1
            state.storageSubscribers[key] = continuation
            return key
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.storageSubscribers.removeValue(forKey: key) }
        }
        return stream
    }

    /// Runs a read on the database: an outbox that is not open, or a read that fails, is `storageUnavailable`.
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(OutboxError) -> T {
        guard let pool else { throw OutboxError(.storageUnavailable, storageState.reason ?? "not open") }
        do {
            return try await pool.read(body)
        } catch {
            throw OutboxError(.storageUnavailable, Self.describe(error))
        }
    }

    func writablePool() throws(OutboxError) -> DatabasePool {
        guard let pool else {
            throw OutboxError(.storageUnavailable, storageState.reason ?? "the outbox database is not open")
        }
        if case .safeMode(let reason) = storageState { throw OutboxError(.storageUnavailable, reason) }
        return pool
    }

    /// Runs a write transaction; the events it returns are published to subscribers after the commit, in id
    /// order, from inside the database's serial writer (so concurrent writers cannot reorder them).
    /// `committed` runs there too, after the commit and before the events are published: in-memory state it
    /// updates changes in the same order as the database, and is current when a subscriber sees the events.
    func write<T: Sendable>(
        committed: (@Sendable (T) -> Void)? = nil,
        _ body: @escaping @Sendable (Database) throws -> (T, [StoredEvent])
    ) async throws(OutboxError) -> T {
        let pool = try writablePool()
        do {
            let value = try await pool.writeWithoutTransaction { db -> T in
                var result: (T, [StoredEvent])?
                try db.inTransaction {
                    result = try body(db)
                    return .commit
                }
                guard let result else { throw OutboxError(.invalidArgument, "transaction produced no result") }
                committed?(result.0)
                self.publish(result.1)
                return result.0
            }
            if case .degraded(let reason) = storageState, reason.hasPrefix("disk full") {
                setStorage(.ok)
            }
            return value
        } catch let error as OutboxError {
            throw error
        } catch let error as DatabaseError {
            throw classify(error)
        } catch {
            throw OutboxError(.storageUnavailable, Self.describe(error))
        }
    }

    private func classify(_ error: DatabaseError) -> OutboxError {
        switch error.resultCode {
        case .SQLITE_FULL:
            let reason = "disk full: the outbox cannot store new data (free space in the state directory)"
            logger.error("outbox write failed", metadata: ["reason": "\(reason)"])
            setStorage(.degraded(reason: reason))
            return OutboxError(.diskFull, reason)
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            let reason = "the outbox database is damaged (\(error.message ?? "corrupt")); restart boothd to replace it"
            enterSafeMode(reason)
            return OutboxError(.corrupt, reason)
        default:
            let reason = "outbox write failed: \(Self.describe(error))"
            logger.error("outbox write failed", metadata: ["reason": "\(reason)"])
            return OutboxError(.storageUnavailable, reason)
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError {
            return "\(error.resultCode): \(error.message ?? "no detail")"
        }
        return "\(error)"
    }

    // MARK: events

    func appendEvent(
        _ db: Database,
        type: String,
        sessionID: String?,
        measurementID: String?,
        payload: String
    ) throws -> StoredEvent {
        let at = now()
        try db.execute(
            sql: """
                INSERT INTO events (type, session_id, measurement_id, created_at, payload)
                VALUES (?, ?, ?, ?, ?)
                """,
            arguments: [type, sessionID, measurementID, at, payload]
        )
        return StoredEvent(
            id: db.lastInsertedRowID,
            type: type,
            sessionID: sessionID,
            createdAtMicros: at,
            payload: payload
        )
    }

    private func publish(_ events: [StoredEvent]) {
        guard !events.isEmpty else { return }
        state.withLock { state in
            for event in events {
                state.lastEventID = max(state.lastEventID, event.id)
                for (key, subscriber) in state.subscribers {
                    if case .dropped = subscriber.continuation.yield(event) {
                        state.subscribers[key]?.dropped = true
                    }
                }
            }
        }
    }

    /// Follows new events as they are committed. When the subscriber falls more than `subscriberBuffer` events
    /// behind, the oldest are dropped from its stream (the newest are kept, so the subscriber always learns how
    /// far the outbox has gone): it sees a gap in ids and reads the missing ones back with `events(after:)`.
    /// Memory stays bounded whatever the subscriber does.
    public func subscribe() -> AsyncStream<StoredEvent> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: StoredEvent.self,
            bufferingPolicy: .bufferingNewest(subscriberBuffer)
        )
        let key = state.withLock { state in
            let key = state.nextSubscriber
            state.nextSubscriber += 1
            state.subscribers[key] = Subscriber(continuation: continuation)
            return key
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: key) }
        }
        return stream
    }

    /// Events with id greater than `after`, oldest first.
    public func events(after: Int64, limit: Int = 256) async throws(OutboxError) -> [StoredEvent] {
        guard let pool else { throw OutboxError(.storageUnavailable, storageState.reason ?? "not open") }
        do {
            return try await pool.read { db in
                try Row.fetchAll(
                    db,
                    sql: "SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?",
                    arguments: [after, limit]
                ).map(Self.event(from:))
            }
        } catch let error as DatabaseError {
            throw classify(error)
        } catch {
            throw OutboxError(.storageUnavailable, Self.describe(error))
        }
    }

    private static func event(from row: Row) -> StoredEvent {
        StoredEvent(
            id: row["id"],
            type: row["type"],
            sessionID: row["session_id"],
            createdAtMicros: row["created_at"],
            payload: row["payload"]
        )
    }

    static func session(from row: Row) -> SessionInfo {
        SessionInfo(
            id: row["id"],
            contextRef: row["context_ref"],
            startedAtMicros: row["started_at"],
            endedAtMicros: row["ended_at"],
            startedBoot: bootInstant(row["started_boot_id"], row["started_boot_micros"]),
            endedBoot: bootInstant(row["ended_boot_id"], row["ended_boot_micros"])
        )
    }

    private static func bootInstant(_ id: String?, _ micros: Int64?) -> BootInstant? {
        guard let id, let micros else { return nil }
        return BootInstant(bootID: id, micros: micros)
    }

    // MARK: measurements

    public func record(_ measurement: BoothCore.Measurement) async throws {
        _ = try await record(measurement, trustedTakenAtMicros: nil)
    }

    /// Records a measurement, binding it per `SessionRules`. Idempotent on the measurement id: a second call
    /// stores nothing and returns the binding chosen the first time.
    ///
    /// - Parameters:
    ///   - autoAssign: the safety layer's verdict; `.refused` keeps the reading out of the active session
    ///     (another user's cuff slot), with the reason recorded.
    ///   - auditReason: for a manual entry (method `.manual`), the operator's reason, written to the audit trail
    ///     in the same transaction as the measurement.
    ///
    /// Group commit: measurements recorded while a commit is in progress are written together in the next
    /// transaction (one fsync for all of them); each call still returns only after its own data is on disk.
    @discardableResult
    public func record(
        _ measurement: BoothCore.Measurement,
        trustedTakenAtMicros: Int64?,
        autoAssign: AutoAssign = .allowed,
        auditReason: String? = nil
    ) async throws(OutboxError) -> MeasurementBinding {
        let body: String
        do {
            body = try Self.encode(measurement)
        } catch {
            throw OutboxError(.invalidArgument, "measurement \(measurement.id) cannot be encoded: \(error)")
        }
        _ = try writablePool()
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<RecordResult, Never>) in
            let item = PendingRecord(
                measurement: measurement,
                body: body,
                trustedTakenAtMicros: trustedTakenAtMicros,
                autoAssign: autoAssign,
                auditReason: auditReason,
                continuation: continuation
            )
            let startFlush = recordQueue.withLock { queue in
                queue.pending.append(item)
                guard !queue.flushing else { return false }
                queue.flushing = true
                return true
            }
            if startFlush { Task { await self.flushRecords() } }
        }
        return try result.get()
    }

    private typealias RecordResult = Result<MeasurementBinding, OutboxError>

    private struct PendingRecord: Sendable {
        var measurement: BoothCore.Measurement
        var body: String
        var trustedTakenAtMicros: Int64?
        var autoAssign: AutoAssign
        var auditReason: String?
        var continuation: CheckedContinuation<RecordResult, Never>
    }

    private struct RecordQueue: Sendable {
        var pending: [PendingRecord] = []
        var flushing = false
    }

    private func flushRecords() async {
        while true {
            let batch = recordQueue.withLock { queue in
                let batch = queue.pending
                queue.pending = []
                if batch.isEmpty { queue.flushing = false }
                return batch
            }
            if batch.isEmpty { return }
            let projector = projector
            let inputs = batch.map { $0 }
            do {
                let bindings = try await write { db in
                    var bindings: [MeasurementBinding] = []
                    var events: [StoredEvent] = []
                    for item in inputs {
                        let (binding, event) = try self.insert(db, item, projector: projector)
                        bindings.append(binding)
                        if let event { events.append(event) }
                    }
                    return (bindings, events)
                }
                for (item, binding) in zip(batch, bindings) { item.continuation.resume(returning: .success(binding)) }
            } catch {
                for item in batch { item.continuation.resume(returning: .failure(error)) }
            }
        }
    }

    private func insert(
        _ db: Database,
        _ item: PendingRecord,
        projector: (any ObservationProjector)?
    ) throws -> (MeasurementBinding, StoredEvent?) {
        let measurement = item.measurement
        let body = item.body
        if let existing = try String.fetchOne(
            db,
            sql: "SELECT binding FROM measurements WHERE id = ?",
            arguments: [measurement.id]
        ) {
            return (MeasurementBinding(rawValue: existing) ?? .unassigned, nil)
        }
        // The active session is read inside the transaction: start/end commit in the same serial writer,
        // so a reading can never be bound to a session that had already ended.
        let activeRow = try Row.fetchOne(
            db,
            sql: "SELECT * FROM sessions WHERE ended_at IS NULL ORDER BY started_at DESC LIMIT 1"
        )
        let decision = SessionRules.decide(
            for: measurement,
            active: activeRow.map(Self.session(from:)),
            trustedTakenAtMicros: item.trustedTakenAtMicros,
            autoAssign: item.autoAssign
        )
        let (binding, sessionID) = (decision.binding, decision.sessionID)
        try db.execute(
            sql: """
                INSERT INTO measurements
                    (id, received_at, origin, binding, session_id, body, updated_at, binding_reason)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                measurement.id, measurement.receivedAtMicros, measurement.origin.rawValue, binding.rawValue,
                sessionID, body, now(), decision.reason.rawValue,
            ]
        )
        if measurement.method == .manual {
            try audit(
                db,
                action: "manual_entry",
                measurementID: measurement.id,
                sessionID: sessionID,
                reason: item.auditReason,
                operatorRef: measurement.provenance?.operatorRef
            )
        }
        let payload = Self.measurementPayload(
            body: body,
            binding: binding,
            sessionID: sessionID,
            reason: decision.reason,
            fhir: Self.project(measurement, sessionID: sessionID, with: projector)
        )
        let event = try appendEvent(
            db,
            type: "measurement",
            sessionID: sessionID,
            measurementID: measurement.id,
            payload: payload
        )
        return (binding, event)
    }

    private static func project(
        _ measurement: BoothCore.Measurement,
        sessionID: String?,
        with projector: (any ObservationProjector)?
    ) -> String? {
        guard let projector else { return nil }
        // A projection failure must not lose the measurement: the event goes out without the FHIR view.
        return try? projector.observationJSON(for: measurement, sessionID: sessionID)
    }

    static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func jsonString(_ text: String?) -> String {
        guard let text else { return "null" }
        return (try? encode(text)) ?? "null"
    }

    static func measurementPayload(
        body: String,
        binding: MeasurementBinding,
        sessionID: String?,
        reason: BindingReason? = nil,
        fhir: String?
    ) -> String {
        var payload = "{\"binding\":\"\(binding.rawValue)\","
        if let reason { payload += "\"bindingReason\":\"\(reason.rawValue)\"," }
        payload += "\"measurement\":\(body),\"sessionId\":\(jsonString(sessionID))"
        if let fhir { payload += ",\"fhir\":\(fhir)" }
        return payload + "}"
    }

    /// Where an explicit assignment goes: `sessionID` when that session exists, otherwise the active session.
    static func assignmentTarget(_ db: Database, sessionID: String?, noActiveSession: String) throws -> String {
        if let sessionID {
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM sessions WHERE id = ?", arguments: [sessionID]) != nil
            else { throw OutboxError(.unknownSession, "no session \(sessionID)") }
            return sessionID
        }
        guard
            let active = try String.fetchOne(
                db,
                sql: "SELECT id FROM sessions WHERE ended_at IS NULL ORDER BY started_at DESC LIMIT 1"
            )
        else { throw OutboxError(.noActiveSession, noActiveSession) }
        return active
    }

    /// Binds an unassigned or history reading to a session (the active one when `sessionID` is nil).
    public func assign(
        measurementID: String,
        to sessionID: String?,
        reason: String?
    ) async throws(OutboxError) -> StoredEvent {
        try await write { db in
            let row = try Row.fetchOne(
                db,
                sql: "SELECT binding, body FROM measurements WHERE id = ?",
                arguments: [measurementID]
            )
            guard let row else { throw OutboxError(.unknownMeasurement, "no measurement \(measurementID)") }
            let binding: String = row["binding"]
            guard binding == MeasurementBinding.unassigned.rawValue || binding == MeasurementBinding.history.rawValue
            else {
                throw OutboxError(
                    .alreadyBound,
                    "measurement \(measurementID) is \(binding); only unassigned or history readings can be assigned"
                )
            }
            let target = try Self.assignmentTarget(
                db,
                sessionID: sessionID,
                noActiveSession: "no active session to assign to; give a sessionId"
            )
            let at = self.now()
            try db.execute(
                sql: """
                    UPDATE measurements SET binding = 'session', session_id = ?, updated_at = ?, binding_reason = ?
                    WHERE id = ?
                    """,
                arguments: [target, at, BindingReason.assignedExplicitly.rawValue, measurementID]
            )
            try self.audit(db, action: "assign", measurementID: measurementID, sessionID: target, reason: reason)
            let body: String = row["body"]
            let payload =
                "{\"measurementId\":\(Self.jsonString(measurementID)),\"previousBinding\":\"\(binding)\","
                + "\"sessionId\":\(Self.jsonString(target)),\"measurement\":\(body)}"
            let event = try self.appendEvent(
                db,
                type: "measurement.assigned",
                sessionID: target,
                measurementID: measurementID,
                payload: payload
            )
            return (event, [event])
        }
    }

    /// Discards an unassigned or history reading. The decoded values stay until the retention purge so the
    /// audit trail can be checked; it is never pushed as session data again.
    public func discard(measurementID: String, reason: String?) async throws(OutboxError) -> StoredEvent {
        try await write { db in
            guard
                let binding = try String.fetchOne(
                    db,
                    sql: "SELECT binding FROM measurements WHERE id = ?",
                    arguments: [measurementID]
                )
            else { throw OutboxError(.unknownMeasurement, "no measurement \(measurementID)") }
            guard binding == MeasurementBinding.unassigned.rawValue || binding == MeasurementBinding.history.rawValue
            else {
                throw OutboxError(
                    .alreadyBound,
                    "measurement \(measurementID) is \(binding); only unassigned or history readings can be discarded"
                )
            }
            try db.execute(
                sql: "UPDATE measurements SET binding = 'discarded', updated_at = ?, binding_reason = ? WHERE id = ?",
                arguments: [self.now(), BindingReason.discardedExplicitly.rawValue, measurementID]
            )
            try self.audit(db, action: "discard", measurementID: measurementID, sessionID: nil, reason: reason)
            let payload =
                "{\"measurementId\":\(Self.jsonString(measurementID)),\"previousBinding\":\"\(binding)\","
                + "\"reason\":\(Self.jsonString(reason))}"
            let event = try self.appendEvent(
                db,
                type: "measurement.discarded",
                sessionID: nil,
                measurementID: measurementID,
                payload: payload
            )
            return (event, [event])
        }
    }

    func audit(
        _ db: Database,
        action: String,
        measurementID: String?,
        sessionID: String?,
        reason: String?,
        operatorRef: String? = nil
    )
        throws
    {
        try db.execute(
            sql: """
                INSERT INTO audit (at, action, measurement_id, session_id, reason, operator_ref)
                VALUES (?, ?, ?, ?, ?, ?)
                """,
            arguments: [now(), action, measurementID, sessionID, reason, operatorRef]
        )
    }

    /// Measurements waiting for a decision (unassigned and history), oldest first, as JSON texts with binding
    /// and the reason for it (nil for readings stored before reasons were recorded).
    public func pendingMeasurements(
        limit: Int = 200
    ) async throws(OutboxError) -> [(binding: String, body: String, reason: String?)] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT binding, body, binding_reason FROM measurements
                    WHERE binding IN ('unassigned', 'history') ORDER BY received_at LIMIT ?
                    """,
                arguments: [limit]
            ).map {
                (binding: $0["binding"] as String, body: $0["body"] as String, reason: $0["binding_reason"])
            }
        }
    }

    /// The binding of one measurement, nil when unknown.
    public func binding(ofMeasurement id: String) async throws(OutboxError) -> (MeasurementBinding, String?)? {
        try await read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: "SELECT binding, session_id FROM measurements WHERE id = ?",
                    arguments: [id]
                )
            else { return nil }
            let binding = MeasurementBinding(rawValue: row["binding"]) ?? .unassigned
            return (binding, row["session_id"] as String?)
        }
    }

    /// The binding of one measurement with the session and the reason, nil when unknown.
    public func bindingDecision(ofMeasurement id: String) async throws(OutboxError) -> BindingDecision? {
        try await read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: "SELECT binding, session_id, binding_reason FROM measurements WHERE id = ?",
                    arguments: [id]
                )
            else { return nil }
            return BindingDecision(
                binding: MeasurementBinding(rawValue: row["binding"]) ?? .unassigned,
                sessionID: row["session_id"],
                reason: BindingReason(rawValue: row["binding_reason"] ?? "") ?? .noActiveSession
            )
        }
    }

    /// Records that a readiness check ran (issue 11: the usage report counts them): one `readiness.report` event
    /// carrying the report's JSON object, tied to the active session if any.
    public func recordReadinessReport(json: String) async throws(OutboxError) -> StoredEvent {
        try await write { db in
            let session = try String.fetchOne(
                db,
                sql: "SELECT id FROM sessions WHERE ended_at IS NULL ORDER BY started_at DESC LIMIT 1"
            )
            let event = try self.appendEvent(
                db,
                type: "readiness.report",
                sessionID: session,
                measurementID: nil,
                payload: json
            )
            return (event, [event])
        }
    }

    // MARK: sessions

    /// Starts a session. Only one session is active at a time.
    public func startSession(id: String, contextRef: String) async throws(OutboxError) -> SessionInfo {
        guard !id.isEmpty, id.count <= 128 else {
            throw OutboxError(.invalidArgument, "sessionId must be 1 to 128 characters")
        }
        guard contextRef.count <= 512 else {
            throw OutboxError(.invalidArgument, "contextRef must be at most 512 characters")
        }
        // The in-memory active session is set in the serial writer, right after the commit: set after `write`
        // returned, a concurrent end (by a client that saw session.started) could be overwritten by this start,
        // and a client could see session.started or session.ended before `session.current` said so.
        let setActive: @Sendable (SessionInfo) -> Void = { session in self.state.withLock { $0.active = session } }
        let session = try await write(committed: setActive) { db in
            if let active = try String.fetchOne(db, sql: "SELECT id FROM sessions WHERE ended_at IS NULL") {
                throw OutboxError(.sessionActive, "session \(active) is active; end it first")
            }
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM sessions WHERE id = ?", arguments: [id]) != nil {
                throw OutboxError(.invalidArgument, "session id \(id) was already used")
            }
            let session = SessionInfo(
                id: id,
                contextRef: contextRef,
                startedAtMicros: self.now(),
                startedBoot: self.bootNow()
            )
            try db.execute(
                sql: """
                    INSERT INTO sessions (id, context_ref, started_at, started_boot_id, started_boot_micros)
                    VALUES (?, ?, ?, ?, ?)
                    """,
                arguments: [
                    session.id, session.contextRef, session.startedAtMicros, session.startedBoot?.bootID,
                    session.startedBoot?.micros,
                ]
            )
            let event = try self.appendEvent(
                db,
                type: "session.started",
                sessionID: id,
                measurementID: nil,
                payload: try Self.encode(session)
            )
            return (session, [event])
        }
        return session
    }

    /// Ends the active session (it must be `id`).
    public func endSession(id: String) async throws(OutboxError) -> SessionInfo {
        let clearActive: @Sendable (SessionInfo) -> Void = { _ in self.state.withLock { $0.active = nil } }
        let session = try await write(committed: clearActive) { db in
            guard
                let row = try Row.fetchOne(db, sql: "SELECT * FROM sessions WHERE ended_at IS NULL")
            else { throw OutboxError(.noActiveSession, "no session is active") }
            var session = Self.session(from: row)
            guard session.id == id else {
                throw OutboxError(.unknownSession, "session \(id) is not the active session")
            }
            session.endedAtMicros = max(self.now(), session.startedAtMicros)
            session.endedBoot = self.bootNow()
            try db.execute(
                sql: "UPDATE sessions SET ended_at = ?, ended_boot_id = ?, ended_boot_micros = ? WHERE id = ?",
                arguments: [session.endedAtMicros, session.endedBoot?.bootID, session.endedBoot?.micros, id]
            )
            let event = try self.appendEvent(
                db,
                type: "session.ended",
                sessionID: id,
                measurementID: nil,
                payload: try Self.encode(session)
            )
            return (session, [event])
        }
        return session
    }

    // MARK: cursors

    /// The last event id `client` acknowledged (0 for a new client).
    public func cursor(client: String) async throws(OutboxError) -> Int64 {
        if let pending = state.withLock({ $0.pendingAcks[client] }) { return pending }
        guard let pool else { return 0 }
        do {
            return try await pool.read { db in
                try Int64.fetchOne(db, sql: "SELECT acked FROM cursors WHERE client_id = ?", arguments: [client]) ?? 0
            }
        } catch {
            throw OutboxError(.storageUnavailable, Self.describe(error))
        }
    }

    /// Records that `client` has every event up to `upTo`. Cursors only move forward. The write is batched
    /// (`flushAcks`): losing an ack in a crash only means the client sees the event again and dedupes it.
    public func acknowledge(client: String, upTo: Int64) throws(OutboxError) {
        try state.withLock { state throws(OutboxError) in
            guard upTo <= state.lastEventID else {
                throw OutboxError(.invalidArgument, "ack \(upTo) is beyond the newest event \(state.lastEventID)")
            }
            state.pendingAcks[client] = max(state.pendingAcks[client] ?? 0, upTo)
        }
    }

    /// Writes batched acks.
    public func flushAcks() async throws(OutboxError) {
        let pending = state.withLock { $0.pendingAcks }
        guard !pending.isEmpty, let pool, !(storageState.name == "safe-mode") else { return }
        let at = now()
        do {
            try await pool.write { db in
                for (client, acked) in pending {
                    try db.execute(
                        sql: """
                            INSERT INTO cursors (client_id, acked, updated_at) VALUES (?, ?, ?)
                            ON CONFLICT(client_id) DO UPDATE SET acked = max(acked, excluded.acked),
                                updated_at = excluded.updated_at
                            """,
                        arguments: [client, acked, at]
                    )
                }
            }
        } catch let error as DatabaseError {
            throw classify(error)
        } catch {
            throw OutboxError(.storageUnavailable, Self.describe(error))
        }
        state.withLock { state in
            for (client, acked) in pending where state.pendingAcks[client] == acked {
                state.pendingAcks.removeValue(forKey: client)
            }
        }
    }

    /// Events no client has acknowledged yet (after the highest cursor, the one the purge uses): how many,
    /// and when the oldest of them was written. For `/metrics` and `boothctl status`.
    public func backlog() async throws(OutboxError) -> OutboxBacklog {
        let pendingMax = state.withLock { $0.pendingAcks.values.max() ?? 0 }
        return try await read { db in
            let stored = try Int64.fetchOne(db, sql: "SELECT max(acked) FROM cursors") ?? 0
            let delivered = max(stored, pendingMax)
            let row = try Row.fetchOne(
                db,
                sql: "SELECT count(*) AS depth, min(created_at) AS oldest FROM events WHERE id > ?",
                arguments: [delivered]
            )
            return OutboxBacklog(
                depth: row?["depth"] ?? 0,
                oldestUndeliveredMicros: row?["oldest"],
                deliveredThrough: delivered
            )
        }
    }

    // MARK: retention

    /// Removes delivered data older than `retentionHours` and writes one `purge_log` row.
    ///
    /// Delivered means acknowledged by at least one client. Unassigned and history readings wait for a decision
    /// and are kept; an active session is kept. Events nobody has acknowledged are kept whatever their age.
    @discardableResult
    public func purge(retentionHours: Double) async throws(OutboxError) -> PurgeReport {
        try await flushAcks()
        let at = now()
        let cutoff = at - Int64(retentionHours * 3_600_000_000)
        // Artifact files go once their rows are gone (after the commit), so a failed purge loses nothing.
        defer { sweepArtifacts() }
        return try await write { db in
            let delivered = try Int64.fetchOne(db, sql: "SELECT max(acked) FROM cursors") ?? 0
            try db.execute(
                sql: """
                    DELETE FROM measurements WHERE updated_at < ? AND binding IN ('session', 'discarded')
                    AND (session_id IS NULL OR session_id NOT IN (SELECT id FROM sessions WHERE ended_at IS NULL))
                    AND NOT EXISTS (SELECT 1 FROM events e WHERE e.measurement_id = measurements.id AND e.id > ?)
                    """,
                arguments: [cutoff, delivered]
            )
            let measurements = db.changesCount
            try db.execute(
                sql: "DELETE FROM events WHERE id <= ? AND created_at < ?",
                arguments: [delivered, cutoff]
            )
            let events = db.changesCount
            let artifacts = try self.purgeArtifacts(db, cutoff: cutoff, delivered: delivered)
            try db.execute(
                sql: """
                    DELETE FROM sessions WHERE ended_at IS NOT NULL AND ended_at < ?
                    AND NOT EXISTS (SELECT 1 FROM measurements m WHERE m.session_id = sessions.id)
                    AND NOT EXISTS (SELECT 1 FROM events e WHERE e.session_id = sessions.id)
                    """,
                arguments: [cutoff]
            )
            let sessions = db.changesCount
            try db.execute(sql: "DELETE FROM audit WHERE at < ?", arguments: [cutoff])
            let auditEntries = db.changesCount
            let report = PurgeReport(
                cutoffMicros: cutoff,
                events: events,
                measurements: measurements,
                sessions: sessions,
                auditEntries: auditEntries,
                artifacts: artifacts
            )
            try db.execute(
                sql: """
                    INSERT INTO purge_log (at, cutoff, events, measurements, sessions, audit_entries, artifacts)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [at, cutoff, events, measurements, sessions, auditEntries, artifacts]
            )
            return (report, [])
        }
    }

    /// Rows of the purge log, newest first (for `boothctl` and tests).
    public func purgeLog(limit: Int = 50) async throws(OutboxError) -> [PurgeReport] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM purge_log ORDER BY id DESC LIMIT ?", arguments: [limit])
                .map {
                    PurgeReport(
                        cutoffMicros: $0["cutoff"],
                        events: $0["events"],
                        measurements: $0["measurements"],
                        sessions: $0["sessions"],
                        auditEntries: $0["audit_entries"],
                        artifacts: $0["artifacts"]
                    )
                }
        }
    }

    /// One row of the audit trail.
    public struct AuditEntry: Sendable, Hashable {
        public var atMicros: Int64
        public var action: String
        public var measurementID: String?
        public var sessionID: String?
        public var reason: String?
        public var operatorRef: String?
    }

    /// The full audit trail (with reasons and operator references), oldest first.
    public func auditEntries() async throws(OutboxError) -> [AuditEntry] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit ORDER BY id").map {
                AuditEntry(
                    atMicros: $0["at"],
                    action: $0["action"],
                    measurementID: $0["measurement_id"],
                    sessionID: $0["session_id"],
                    reason: $0["reason"],
                    operatorRef: $0["operator_ref"]
                )
            }
        }
    }

    /// Audit trail rows (action, measurement id, session id, reason), oldest first.
    public func auditTrail() async throws(OutboxError) -> [(action: String, measurementID: String?, sessionID: String?)]
    {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit ORDER BY id").map {
                (action: $0["action"], measurementID: $0["measurement_id"], sessionID: $0["session_id"])
            }
        }
    }
}
