import BoothCore
import BoothService
import Foundation
import GRDB
import Logging
import Synchronization
import Testing

/// A clock the tests move by hand (microseconds).
final class TestClock: Sendable {
    let value = Mutex<Int64>(1_700_000_000_000_000)
    func advance(seconds: Double) { value.withLock { $0 += Int64(seconds * 1_000_000) } }
    var now: Int64 { value.withLock { $0 } }
}

func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "boothd-outbox-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func reading(
    _ id: String,
    at micros: Int64,
    origin: BoothCore.Measurement.Origin = .live,
    spo2: Int = 97
) -> BoothCore.Measurement {
    BoothCore.Measurement(
        id: id,
        kind: .oxygenSaturation,
        values: [ObservedValue(code: .spo2, number: DecimalNumber(spo2), unit: .percent)],
        device: DeviceIdentity(id: "sim:oximeter", transport: "simulated", model: "Sim O2"),
        receivedAtMicros: micros,
        origin: origin
    )
}

func openOutbox(_ directory: String, clock: TestClock) -> Outbox {
    Outbox.open(directory: directory, logger: Logger(label: "test.outbox"), subscriberBuffer: 8) { clock.now }
}

@Suite struct OutboxTests {
    @Test func recordsDurablyAndReplaysInOrderAfterReopen() async throws {
        let directory = temporaryDirectory()
        let clock = TestClock()
        do {
            let outbox = openOutbox(directory, clock: clock)
            #expect(outbox.storageState == .ok)
            for index in 1...5 {
                try await outbox.record(reading("m\(index)", at: clock.now))
            }
            // Same id again: stored once.
            try await outbox.record(reading("m3", at: clock.now))
            #expect(outbox.lastEventID == 5)
        }
        let reopened = openOutbox(directory, clock: clock)
        let events = try await reopened.events(after: 0)
        #expect(events.map(\.id) == [1, 2, 3, 4, 5])
        #expect(events.allSatisfy { $0.type == "measurement" })
        #expect(events[2].payload.contains("\"id\":\"m3\""))
        #expect(reopened.lastEventID == 5)
        #expect(try await reopened.events(after: 3).map(\.id) == [4, 5])
    }

