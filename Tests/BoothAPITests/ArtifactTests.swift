import BoothCore
import BoothService
import Foundation
import Testing

@Suite struct ArtifactTests {
    private func snapshot(_ id: String, at micros: Int64, bytes: [UInt8] = [0xFF, 0xD8, 0xFF, 0xD9]) -> NewArtifact {
        NewArtifact(
            id: id,
            kind: "snapshot",
            deviceID: "sim:camera",
            takenAtMicros: micros,
            metadata: ["width": "1280", "height": "720"],
            parts: [ArtifactPart(name: "snapshot.jpg", mediaType: "image/jpeg", bytes: bytes)]
        )
    }

    @Test func storedFilesAndEventBeforeAnyoneIsTold() async throws {
        let directory = temporaryDirectory()
        let clock = TestClock()
        let outbox = openOutbox(directory, clock: clock)
        let live = outbox.subscribe()
        _ = try await outbox.startSession(id: "S1", contextRef: "ref")
        let strip = NewArtifact(
            id: "strip-1",
            kind: "ecg-strip",
            deviceID: "sim:ecg",
            takenAtMicros: clock.now,
            complete: false,
            metadata: ["lead": "I"],
            parts: [
                ArtifactPart(name: "strip.pdf", mediaType: "application/pdf", bytes: Array("%PDF-1.5".utf8)),
                ArtifactPart(name: "strip.png", mediaType: "image/png", bytes: [0x89, 0x50, 0x4E, 0x47]),
            ]
        )
        let stored = try await outbox.recordArtifact(strip)
        #expect(stored.binding == .session)
        #expect(stored.sessionID == "S1")
        #expect(stored.info.parts.map(\.url) == ["/artifacts/strip-1/strip.pdf", "/artifacts/strip-1/strip.png"])
        #expect(stored.info.parts.map(\.size) == [8, 4])
        let pdf = try await outbox.artifactFile(id: "strip-1", part: "strip.pdf")
        #expect(pdf.mediaType == "application/pdf")
        #expect(FileManager.default.contents(atPath: pdf.path).map(Array.init) == Array("%PDF-1.5".utf8))

        var seen: [StoredEvent] = []
        for await event in live {
            seen.append(event)
            if seen.count == 2 { break }
        }
        #expect(seen.map(\.type) == ["session.started", "artifact"])
        #expect(seen[1].sessionID == "S1")
        #expect(seen[1].payload.contains("\"complete\":false"))
        #expect(seen[1].payload.contains("\"binding\":\"session\""))

        // The same id again stores nothing more.
        _ = try await outbox.recordArtifact(strip)
        #expect(outbox.lastEventID == 2)
    }

    @Test func outsideASessionItWaitsForAnExplicitDecision() async throws {
        let clock = TestClock()
        let outbox = openOutbox(temporaryDirectory(), clock: clock)
        #expect(try await outbox.recordArtifact(snapshot("a1", at: clock.now)).binding == .unassigned)
        #expect(try await outbox.recordArtifact(snapshot("a2", at: clock.now)).binding == .unassigned)
        #expect(try await outbox.pendingArtifacts().map(\.info.id) == ["a1", "a2"])

        _ = try await outbox.startSession(id: "S2", contextRef: "ref")
        // Taken before the session started: not bound automatically.
        #expect(try await outbox.recordArtifact(snapshot("old", at: clock.now - 1)).binding == .unassigned)
        // Taken during the session, but the caller is not sure it belongs to the patient.
        #expect(
            try await outbox.recordArtifact(snapshot("unsure", at: clock.now), autoAssign: false).binding == .unassigned
        )

        let assigned = try await outbox.assignArtifact(id: "a1", to: nil, reason: "taken before start")
        #expect(assigned.type == "artifact.assigned")
        #expect(assigned.sessionID == "S2")
        let discarded = try await outbox.discardArtifact(id: "a2", reason: "blurred")
        #expect(discarded.type == "artifact.discarded")
        await #expect(throws: OutboxError.self) { try await outbox.assignArtifact(id: "a1", to: nil, reason: nil) }
        await #expect(throws: OutboxError.self) { try await outbox.artifactFile(id: "a2", part: "snapshot.jpg") }
        await #expect(throws: OutboxError.self) { try await outbox.discardArtifact(id: "nope", reason: nil) }
        let trail = try await outbox.auditTrail().map(\.action)
        #expect(trail == ["artifact.assign", "artifact.discard"])
        #expect(try await outbox.pendingArtifacts().map(\.info.id) == ["old", "unsure"])
    }

    @Test func badArtifactsAreRefusedWithTheReason() async throws {
        let clock = TestClock()
        let outbox = openOutbox(temporaryDirectory(), clock: clock)
        var escaping = snapshot("x1", at: clock.now)
        escaping.parts[0].name = "../outbox.sqlite"
        do {
            try await outbox.recordArtifact(escaping)
            Issue.record("a part name with a path was accepted")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("part name"))
        }
        var empty = snapshot("x2", at: clock.now)
        empty.parts = []
        await #expect(throws: OutboxError.self) { try await outbox.recordArtifact(empty) }
        var badID = snapshot("x3", at: clock.now)
        badID.id = ".hidden"
        await #expect(throws: OutboxError.self) { try await outbox.recordArtifact(badID) }
        #expect(outbox.lastEventID == 0)
    }

    @Test func crashLeftoversAreSweptAndPurgeRemovesDeliveredFiles() async throws {
        let directory = temporaryDirectory()
        let clock = TestClock()
        do {
            let outbox = openOutbox(directory, clock: clock)
            _ = try await outbox.startSession(id: "S1", contextRef: "ref")
            try await outbox.recordArtifact(snapshot("kept", at: clock.now))
            _ = try await outbox.endSession(id: "S1")
        }
        // A crash between writing files and committing: a temporary folder and a folder with no row.
        let root = (directory as NSString).appendingPathComponent("artifacts")
        for orphan in [".tmp-half", "uncommitted"] {
            try FileManager.default.createDirectory(
                atPath: (root as NSString).appendingPathComponent(orphan),
                withIntermediateDirectories: true
            )
        }
        let outbox = openOutbox(directory, clock: clock)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root).sorted() == ["kept"])

        // Delivered and older than the retention: the row and its files go; the purge log counts it.
        try outbox.acknowledge(client: "kiosk", upTo: outbox.lastEventID)
        clock.advance(seconds: 2 * 3600)
        let report = try await outbox.purge(retentionHours: 1)
        #expect(report.artifacts == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root).isEmpty)
        #expect(try await outbox.storedArtifact(id: "kept") == nil)
        #expect(try await outbox.purgeLog().first?.artifacts == 1)
    }
}
