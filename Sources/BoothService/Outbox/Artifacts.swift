import BoothCore
import Foundation
import GRDB
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// One file of an artifact (the JPEG of a snapshot, the FLAC and the phonocardiogram of a recording, the PDF and
/// the PNG of an ECG strip).
public struct ArtifactPart: Sendable, Hashable {
    /// File name inside the artifact, e.g. `snapshot.jpg`: letters, digits, `.`, `_`, `-`; at most 64 characters.
    public var name: String
    /// IANA media type served with the file, e.g. `image/jpeg`.
    public var mediaType: String
    public var bytes: [UInt8]

    public init(name: String, mediaType: String, bytes: [UInt8]) {
        self.name = name
        self.mediaType = mediaType
        self.bytes = bytes
    }
}

/// A binary result taken by a device — a snapshot, an auscultation recording, an ECG strip — to be stored with the
/// same durability as a measurement: its files are on disk (fsynced) and its row committed before anyone is told.
public struct NewArtifact: Sendable {
    /// Unique id; recording the same id twice stores nothing the second time.
    public var id: String
    /// `snapshot`, `recording`, `ecg-strip`, ...: lower-case letters, digits, `.` and `-`.
    public var kind: String
    public var deviceID: String?
    /// When the device took it, on boothd's clock (artifacts are produced live, never from device memory).
    public var takenAtMicros: Int64
    /// The same moment on the boot clock, when the producer stamped it: then a wall-clock step cannot move the
    /// artifact out of its session (`SessionRules.isAtOrAfterStart`).
    public var takenBoot: BootInstant?
    /// False for a partial result (a strip cut short by a disconnect): kept and marked, never dropped.
    public var complete: Bool
    /// Plain facts about the capture (mode, duration, resolution, lead...) — never patient identifiers.
    public var metadata: [String: String]
    public var parts: [ArtifactPart]

    public init(
        id: String = UUID().uuidString.lowercased(),
        kind: String,
        deviceID: String?,
        takenAtMicros: Int64,
        complete: Bool = true,
        metadata: [String: String] = [:],
        parts: [ArtifactPart],
        takenBoot: BootInstant? = nil
    ) {
        self.id = id
        self.kind = kind
        self.deviceID = deviceID
        self.takenAtMicros = takenAtMicros
        self.takenBoot = takenBoot
        self.complete = complete
        self.metadata = metadata
        self.parts = parts
    }
}

/// What clients are told about a stored artifact; the bytes are fetched from `part.url` with the API token.
public struct ArtifactInfo: Sendable, Hashable, Codable {
    public struct Part: Sendable, Hashable, Codable {
        public var name: String
        public var mediaType: String
        public var size: Int
        /// Path on boothd's HTTP listener: `/artifacts/<id>/<name>`.
        public var url: String
    }

    public var id: String
    public var kind: String
    public var deviceId: String?
    public var takenAt: Int64
    public var receivedAt: Int64
    public var complete: Bool
    public var metadata: [String: String]
    public var parts: [Part]
}

/// An artifact with its current binding.
public struct StoredArtifact: Sendable, Hashable {
    public var info: ArtifactInfo
    public var binding: MeasurementBinding
    public var sessionID: String?
}

extension Outbox {
    /// Largest artifact accepted (all parts together).
    public static let maxArtifactBytes = 64 << 20
    static let maxArtifactParts = 8

    var artifactsDirectory: String { (directory as NSString).appendingPathComponent("artifacts") }

