import BoothCore
import BoothService
import Foundation
import Logging
import Synchronization
import Testing

/// A wall clock and a boot clock the tests move by hand: `advance` is time passing (both move), `step` is an NTP
/// step or `date -s` (only the wall clock moves), `reboot` starts a new boot (new id, boot clock near zero).
final class StepClock: Sendable {
    private struct Value {
        var wall: Int64 = 1_700_000_000_000_000
        var boot: Int64 = 5_000_000
        var bootID = "boot-a"
    }
    private let value = Mutex(Value())

    func advance(seconds: Double) {
        value.withLock {
            $0.wall += Int64(seconds * 1_000_000)
            $0.boot += Int64(seconds * 1_000_000)
        }
    }
    func step(seconds: Double) { value.withLock { $0.wall += Int64(seconds * 1_000_000) } }
    func reboot(id: String) {
        value.withLock {
            $0.bootID = id
            $0.boot = 3_000_000
        }
    }
    var wall: Int64 { value.withLock { $0.wall } }
    var boot: BootInstant { value.withLock { BootInstant(bootID: $0.bootID, micros: $0.boot) } }

    func outbox(_ directory: String) -> Outbox {
        Outbox.open(
            directory: directory,
            logger: Logger(label: "test.outbox"),
            now: { self.wall },
            bootNow: { self.boot }
        )
    }

    /// A live reading received now, stamped on both clocks as the device supervisor does.
    func live(_ id: String) -> BoothCore.Measurement {
        var measurement = reading(id, at: wall)
        measurement.receivedBoot = boot
        return measurement
    }
}

/// Issue 9 (clock jumps): "taken during this session" is judged on the boot clock when the reading and the
/// session start were stamped in the same boot, so a wall-clock step never leaves a live reading unassigned nor
/// pulls an earlier one in; across a reboot the wall clock decides, as before. Stored records keep the device-
/// clock rules.
@Suite struct BootClockBindingTests {
    private static let hour: Double = 3600

    @Test func aBackwardStepDuringASessionKeepsLiveReadingsInIt() async throws {
        let clock = StepClock()
        let outbox = clock.outbox(temporaryDirectory())
        clock.advance(seconds: 1)
        let session = try await outbox.startSession(id: "S1", contextRef: "ref")
        #expect(session.startedBoot == BootInstant(bootID: "boot-a", micros: 6_000_000))
        clock.advance(seconds: 2)
        #expect(try await outbox.record(clock.live("before-step"), trustedTakenAtMicros: nil) == .session)

        clock.step(seconds: -Self.hour)  // NTP steps the wall clock back one hour
        clock.advance(seconds: 1)
        let afterBack = clock.live("after-back-step")
        #expect(afterBack.receivedAtMicros < session.startedAtMicros)  // the wall clock says "before the session"
        #expect(try await outbox.record(afterBack, trustedTakenAtMicros: nil) == .session)
        let decision = try #require(try await outbox.bindingDecision(ofMeasurement: "after-back-step"))
        #expect(decision == BindingDecision(binding: .session, sessionID: "S1", reason: .takenDuringSession))

        clock.step(seconds: 49 * Self.hour)  // then two days forward
        #expect(try await outbox.record(clock.live("after-forward-step"), trustedTakenAtMicros: nil) == .session)
        let ended = try await outbox.endSession(id: "S1")
        #expect(ended.endedBoot?.micros == 9_000_000)
        // After the end nothing is pulled in, whatever either clock says.
        clock.step(seconds: -72 * Self.hour)
        let late = clock.live("after-end")
        #expect(try await outbox.record(late, trustedTakenAtMicros: nil) == .unassigned)
        #expect(try await outbox.bindingDecision(ofMeasurement: "after-end")?.reason == .noActiveSession)
    }

    @Test func aReadingReceivedBeforeTheStartStaysOutEvenWhenTheWallClockSaysAfter() async throws {
        let clock = StepClock()
        let outbox = clock.outbox(temporaryDirectory())
        let early = clock.live("received-before-start")
        clock.step(seconds: -Self.hour)
        clock.advance(seconds: 1)
        _ = try await outbox.startSession(id: "S1", contextRef: "ref")
        // Recorded after the start (a late flush): by the wall clock it arrived an hour after the start.
        #expect(try await outbox.record(early, trustedTakenAtMicros: nil) == .unassigned)
        #expect(try await outbox.bindingDecision(ofMeasurement: early.id)?.reason == .receivedBeforeSession)
    }

