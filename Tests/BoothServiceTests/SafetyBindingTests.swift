import BoothCore
import Foundation
import Logging
import Synchronization
import Testing

@testable import BoothService

/// Issue 11, session binding end to end: SafeRecorder decides (user slot), the real outbox (SQLite) enforces
/// and records why, the audit trail records manual entries.
@Suite("Safety: binding decisions through SafeRecorder")
struct SafetyBindingTests {
    /// 2026-11-25T14:00:00Z.
    static let sessionStart: Int64 = 1_795_615_200_000_000

    final class Clock: Sendable {
        let micros = Mutex<Int64>(SafetyBindingTests.sessionStart)
        func set(_ value: Int64) { micros.withLock { $0 = value } }
        var now: @Sendable () -> Int64 { { self.micros.withLock { $0 } } }
    }

    private func withRecorder(
        boothSlot: Int?,
        _ body: (SafeRecorder, Outbox, Clock) async throws -> Void
    ) async throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("safety-binding-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = Clock()
        let outbox = Outbox.open(directory: directory, logger: Logger(label: "test.safety"), now: clock.now)
        let recorder = SafeRecorder(
            outbox: outbox,
            inventory: BoothInventory(items: [InventoryItem(role: .bp)], cuffUserSlot: boothSlot),
            utcOffsetSeconds: { _ in 3600 }
        )
        try await body(recorder, outbox, clock)
    }

    /// A Blood Pressure Measurement as the cuff sends it (flags 0x08: user ID present), decoded the way the
    /// supervisor's driver does it, so the user slot comes from the bytes.
    private func cuffReading(_ id: String, user: UInt8, receivedAt: Int64) throws -> BoothCore.Measurement {
        let bytes: [UInt8] = [0x08, 0x78, 0x00, 0x50, 0x00, 0x5D, 0x00, user]
        let context = MeasurementContext(
            id: id,
            device: DeviceIdentity(id: "ble:cuff", transport: "ble", model: "BP7000"),
            receivedAtMicros: receivedAt
        )
        let measurement = try BloodPressureMeasurement.measurement(bytes, context)
        return try #require(measurement)
    }