    static func createArtifactTables(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE artifacts (
                    id TEXT PRIMARY KEY,
                    kind TEXT NOT NULL,
                    device_id TEXT,
                    taken_at INTEGER NOT NULL,
                    binding TEXT NOT NULL,
                    session_id TEXT,
                    info TEXT NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                ALTER TABLE purge_log ADD COLUMN artifacts INTEGER NOT NULL DEFAULT 0;
                """
        )
    }

    /// Stores an artifact: files written and fsynced under `artifacts/<id>/`, then its row and its `artifact`
    /// event committed in one transaction. Bound to the active session when it was taken during it, otherwise
    /// `unassigned` (never `history`: artifacts are live). `autoAssign: false` keeps it unassigned whatever the
    /// session, for captures the booth is not sure belong to the patient.
    @discardableResult
    public func recordArtifact(
        _ artifact: NewArtifact,
        autoAssign: Bool = true
    ) async throws(OutboxError)
        -> StoredArtifact
    {
        try Self.validate(artifact)
        _ = try writablePool()
        if let existing = try await storedArtifact(id: artifact.id) { return existing }
        let received = now()
        let info = ArtifactInfo(
            id: artifact.id,
            kind: artifact.kind,
            deviceId: artifact.deviceID,
            takenAt: artifact.takenAtMicros,
            receivedAt: received,
            complete: artifact.complete,
            metadata: artifact.metadata,
            parts: artifact.parts.map {
                .init(
                    name: $0.name,
                    mediaType: $0.mediaType,
                    size: $0.bytes.count,
                    url: "/artifacts/\(artifact.id)/\($0.name)"
                )
            }
        )
        let infoJSON: String
        do {
            infoJSON = try Self.encode(info)
        } catch {
            throw OutboxError(.invalidArgument, "artifact \(artifact.id) cannot be encoded: \(error)")
        }
        try writeArtifactFiles(artifact)
        do {
            return try await write { db in
                let active = try Row.fetchOne(
                    db,
                    sql: "SELECT * FROM sessions WHERE ended_at IS NULL ORDER BY started_at DESC LIMIT 1"
                ).map(Self.session(from:))
                let sessionID: String?
                if autoAssign, let active,
                    SessionRules.isAtOrAfterStart(
                        wallMicros: artifact.takenAtMicros,
                        boot: artifact.takenBoot,
                        of: active
                    )
                {
                    sessionID = active.id
                } else {
                    sessionID = nil
                }
                let binding: MeasurementBinding = sessionID == nil ? .unassigned : .session
                try db.execute(
                    sql: """
                        INSERT INTO artifacts (id, kind, device_id, taken_at, binding, session_id, info, updated_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        artifact.id, artifact.kind, artifact.deviceID, artifact.takenAtMicros, binding.rawValue,
                        sessionID, infoJSON, received,
                    ]
                )
                let event = try self.appendEvent(
                    db,
                    type: "artifact",
                    sessionID: sessionID,
                    measurementID: artifact.id,
                    payload: Self.artifactPayload(info: infoJSON, binding: binding, sessionID: sessionID)
                )
                return (StoredArtifact(info: info, binding: binding, sessionID: sessionID), [event])
            }
        } catch {
            // No row, no files: a later retry starts clean.
            try? FileManager.default.removeItem(atPath: artifactPath(artifact.id))
            throw error
        }
    }

    /// The artifact with this id, if stored.
    public func storedArtifact(id: String) async throws(OutboxError) -> StoredArtifact? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM artifacts WHERE id = ?", arguments: [id]).map(
                Self.storedArtifact(from:)
            )
        }
    }

    /// Artifacts waiting for a decision (unassigned), oldest first.
    public func pendingArtifacts(limit: Int = 200) async throws(OutboxError) -> [StoredArtifact] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM artifacts WHERE binding = 'unassigned' ORDER BY taken_at LIMIT ?",
                arguments: [limit]
            ).map(Self.storedArtifact(from:))
        }
    }

    /// The file of one part, for the HTTP route (which checks the token).
    public func artifactFile(id: String, part: String) async throws(OutboxError) -> (path: String, mediaType: String) {
        guard let stored = try await storedArtifact(id: id) else {
            throw OutboxError(.unknownArtifact, "no artifact \(id.prefix(128))")
        }
        guard stored.binding != .discarded else {
            throw OutboxError(.unknownArtifact, "artifact \(id) was discarded")
        }
        guard let info = stored.info.parts.first(where: { $0.name == part }) else {
            let names = stored.info.parts.map(\.name).joined(separator: ", ")
            throw OutboxError(.unknownArtifact, "artifact \(id) has no part \"\(part.prefix(64))\" (parts: \(names))")
        }
        return ((artifactPath(id) as NSString).appendingPathComponent(info.name), info.mediaType)
    }

    /// Binds an unassigned artifact to a session (the active one when `sessionID` is nil); audited.
    public func assignArtifact(
        id: String,
        to sessionID: String?,
        reason: String?
    ) async throws(OutboxError)
        -> StoredEvent
    {
        try await write { db in
            let (stored, _) = try self.pendingArtifactRow(db, id: id)
            let target = try Self.assignmentTarget(
                db,
                sessionID: sessionID,
                noActiveSession: "no active session to assign artifact \(id) to"
            )
            try db.execute(
                sql: "UPDATE artifacts SET binding = 'session', session_id = ?, updated_at = ? WHERE id = ?",
                arguments: [target, self.now(), id]
            )
            try self.audit(db, action: "artifact.assign", measurementID: id, sessionID: target, reason: reason)
            let info = try Self.encode(stored.info)
            let event = try self.appendEvent(
                db,
                type: "artifact.assigned",
                sessionID: target,
                measurementID: id,
                payload:
                    "{\"artifact\":\(info),\"artifactId\":\(Self.jsonString(id)),\"previousBinding\":\"unassigned\",\"sessionId\":\(Self.jsonString(target))}"
            )
            return (event, [event])
        }
    }

    /// Discards an unassigned artifact: its files are no longer served and go at the next purge; audited.
    public func discardArtifact(id: String, reason: String?) async throws(OutboxError) -> StoredEvent {
        try await write { db in
            _ = try self.pendingArtifactRow(db, id: id)
            try db.execute(
                sql: "UPDATE artifacts SET binding = 'discarded', updated_at = ? WHERE id = ?",
                arguments: [self.now(), id]
            )
            try self.audit(db, action: "artifact.discard", measurementID: id, sessionID: nil, reason: reason)
            let event = try self.appendEvent(
                db,
                type: "artifact.discarded",
                sessionID: nil,
                measurementID: id,
                payload:
                    "{\"artifactId\":\(Self.jsonString(id)),\"previousBinding\":\"unassigned\",\"reason\":\(Self.jsonString(reason))}"
            )
            return (event, [event])
        }
    }

    /// Deletes artifacts that are delivered, bound or discarded, and older than the cutoff (inside the purge's
    /// transaction); their files are removed by `sweepArtifacts` after the commit.
    func purgeArtifacts(_ db: Database, cutoff: Int64, delivered: Int64) throws -> Int {
        try db.execute(
            sql: """
                DELETE FROM artifacts WHERE updated_at < ? AND binding IN ('session', 'discarded')
                AND (session_id IS NULL OR session_id NOT IN (SELECT id FROM sessions WHERE ended_at IS NULL))
                AND NOT EXISTS (SELECT 1 FROM events e WHERE e.measurement_id = artifacts.id AND e.id > ?)
                """,
            arguments: [cutoff, delivered]
        )
        return db.changesCount
    }

    /// Removes artifact folders that have no committed row: a capture interrupted by a crash before its commit,
    /// or one purged. Runs at open and after each purge.
    func sweepArtifacts() {
        guard let pool else { return }
        let root = artifactsDirectory
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: root), !entries.isEmpty else {
            return
        }
        let known: Set<String>
        do {
            known = Set(try pool.read { db in try String.fetchAll(db, sql: "SELECT id FROM artifacts") })
        } catch {
            return  // Cannot tell which files are orphans: keep them all.
        }
        var removed = 0
        for entry in entries where entry.hasPrefix(".tmp-") || !known.contains(entry) {
            if (try? FileManager.default.removeItem(atPath: (root as NSString).appendingPathComponent(entry))) != nil {
                removed += 1
            }
        }
        if removed > 0 {
            logger.info("artifact files without a committed row removed", metadata: ["count": "\(removed)"])
        }
    }

    // MARK: private helpers

    private func artifactPath(_ id: String) -> String {
        (artifactsDirectory as NSString).appendingPathComponent(id)
    }

    private func pendingArtifactRow(_ db: Database, id: String) throws -> (StoredArtifact, Row) {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM artifacts WHERE id = ?", arguments: [id]) else {
            throw OutboxError(.unknownArtifact, "no artifact \(id.prefix(128))")
        }
        let stored = try Self.storedArtifact(from: row)
        guard stored.binding == .unassigned else {
            throw OutboxError(
                .alreadyBound,
                "artifact \(id) is \(stored.binding.rawValue)\(stored.sessionID.map { " (session \($0))" } ?? "")"
            )
        }
        return (stored, row)
    }

    private static func storedArtifact(from row: Row) throws -> StoredArtifact {
        let text: String = row["info"]
        let info = try JSONDecoder().decode(ArtifactInfo.self, from: Data(text.utf8))
        let binding: String = row["binding"]
        return StoredArtifact(
            info: info,
            binding: MeasurementBinding(rawValue: binding) ?? .unassigned,
            sessionID: row["session_id"]
        )
    }

    static func artifactPayload(info: String, binding: MeasurementBinding, sessionID: String?) -> String {
        "{\"artifact\":\(info),\"binding\":\"\(binding.rawValue)\",\"sessionId\":\(jsonString(sessionID))}"
    }

    private static func validate(_ artifact: NewArtifact) throws(OutboxError) {
        func check(_ text: String, _ what: String, max: Int, extra: Set<Character>) throws(OutboxError) {
            let allowed = text.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || extra.contains($0) }
            guard !text.isEmpty, text.count <= max, allowed, text.first != ".", text.first != "-" else {
                throw OutboxError(
                    .invalidArgument,
                    "artifact \(what) \"\(text.prefix(64))\" must be 1–\(max) letters, digits, "
                        + extra.sorted().map { "'\($0)'" }.joined(separator: " ") + ", not starting with '.' or '-'"
                )
            }
        }
        try check(artifact.id, "id", max: 128, extra: [".", "_", "-"])
        try check(artifact.kind, "kind", max: 32, extra: [".", "-"])
        guard !artifact.parts.isEmpty, artifact.parts.count <= maxArtifactParts else {
            throw OutboxError(
                .invalidArgument,
                "artifact \(artifact.id) has \(artifact.parts.count) parts (1 to \(maxArtifactParts) allowed)"
            )
        }
        var names = Set<String>()
        var total = 0
        for part in artifact.parts {
            try check(part.name, "part name", max: 64, extra: [".", "_", "-"])
            guard names.insert(part.name).inserted else {
                throw OutboxError(.invalidArgument, "artifact \(artifact.id) has two parts named \(part.name)")
            }
            guard part.mediaType.contains("/"), part.mediaType.count <= 128 else {
                throw OutboxError(
                    .invalidArgument,
                    "part \(part.name): media type \"\(part.mediaType)\" is not type/subtype"
                )
            }
            total += part.bytes.count
        }
        guard total <= maxArtifactBytes else {
            throw OutboxError(
                .invalidArgument,
                "artifact \(artifact.id) is \(total) bytes (at most \(maxArtifactBytes) allowed)"
            )
        }
    }

    /// Writes the parts into `artifacts/.tmp-<id>/`, fsyncs them, renames the folder to `artifacts/<id>/` and
    /// fsyncs the parent: after this returns the files survive a power cut.
    private func writeArtifactFiles(_ artifact: NewArtifact) throws(OutboxError) {
        let root = artifactsDirectory
        let temporary = (root as NSString).appendingPathComponent(".tmp-\(artifact.id)")
        let final = artifactPath(artifact.id)
        let files = FileManager.default
        do {
            try files.createDirectory(
                atPath: root,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o750]
            )
            if files.fileExists(atPath: temporary) { try files.removeItem(atPath: temporary) }
            try files.createDirectory(
                atPath: temporary,
                withIntermediateDirectories: false,
                attributes: [.posixPermissions: 0o750]
            )
        } catch {
            throw OutboxError(.storageUnavailable, "cannot create the artifact folder under \(root): \(error)")
        }
        do {
            for part in artifact.parts {
                try Self.writeSynced(part.bytes, to: (temporary as NSString).appendingPathComponent(part.name))
            }
            try Self.syncDirectory(temporary)
            if files.fileExists(atPath: final) { try? files.removeItem(atPath: final) }
            guard rename(temporary, final) == 0 else { throw FileError(errno: errno, path: final) }
            try Self.syncDirectory(root)
        } catch {
            try? files.removeItem(atPath: temporary)
            if let error = error as? FileError, error.errno == ENOSPC || error.errno == EDQUOT {
                let reason =
                    "disk full: the artifact \(artifact.kind) could not be stored (free space in the state directory)"
                logger.error("artifact write failed", metadata: ["reason": "\(reason)"])
                throw OutboxError(.diskFull, reason)
            }
            throw OutboxError(.storageUnavailable, "cannot write artifact \(artifact.id): \(error)")
        }
    }

    private struct FileError: Error, CustomStringConvertible {
        var errno: Int32
        var path: String
        var description: String { "\(path): \(String(cString: strerror(errno)))" }
    }

    private static func writeSynced(_ bytes: [UInt8], to path: String) throws(FileError) {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw FileError(errno: errno, path: path) }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                Glibc.write(fd, buffer.baseAddress.map { $0 + offset }, bytes.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw FileError(errno: errno, path: path)
            }
            offset += written
        }
        guard fsync(fd) == 0 else { throw FileError(errno: errno, path: path) }
    }

    private static func syncDirectory(_ path: String) throws(FileError) {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(errno: errno, path: path) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw FileError(errno: errno, path: path) }
    }
}