    @Test func acrossARebootTheWallClockDecides() async throws {
        let directory = temporaryDirectory()
        let clock = StepClock()
        do {
            let outbox = clock.outbox(directory)
            _ = try await outbox.startSession(id: "S1", contextRef: "ref")
            clock.advance(seconds: 10)
            // Same boot, reopened (boothd restarted): the stored boot stamp of the start is used.
            clock.step(seconds: -Self.hour)
            let reopened = clock.outbox(directory)
            #expect(reopened.activeSession?.startedBoot == BootInstant(bootID: "boot-a", micros: 5_000_000))
            #expect(try await reopened.record(clock.live("restart-back"), trustedTakenAtMicros: nil) == .session)
            clock.step(seconds: Self.hour)
        }
        clock.reboot(id: "boot-b")
        clock.advance(seconds: 30)
        let outbox = clock.outbox(directory)
        #expect(outbox.activeSession?.id == "S1")
        // After the reboot the boot clocks cannot be compared: the wall clock says after the start.
        #expect(try await outbox.record(clock.live("rebooted"), trustedTakenAtMicros: nil) == .session)
        // A backward step past the start after a reboot: the wall clock is all there is, so unassigned (the
        // safe side: never bound elsewhere, waits for an explicit assign).
        clock.step(seconds: -Self.hour)
        #expect(try await outbox.record(clock.live("rebooted-back"), trustedTakenAtMicros: nil) == .unassigned)
        #expect(try await outbox.bindingDecision(ofMeasurement: "rebooted-back")?.reason == .receivedBeforeSession)
    }

    @Test func storedRecordsKeepTheDeviceClockRules() async throws {
        let clock = StepClock()
        let outbox = clock.outbox(temporaryDirectory())
        let start = clock.wall
        _ = try await outbox.startSession(id: "S1", contextRef: "ref")
        clock.advance(seconds: 5)
        clock.step(seconds: -Self.hour)
        // Fetched from device memory during the session (boot clock after the start): the trusted device time
        // decides, in wall time, as before.
        var old = clock.live("stored-old")
        old.origin = .stored
        #expect(try await outbox.record(old, trustedTakenAtMicros: start - 60_000_000) == .history)
        #expect(try await outbox.bindingDecision(ofMeasurement: "stored-old")?.reason == .storedBeforeSession)
        var fresh = clock.live("stored-fresh")
        fresh.origin = .stored
        #expect(try await outbox.record(fresh, trustedTakenAtMicros: start + 2_000_000) == .session)
        var untrusted = clock.live("stored-untrusted")
        untrusted.origin = .stored
        #expect(try await outbox.record(untrusted, trustedTakenAtMicros: nil) == .history)
    }

    @Test func artifactsStampedOnTheBootClockStayInTheirSessionToo() async throws {
        let clock = StepClock()
        let outbox = clock.outbox(temporaryDirectory())
        func snapshot(_ id: String, stamped: Bool) -> NewArtifact {
            NewArtifact(
                id: id,
                kind: "snapshot",
                deviceID: "sim:camera",
                takenAtMicros: clock.wall,
                parts: [ArtifactPart(name: "snapshot.jpg", mediaType: "image/jpeg", bytes: [0xFF, 0xD8, 0xFF, 0xD9])],
                takenBoot: stamped ? clock.boot : nil
            )
        }
        let early = snapshot("before-start", stamped: true)
        clock.step(seconds: -Self.hour)
        clock.advance(seconds: 1)
        _ = try await outbox.startSession(id: "S1", contextRef: "ref")
        clock.advance(seconds: 1)
        #expect(try await outbox.recordArtifact(snapshot("after-start", stamped: true)).sessionID == "S1")
        // Taken before the start, stored after it: the wall clock (stepped back since) says after, the boot clock
        // says before, and stays out.
        #expect(early.takenAtMicros > clock.wall)
        #expect(try await outbox.recordArtifact(early).binding == .unassigned)
        // Another backward step during the session: a stamped snapshot stays in it; one without a boot stamp (a
        // producer that has none) is judged on the wall clock: unassigned, never elsewhere.
        clock.step(seconds: -Self.hour)
        clock.advance(seconds: 1)
        #expect(try await outbox.recordArtifact(snapshot("stamped", stamped: true)).sessionID == "S1")
        #expect(try await outbox.recordArtifact(snapshot("unstamped", stamped: false)).binding == .unassigned)
    }