    private func measurementEvent(_ outbox: Outbox, _ id: String) async throws -> [String: Any] {
        let events = try await outbox.events(after: 0)
        let event = try #require(
            events.first { $0.type == "measurement" && $0.payload.contains("\"id\":\"\(id)\"") }
        )
        let object = try JSONSerialization.jsonObject(with: Data(event.payload.utf8))
        return try #require(object as? [String: Any])
    }

    @Test func multiUserCuffSlotTwoIsUnassignedWithItsReasonOnTheRealOutbox() async throws {
        try await withRecorder(boothSlot: 1) { recorder, outbox, clock in
            _ = try await outbox.startSession(id: "s1", contextRef: "ctx-opaque")
            clock.set(Self.sessionStart + 30_000_000)
            let slot2 = try cuffReading("slot-2", user: 2, receivedAt: Self.sessionStart + 30_000_000)
            #expect(slot2.provenance?.userSlot == 2)
            // The supervisor's path (MeasurementSink.record) with no slot argument: the decoder's slot is used.
            try await recorder.record(slot2)
            let decision = try #require(try await outbox.bindingDecision(ofMeasurement: "slot-2"))
            #expect(decision == BindingDecision(binding: .unassigned, sessionID: nil, reason: .otherUserSlot))
            let payload = try await measurementEvent(outbox, "slot-2")
            #expect(payload["binding"] as? String == "unassigned")
            #expect(payload["bindingReason"] as? String == "otherUserSlot")
            let stored = try #require(payload["measurement"] as? [String: Any])
            #expect((stored["status"] as? [String])?.contains("otherUserSlot") == true)

            // The booth's own slot, received in the same session, is bound to it.
            let slot1 = try cuffReading("slot-1", user: 1, receivedAt: Self.sessionStart + 31_000_000)
            try await recorder.record(slot1)
            #expect(
                try await outbox.bindingDecision(ofMeasurement: "slot-1")
                    == BindingDecision(binding: .session, sessionID: "s1", reason: .takenDuringSession)
            )
            // Bluetooth's "unknown user" (255) is not the booth's either.
            try await recorder.record(
                try cuffReading("slot-255", user: 255, receivedAt: Self.sessionStart + 32_000_000)
            )
            #expect(try await outbox.bindingDecision(ofMeasurement: "slot-255")?.reason == .otherUserSlot)

            // It is shown apart with its reason, and an explicit assign (audited) still works.
            let pending = try await outbox.pendingMeasurements()
            #expect(pending.map(\.reason) == ["otherUserSlot", "otherUserSlot"])
            _ = try await outbox.assign(measurementID: "slot-2", to: nil, reason: "pharmacist confirmed the patient")
            #expect(try await outbox.bindingDecision(ofMeasurement: "slot-2")?.reason == .assignedExplicitly)
            #expect(try await outbox.auditEntries().map(\.action) == ["assign"])
        }
    }

    @Test func aStoredSlotTwoRecordWithATrustedClockIsStillHistory() async throws {
        try await withRecorder(boothSlot: 1) { recorder, outbox, clock in
            _ = try await outbox.startSession(id: "s1", contextRef: "ctx")
            let now = Self.sessionStart + 120_000_000
            clock.set(now)
            // Paris wall clock 15:02 = 14:02Z, right on time.
            recorder.deviceConnected(
                id: "ble:cuff",
                deviceNow: DeviceTimestamp(year: 2026, month: 11, day: 25, hour: 15, minute: 2, second: 0),
                receivedAtMicros: now
            )
            var stored = try cuffReading("stored-slot-2", user: 2, receivedAt: now)
            stored.origin = .stored
            stored.deviceTime = DeviceTimestamp(year: 2026, month: 11, day: 25, hour: 15, minute: 1, second: 0)
            let binding = try await recorder.record(stored, decoderVersion: "ble.bps@1", userSlot: nil)
            #expect(binding == .history)
            #expect(try await outbox.bindingDecision(ofMeasurement: "stored-slot-2")?.reason == .otherUserSlot)
        }
    }

    @Test func withoutABoothSlotEverySlotIsTheBooths() async throws {
        try await withRecorder(boothSlot: nil) { recorder, outbox, clock in
            _ = try await outbox.startSession(id: "s1", contextRef: "ctx")
            clock.set(Self.sessionStart + 1_000_000)
            try await recorder.record(try cuffReading("any-slot", user: 2, receivedAt: Self.sessionStart + 1_000_000))
            #expect(try await outbox.bindingDecision(ofMeasurement: "any-slot")?.binding == .session)
        }
    }

    @Test func reasonsForWaitingReadingsAreRecorded() async throws {
        try await withRecorder(boothSlot: nil) { recorder, outbox, clock in
            // No session: a live reading is unassigned because no session is open.
            try await recorder.record(try cuffReading("no-session", user: 1, receivedAt: Self.sessionStart - 1))
            #expect(try await outbox.bindingDecision(ofMeasurement: "no-session")?.reason == .noActiveSession)
            _ = try await outbox.startSession(id: "s1", contextRef: "ctx")
            clock.set(Self.sessionStart + 1_000_000)
            // A stored record from a device whose clock was never compared: its time is not trusted.
            var stored = try cuffReading("untrusted", user: 1, receivedAt: Self.sessionStart + 1_000_000)
            stored.origin = .stored
            try await recorder.record(stored)
            #expect(
                try await outbox.bindingDecision(ofMeasurement: "untrusted")
                    == BindingDecision(binding: .history, sessionID: nil, reason: .storedTimeUntrusted)
            )
        }
    }

    @Test func aManualEntryIsAuditedWithItsOperatorAndReason() async throws {
        try await withRecorder(boothSlot: 1) { recorder, outbox, clock in
            _ = try await outbox.startSession(id: "s1", contextRef: "ctx")
            clock.set(Self.sessionStart + 5_000_000)
            let entry = ManualEntry(
                kind: .bodyTemperature,
                values: [.init(code: .bodyTemperature, text: "101,3", unit: .fahrenheit)],
                operatorRef: "op-7f3a",
                reason: "thermometer battery flat"
            )
            let (measurement, binding) = try await recorder.recordManual(
                entry,
                id: "manual-1",
                enteredAtMicros: Self.sessionStart + 5_000_000
            )
            #expect(binding == .session)
            #expect(measurement.values.first?.number?.description == "38.5")
            let audit = try await outbox.auditEntries()
            #expect(audit.count == 1)
            #expect(audit.first?.action == "manual_entry")
            #expect(audit.first?.measurementID == "manual-1")
            #expect(audit.first?.sessionID == "s1")
            #expect(audit.first?.operatorRef == "op-7f3a")
            #expect(audit.first?.reason == "thermometer battery flat")
            // A retry with the same id stores nothing and writes no second audit row.
            _ = try await recorder.recordManual(entry, id: "manual-1", enteredAtMicros: Self.sessionStart + 6_000_000)
            #expect(try await outbox.auditEntries().count == 1)
        }
    }

    @Test func aReadinessRunIsRecordedDurably() async throws {
        try await withRecorder(boothSlot: nil) { _, outbox, _ in
            let event = try await outbox.recordReadinessReport(json: "{\"overall\":\"ready\"}")
            #expect(event.type == "readiness.report")
            #expect(event.sessionID == nil)
            let events = try await outbox.events(after: 0)
            #expect(events.map(\.type) == ["readiness.report"])
            #expect(events.first?.payload == "{\"overall\":\"ready\"}")
        }
    }
}
