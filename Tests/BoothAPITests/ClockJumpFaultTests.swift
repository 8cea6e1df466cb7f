import BoothCore
import BoothService
import Foundation
import Logging
import Synchronization
import Testing

/// Fault suite: the booth's wall clock stepped backwards and forwards (an NTP step, a technician's `date -s`)
/// in the middle of sessions, through the outbox's injectable clock. Event order stays the order things happened,
/// no reading is ever bound to a session other than the one active when it arrived, and the retention purge
/// neither deletes undelivered data after a forward jump nor misbehaves after a backward one.
@Suite struct ClockJumpFaultTests {
    private static let hour: Double = 3600

    @Test func wallClockStepsKeepOrderBindingAndRetentionSafe() async throws {
        let directory = temporaryDirectory()
        let clock = StepClock()
        let outbox = clock.outbox(directory)
        var recorded: [String] = []
        func record(_ id: String) async throws -> MeasurementBinding {
            recorded.append(id)
            return try await outbox.record(clock.live(id), trustedTakenAtMicros: nil)
        }

        #expect(try await record("pre") == .unassigned)
        clock.advance(seconds: 1)
        let first = try await outbox.startSession(id: "S1", contextRef: "ref-1")
        clock.advance(seconds: 1)
        #expect(try await record("s1-a") == .session)

        // NTP steps the clock back one hour while S1 is active.
        clock.step(seconds: -Self.hour)
        let afterBackStep = try await record("s1-b")
        // Its wall-clock arrival now precedes S1's start, but the boot clock (never stepped) says it came after:
        // it stays in S1 (BootClockBindingTests has the cases, a reboot included).
        #expect(afterBackStep == .session)
        #expect(try await outbox.binding(ofMeasurement: "s1-b")?.1 == "S1")
        let ended = try await outbox.endSession(id: "S1")
        // A session never ends before it started, whatever the clock says.
        #expect(try #require(ended.endedAtMicros) >= first.startedAtMicros)

        // The next session starts "earlier" than S1 by the wall clock: its readings are its own.
        clock.advance(seconds: 1)
        let second = try await outbox.startSession(id: "S2", contextRef: "ref-2")
        #expect(second.startedAtMicros < first.startedAtMicros)
        clock.advance(seconds: 1)
        #expect(try await record("s2-a") == .session)
        // Then the clock jumps two days forward (a booth that booted with a stale RTC, then synced).
        clock.step(seconds: 48 * Self.hour)
        #expect(try await record("s2-b") == .session)
        _ = try await outbox.endSession(id: "S2")
        for id in ["s1-a", "s1-b", "s2-a", "s2-b"] {
            let expected = id.hasPrefix("s1") ? "S1" : "S2"
            #expect(try await outbox.binding(ofMeasurement: id)?.1 == expected, "\(id) bound to \(expected)")
        }

        // Order: event ids follow the order of the operations, not the wall-clock times.
        let events = try await outbox.events(after: 0)
        #expect(events.map(\.id) == Array(1...Int64(events.count)))
        #expect(
            events.map(\.type) == [
                "measurement", "session.started", "measurement", "measurement", "session.ended",
                "session.started", "measurement", "measurement", "session.ended",
            ]
        )
        let measured = events.filter { $0.type == "measurement" }.compactMap { event in
            recorded.first { event.payload.contains("\"id\":\"\($0)\"") }
        }
        #expect(measured == recorded)

        // Retention after the forward jump: nothing acknowledged, so nothing may go, however old it looks.
        let unacked = try await outbox.purge(retentionHours: 24)
        #expect(unacked.events == 0 && unacked.measurements == 0 && unacked.sessions == 0)
        // Everything delivered: data older than 24 h by the (jumped) clock goes; the unassigned readings stay.
        try outbox.acknowledge(client: "kiosk", upTo: outbox.lastEventID)
        let delivered = try await outbox.purge(retentionHours: 24)
        #expect(delivered.events > 0)
        #expect(try await outbox.binding(ofMeasurement: "pre")?.0 == .unassigned)
        // s2-b and S2's end happened "now": too recent to purge.
        #expect(try await outbox.binding(ofMeasurement: "s2-b")?.1 == "S2")

        // Now the clock steps back three days: the purge finds nothing "older" and removes nothing more.
        clock.step(seconds: -72 * Self.hour)
        let backwards = try await outbox.purge(retentionHours: 24)
        #expect(backwards.events == 0 && backwards.measurements == 0 && backwards.sessions == 0)
        #expect(try await outbox.binding(ofMeasurement: "s2-b")?.1 == "S2")
        let log = try await outbox.purgeLog()
        #expect(log.count == 3)
        // Ids keep growing after purges and jumps; a reopened outbox replays in the same order.
        let last = outbox.lastEventID
        #expect(try await record("late") == .unassigned)
        #expect(outbox.lastEventID == last + 1)
        let reopened = clock.outbox(directory)
        let replay = try await reopened.events(after: 0).map(\.id)
        #expect(replay == replay.sorted() && replay.last == last + 1)
        print(
            "clock-jump fault: back 1 h during a session -> live reading \(afterBackStep.rawValue); "
                + "S2 started \((first.startedAtMicros - second.startedAtMicros) / 1_000_000) s 'before' S1; "
                + "purge after +48 h: \(unacked.events) unacked events removed, then \(delivered.events) delivered; "
                + "after -72 h: \(backwards.events) removed"
        )
    }

    @Test func purgeCadenceFollowsAShortRetention() {
        #expect(OutboxMaintenance.purgeInterval(retentionHours: 24) == .seconds(300))
        #expect(OutboxMaintenance.purgeInterval(retentionHours: 0.02) == .seconds(6))
        #expect(OutboxMaintenance.purgeInterval(retentionHours: 0) == .seconds(1))
    }
}