    @Test func theWireFormOfSessionsAndReadingsAfterTheStamp() async throws {
        let clock = StepClock()
        let outbox = clock.outbox(temporaryDirectory())
        _ = try await outbox.startSession(id: "S1", contextRef: "ref")
        try await outbox.record(clock.live("m1"))
        let events = try await outbox.events(after: 0)
        // Session events keep their documented fields only; a reading carries its boot stamp.
        let started = try #require(events.first { $0.type == "session.started" })
        #expect(!started.payload.contains("Boot"))
        let measurement = try #require(events.first { $0.type == "measurement" })
        #expect(measurement.payload.contains("\"receivedBoot\":{\"bootID\":\"boot-a\",\"micros\":5000000}"))
        // A reading stored before the stamp existed still decodes.
        let old =
            #"{"id":"x","kind":"bodyWeight","values":[],"status":[],"device":{"id":"d","transport":"ble"},"#
            + #""receivedAtMicros":1,"origin":"live","method":"automatic","raw":[]}"#
        let decoded = try JSONDecoder().decode(BoothCore.Measurement.self, from: Data(old.utf8))
        #expect(decoded.receivedBoot == nil)
    }

    @Test func rulesCompareBootStampsOnlyWithinOneBoot() {
        let session = SessionInfo(
            id: "S",
            contextRef: "r",
            startedAtMicros: 1_000,
            startedBoot: BootInstant(bootID: "a", micros: 500)
        )
        func live(wall: Int64, boot: BootInstant?) -> BindingReason {
            var measurement = reading("m", at: wall)
            measurement.receivedBoot = boot
            return SessionRules.decide(for: measurement, active: session).reason
        }
        // Same boot: the boot clock decides, whatever the wall clock says.
        #expect(live(wall: 10, boot: BootInstant(bootID: "a", micros: 501)) == .takenDuringSession)
        #expect(live(wall: 9_000, boot: BootInstant(bootID: "a", micros: 499)) == .receivedBeforeSession)
        // The same boot microsecond says nothing about the order: the wall stamps read next to them decide.
        #expect(live(wall: 1_000, boot: BootInstant(bootID: "a", micros: 500)) == .takenDuringSession)
        #expect(live(wall: 999, boot: BootInstant(bootID: "a", micros: 500)) == .receivedBeforeSession)
        // Another boot, or no stamp on either side: the wall clock.
        #expect(live(wall: 10, boot: BootInstant(bootID: "b", micros: 900)) == .receivedBeforeSession)
        #expect(live(wall: 1_000, boot: BootInstant(bootID: "b", micros: 1)) == .takenDuringSession)
        #expect(live(wall: 999, boot: nil) == .receivedBeforeSession)
        var unstamped = session
        unstamped.startedBoot = nil
        var measurement = reading("m", at: 999)
        measurement.receivedBoot = BootInstant(bootID: "a", micros: 900)
        #expect(SessionRules.decide(for: measurement, active: unstamped).reason == .receivedBeforeSession)
    }

    @Test func theSystemBootClockReadsThisBoot() throws {
        let first = try #require(BootClock.now())
        let second = try #require(BootClock.now())
        let id = try String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)
        #expect(first.bootID == id.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(second.isAtOrAfter(first) == true)
        // CLOCK_BOOTTIME is at least the time since boot the kernel reports in /proc/uptime.
        let uptime = try String(contentsOfFile: "/proc/uptime", encoding: .utf8).split(separator: " ")[0]
        let uptimeMicros = Int64((Double(uptime) ?? 0) * 1_000_000)
        #expect(first.micros > 0 && abs(first.micros - uptimeMicros) < 5_000_000)
    }
}
