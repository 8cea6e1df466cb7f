import BoothCore
import BoothService
import Foundation
import Logging
import Testing

/// A reading is bound to a session only while that session is active in the database: the binding is decided
/// inside the write transaction, on the database's one serial writer, where `startSession` and `endSession`
/// commit too. A reading is stamped before it is handed to the outbox, so a reading bound to a session was
/// received before the session's end was stamped, and its event comes before `session.ended`.
@Suite struct SessionEndRaceTests {
    private struct Bound {
        var eventID: Int64
        var sessionID: String?
        var receivedAtMicros: Int64
    }

    /// Every measurement event, with the session it was bound to and when boothd received the reading.
    private func measurementEvents(_ outbox: Outbox) async throws -> [String: Bound] {
        var bound: [String: Bound] = [:]
        for event in try await outbox.events(after: 0, limit: 10_000) where event.type == "measurement" {
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(event.payload.utf8)) as? [String: Any]
            )
            let measurement = try #require(object["measurement"] as? [String: Any])
            let id = try #require(measurement["id"] as? String)
            let received = try #require((measurement["receivedAtMicros"] as? NSNumber)?.int64Value)
            bound[id] = Bound(eventID: event.id, sessionID: object["sessionId"] as? String, receivedAtMicros: received)
        }
        return bound
    }

    private func sessionEventID(_ outbox: Outbox, _ type: String, _ sessionID: String) async throws -> Int64 {
        let events = try await outbox.events(after: 0, limit: 10_000)
        return try #require(events.first { $0.type == type && $0.sessionID == sessionID }?.id)
    }

    @Test func aReadingStampedDuringASessionButWrittenAfterItsEndStaysOut() async throws {
        let clock = TestClock()
        let outbox = openOutbox(temporaryDirectory(), clock: clock)
        _ = try await outbox.startSession(id: "S1", contextRef: "ref")
        clock.advance(seconds: 1)
        // Stamped while S1 is active, handed to the outbox only after S1 ended (a slow decoder, a held-back
        // write): S1 is closed, so nothing binds to it any more.
        let late = reading("late", at: clock.now)
        let another = reading("later-still", at: clock.now)
        clock.advance(seconds: 1)
        let ended = try await outbox.endSession(id: "S1")
        #expect(try await outbox.record(late, trustedTakenAtMicros: nil) == .unassigned)
        #expect(try await outbox.bindingDecision(ofMeasurement: "late")?.reason == .noActiveSession)
        // Nor to the next session, which started after the reading was received.
        clock.advance(seconds: 1)
        _ = try await outbox.startSession(id: "S2", contextRef: "ref")
        #expect(try await outbox.record(another, trustedTakenAtMicros: nil) == .unassigned)
        #expect(try await outbox.bindingDecision(ofMeasurement: "later-still")?.reason == .receivedBeforeSession)
        let events = try await measurementEvents(outbox)
        #expect(try #require(events["late"]).eventID > (try await sessionEventID(outbox, "session.ended", "S1")))
        #expect(late.receivedAtMicros < (ended.endedAtMicros ?? 0))
    }

    /// Readings stamped and recorded the way the supervisor does it (wall and boot clock, then `record`), many
    /// at once while the session ends: whatever the interleaving, each one bound to the session has its event
    /// between `session.started` and `session.ended` and was received inside the session's window.
    @Test(arguments: 0..<8)
    func readingsRacingTheEndAreBoundOnlyInsideTheWindow(round: Int) async throws {
        let outbox = Outbox.open(directory: temporaryDirectory(), logger: Logger(label: "test.outbox"))
        let sessionID = "race-\(round)"
        let started = try await outbox.startSession(id: sessionID, contextRef: "ref")
        @Sendable func stampAndRecord(_ id: String) async throws -> MeasurementBinding {
            var measurement = reading(id, at: Outbox.currentMicros())
            measurement.receivedBoot = outbox.bootNow()
            return try await outbox.record(measurement, trustedTakenAtMicros: nil)
        }
        for index in 0..<10 {
            #expect(try await stampAndRecord("\(sessionID)-before-\(index)") == .session)
        }
        let ended = try await withThrowingTaskGroup(of: SessionInfo?.self) { group in
            for index in 0..<40 {
                group.addTask {
                    _ = try await stampAndRecord("\(sessionID)-racing-\(index)")
                    return nil
                }
                if index == 20 + round {
                    group.addTask { try await outbox.endSession(id: sessionID) }
                }
            }
            var ended: SessionInfo?
            for try await result in group { if let result { ended = result } }
            return try #require(ended)
        }
        let endedAt = try #require(ended.endedAtMicros)
        let startedEvent = try await sessionEventID(outbox, "session.started", sessionID)
        let endedEvent = try await sessionEventID(outbox, "session.ended", sessionID)
        let events = try await measurementEvents(outbox)
        #expect(events.count == 50)
        for (id, event) in events {
            if event.sessionID == sessionID {
                #expect(event.eventID > startedEvent && event.eventID < endedEvent, "\(id) event \(event.eventID)")
                #expect(
                    event.receivedAtMicros >= started.startedAtMicros && event.receivedAtMicros <= endedAt,
                    "\(id) received at \(event.receivedAtMicros), window \(started.startedAtMicros)...\(endedAt)"
                )
            } else {
                #expect(event.sessionID == nil)
                #expect(event.eventID > endedEvent, "\(id) was left out although written before the end")
            }
        }
        #expect(outbox.activeSession == nil)
    }

    /// `activeSession` (what `session.current`, the welcome and `boothctl status` report) changes in the serial
    /// writer with the database, before the session event is published: a client that sees `session.started`
    /// and at once ends the session leaves no session active, and one that sees an event finds it reflected.
    @Test func theActiveSessionIsCurrentWhenTheSessionEventsArePublished() async throws {
        let outbox = Outbox.open(directory: temporaryDirectory(), logger: Logger(label: "test.outbox"))
        var events = outbox.subscribe().makeAsyncIterator()
        for index in 0..<50 {
            let sessionID = "mirror-\(index)"
            let start = Task { try await outbox.startSession(id: sessionID, contextRef: "ref") }
            let startedEvent = try #require(await events.next())
            #expect(startedEvent.type == "session.started" && startedEvent.sessionID == sessionID)
            #expect(outbox.activeSession?.id == sessionID)
            // A second client that saw session.started ends the session before the first client's call returned.
            _ = try await outbox.endSession(id: sessionID)
            _ = try await start.value
            let endedEvent = try #require(await events.next())
            #expect(endedEvent.type == "session.ended" && endedEvent.sessionID == sessionID)
            #expect(outbox.activeSession == nil, "round \(index): session \(sessionID) still reported active")
        }
    }
}