    @Test func concurrentRecordsAreGroupCommittedEachOnceInIdOrder() async throws {
        let directory = temporaryDirectory()
        let clock = TestClock()
        let outbox = openOutbox(directory, clock: clock)
        let stream = outbox.subscribe()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<100 {
                // Every id twice, concurrently: stored once.
                for _ in 0..<2 {
                    group.addTask { try await outbox.record(reading("g\(index)", at: clock.now)) }
                }
            }
            try await group.waitForAll()
        }
        #expect(outbox.lastEventID == 100)
        var live: [Int64] = []
        for await event in stream {
            live.append(event.id)
            if live.count == 8 { break }
        }
        #expect(live == Array(93...100))  // newest kept in the bounded subscriber buffer, in order
        let reopened = openOutbox(directory, clock: clock)
        let stored = try await reopened.events(after: 0, limit: 500)
        #expect(stored.map(\.id) == Array(1...100))
        let ids = Set(
            stored.compactMap { event -> String? in
                let object = try? JSONSerialization.jsonObject(with: Data(event.payload.utf8)) as? [String: Any]
                return (object?["measurement"] as? [String: Any])?["id"] as? String
            }
        )
        #expect(ids == Set((0..<100).map { "g\($0)" }))
    }

    @Test func cursorsMoveForwardAndSurviveReopen() async throws {
        let directory = temporaryDirectory()
        let clock = TestClock()
        do {
            let outbox = openOutbox(directory, clock: clock)
            for index in 1...4 { try await outbox.record(reading("c\(index)", at: clock.now)) }
            try outbox.acknowledge(client: "kiosk", upTo: 3)
            try outbox.acknowledge(client: "kiosk", upTo: 2)  // never moves back
            #expect(try await outbox.cursor(client: "kiosk") == 3)
            #expect(throws: OutboxError.self) { try outbox.acknowledge(client: "kiosk", upTo: 99) }
            try await outbox.flushAcks()
        }
        let reopened = openOutbox(directory, clock: clock)
        #expect(try await reopened.cursor(client: "kiosk") == 3)
        #expect(try await reopened.cursor(client: "nurse") == 0)
        // Exactly once per cursor: what is after the cursor is the single event not acknowledged.
        #expect(try await reopened.events(after: reopened.cursor(client: "kiosk")).map(\.id) == [4])
    }

    @Test func liveReadingsBindToTheActiveSessionOnly() async throws {
        let clock = TestClock()
        let outbox = openOutbox(temporaryDirectory(), clock: clock)
        #expect(try await outbox.record(reading("before", at: clock.now), trustedTakenAtMicros: nil) == .unassigned)
        clock.advance(seconds: 1)
        _ = try await outbox.startSession(id: "S1", contextRef: "opaque-ref-1")
        clock.advance(seconds: 1)
        #expect(try await outbox.record(reading("during", at: clock.now), trustedTakenAtMicros: nil) == .session)
        let binding = try await outbox.binding(ofMeasurement: "during")
        #expect(binding?.0 == .session)
        #expect(binding?.1 == "S1")
        await #expect(throws: OutboxError(.sessionActive, "session S1 is active; end it first")) {
            try await outbox.startSession(id: "S2", contextRef: "x")
        }
        clock.advance(seconds: 1)
        _ = try await outbox.endSession(id: "S1")
        clock.advance(seconds: 1)
        #expect(try await outbox.record(reading("after", at: clock.now), trustedTakenAtMicros: nil) == .unassigned)
        let types = try await outbox.events(after: 0).map(\.type)
        #expect(types == ["measurement", "session.started", "measurement", "session.ended", "measurement"])
    }

    @Test func storedReadingsArehistoryAndNeverAutoAssigned() async throws {
        let clock = TestClock()
        let outbox = openOutbox(temporaryDirectory(), clock: clock)
        let start = clock.now
        _ = try await outbox.startSession(id: "S1", contextRef: "ref")
        clock.advance(seconds: 5)
        // Three readings from cuff memory arriving during the session: history, none assigned.
        for index in 1...3 {
            let binding = try await outbox.record(
                reading("mem\(index)", at: clock.now, origin: .stored),
                trustedTakenAtMicros: nil
            )
            #expect(binding == .history)
        }
        // A stored record whose trusted time predates the session is history too.
        #expect(
            try await outbox.record(
                reading("old", at: clock.now, origin: .stored),
                trustedTakenAtMicros: start - 3_600_000_000
            ) == .history
        )
        // Only a trusted time inside the session binds a stored record.
        #expect(
            try await outbox.record(
                reading("synced", at: clock.now, origin: .stored),
                trustedTakenAtMicros: start + 1_000_000
            ) == .session
        )
    }

    @Test func assignAndDiscardAreExplicitAndAudited() async throws {
        let clock = TestClock()
        let outbox = openOutbox(temporaryDirectory(), clock: clock)
        try await outbox.record(reading("between", at: clock.now))
        try await outbox.record(reading("noise", at: clock.now))
        clock.advance(seconds: 1)
        await #expect(throws: OutboxError.self) {
            try await outbox.assign(measurementID: "between", to: nil, reason: nil)
        }
        _ = try await outbox.startSession(id: "S1", contextRef: "ref")
        let assigned = try await outbox.assign(measurementID: "between", to: nil, reason: "taken by this patient")
        #expect(assigned.type == "measurement.assigned")
        #expect(assigned.sessionID == "S1")
        let discarded = try await outbox.discard(measurementID: "noise", reason: "previous patient")
        #expect(discarded.type == "measurement.discarded")
        await #expect(throws: OutboxError.self) {
            try await outbox.assign(measurementID: "between", to: nil, reason: nil)
        }
        await #expect(throws: OutboxError.self) { try await outbox.discard(measurementID: "nope", reason: nil) }
        #expect(try await outbox.binding(ofMeasurement: "between")?.0 == .session)
        #expect(try await outbox.binding(ofMeasurement: "noise")?.0 == .discarded)
        let trail = try await outbox.auditTrail()
        #expect(trail.map(\.action) == ["assign", "discard"])
        #expect(trail.map(\.measurementID) == ["between", "noise"])
    }

    @Test func subscribersSeeCommittedEventsInOrderAndSlowOnesAreBounded() async throws {
        let clock = TestClock()
        let outbox = openOutbox(temporaryDirectory(), clock: clock)
        let stream = outbox.subscribe()
        // Buffer is 8: 20 events make the stream drop the oldest 12, which are then read from the outbox.
        for index in 1...20 { try await outbox.record(reading("s\(index)", at: clock.now)) }
        var seen: [Int64] = []
        for await event in stream {
            seen.append(event.id)
            if seen.count == 8 { break }
        }
        #expect(seen == Array(13...20))
        let missing = try await outbox.events(after: 0, limit: 12)
        #expect(missing.map(\.id) == Array(1...12))
    }

    @Test func purgeRemovesOnlyDeliveredOldDataAndLogsIt() async throws {
        let clock = TestClock()
        let outbox = openOutbox(temporaryDirectory(), clock: clock)
        _ = try await outbox.startSession(id: "S1", contextRef: "ref")
        try await outbox.record(reading("a", at: clock.now))
        try await outbox.record(reading("b", at: clock.now))
        _ = try await outbox.endSession(id: "S1")
        try await outbox.record(reading("loose", at: clock.now))  // unassigned: waits for a decision
        try outbox.acknowledge(client: "kiosk", upTo: 3)
        clock.advance(seconds: 2 * 3600)
        let report = try await outbox.purge(retentionHours: 1)
        // Events 1...3 (session.started, a, b) are delivered and old; 4 and 5 were not acknowledged.
        #expect(report.events == 3)
        #expect(report.measurements == 2)  // "a" and "b"; "loose" is unassigned
        #expect(try await outbox.events(after: 0).map(\.id) == [4, 5])
        #expect(try await outbox.binding(ofMeasurement: "loose")?.0 == .unassigned)
        let log = try await outbox.purgeLog()
        #expect(log.count == 1)
        #expect(log.first?.events == 3)
        // Ids are never reused after a purge.
        try await outbox.record(reading("c", at: clock.now))
        #expect(outbox.lastEventID == 6)
    }

    @Test func damagedDatabaseIsMovedAsideAndANewOneStarted() async throws {
        let directory = temporaryDirectory()
        let path = directory + "/" + Outbox.fileName
        try Data(repeating: 0x5A, count: 8192).write(to: URL(fileURLWithPath: path))
        let clock = TestClock()
        let outbox = openOutbox(directory, clock: clock)
        guard case .degraded(let reason) = outbox.storageState else {
            Issue.record("expected degraded, got \(outbox.storageState)")
            return
        }
        #expect(reason.contains("damaged"))
        try await outbox.record(reading("after-corruption", at: clock.now))
        let moved = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains(".corrupt-") }
        #expect(!moved.isEmpty)
    }

    @Test func unusableDirectoryGivesSafeModeAndClearErrors() async throws {
        let directory = temporaryDirectory()
        // A file where the state directory should be: nothing can be created there.
        let blocked = directory + "/not-a-directory"
        try Data("x".utf8).write(to: URL(fileURLWithPath: blocked))
        let clock = TestClock()
        let outbox = openOutbox(blocked + "/state", clock: clock)
        #expect(outbox.storageState.name == "safe-mode")
        do {
            try await outbox.record(reading("lost?", at: clock.now))
            Issue.record("record must throw in safe mode")
        } catch let error as OutboxError {
            #expect(error.code == .storageUnavailable)
            #expect(error.message.contains("cannot open outbox database"))
        }
    }
}
