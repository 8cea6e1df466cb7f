import BoothCore
import Foundation
import Logging
import Synchronization
import Testing

@testable import BoothService

/// Issue 11 scenarios run against the real outbox (SQLite in a temporary directory), with the safety core
/// deciding what the supervisor/API would pass to it.
@Suite("Safety: scenarios on the outbox")
struct SafetyScenarioTests {
    /// 2026-11-25T14:00:00Z; the booth is in Paris (UTC+1).
    static let sessionStart: Int64 = 1_795_615_200_000_000
    static let paris = 3600

    final class Clock: Sendable {
        let micros = Mutex<Int64>(SafetyScenarioTests.sessionStart)
        func set(_ value: Int64) { micros.withLock { $0 = value } }
        var now: @Sendable () -> Int64 { { self.micros.withLock { $0 } } }
    }

    private func withOutbox(_ body: (Outbox, Clock) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("safety-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = Clock()
        let outbox = Outbox.open(directory: directory, logger: Logger(label: "test.safety"), now: clock.now)
        try await body(outbox, clock)
    }

    private func cuffReading(
        _ id: String,
        deviceTime: DeviceTimestamp?,
        receivedAt: Int64,
        origin: BoothCore.Measurement.Origin
    ) -> BoothCore.Measurement {
        BoothCore.Measurement(
            id: id,
            kind: .bloodPressure,
            values: [
                ObservedValue(code: .systolic, number: DecimalNumber(121), unit: .mmHg),
                ObservedValue(code: .diastolic, number: DecimalNumber(79), unit: .mmHg),
            ],
            device: DeviceIdentity(id: "ble:cuff", transport: "ble", model: "BP7000"),
            deviceTime: deviceTime,
            receivedAtMicros: receivedAt,
            origin: origin
        )
    }

    /// Local (Paris) wall-clock time on 2026-11-25.
    private func paris(_ hour: Int, _ minute: Int) -> DeviceTimestamp {
        DeviceTimestamp(year: 2026, month: 11, day: 25, hour: hour, minute: minute, second: 0)
    }

    /// Records as the supervisor should: assess the clock, annotate, pass the trusted time to the outbox.
    private func record(
        _ measurement: BoothCore.Measurement,
        connection: ClockEstimate?,
        into outbox: Outbox
    ) async throws -> (MeasurementBinding, BoothCore.Measurement) {
        let clock = DeviceClock.assess(measurement, connection: connection, utcOffsetSeconds: Self.paris)
        let annotated = Provenance.annotate(measurement, clock: clock)
        let binding = try await outbox.record(annotated, trustedTakenAtMicros: clock.trustedTakenAtMicros)
        return (binding, annotated)
    }

    @Test func cuffMemoryWithThreeOldReadingsAssignsNone() async throws {
        try await withOutbox { outbox, clock in
            _ = try await outbox.startSession(id: "s1", contextRef: "ctx-opaque")
            clock.set(Self.sessionStart + 60_000_000)
            // The cuff's clock is right (Current Time read at connection = receive time).
            let estimate = DeviceClock.estimate(
                deviceNow: paris(15, 1),
                receivedAtMicros: Self.sessionStart + 60_000_000,
                utcOffsetSeconds: Self.paris
            )
            #expect(estimate.trust == .trusted)
            for (index, time) in [paris(9, 12), paris(11, 40), paris(14, 55)].enumerated() {
                let reading = cuffReading(
                    "mem-\(index)",
                    deviceTime: time,
                    receivedAt: Self.sessionStart + 60_000_000,
                    origin: .stored
                )
                let (binding, _) = try await record(reading, connection: estimate, into: outbox)
                #expect(binding == .history)
            }
            for index in 0..<3 {
                #expect(try await outbox.binding(ofMeasurement: "mem-\(index)")?.0 == .history)
            }
            // A record taken during the session with a trusted clock does bind.
            let during = cuffReading(
                "mem-now",
                deviceTime: paris(15, 0),
                receivedAt: Self.sessionStart + 60_000_000,
                origin: .stored
            )
            #expect(try await record(during, connection: estimate, into: outbox).0 == .session)
        }
    }

    @Test func readingBetweenSessionsIsUnassignedThenAssignedExplicitly() async throws {
        try await withOutbox { outbox, clock in
            _ = try await outbox.startSession(id: "s1", contextRef: "ctx-a")
            clock.set(Self.sessionStart + 600_000_000)
            _ = try await outbox.endSession(id: "s1")
            clock.set(Self.sessionStart + 900_000_000)
            let between = cuffReading(
                "between",
                deviceTime: nil,
                receivedAt: Self.sessionStart + 900_000_000,
                origin: .live
            )
            #expect(try await record(between, connection: nil, into: outbox).0 == .unassigned)
            clock.set(Self.sessionStart + 1_200_000_000)
            _ = try await outbox.startSession(id: "s2", contextRef: "ctx-b")
            // Starting the next session does not pull it in.
            #expect(try await outbox.binding(ofMeasurement: "between")?.0 == .unassigned)
            _ = try await outbox.assign(measurementID: "between", to: "s2", reason: "taken by the next patient")
            let bound = try await outbox.binding(ofMeasurement: "between")
            #expect(bound?.0 == .session)
            #expect(bound?.1 == "s2")
            let audit = try await outbox.auditTrail()
            #expect(audit.map(\.action) == ["assign"])
            #expect(audit.first?.sessionID == "s2")
        }
    }

    @Test func clockTwoHoursOffIsFlaggedAndNeverMovesAReadingIntoTheSession() async throws {
        try await withOutbox { outbox, clock in
            _ = try await outbox.startSession(id: "s1", contextRef: "ctx")
            let now = Self.sessionStart + 300_000_000
            clock.set(now)
            // The device clock runs 2 h ahead: Current Time says 17:05 at 15:05 Paris time.
            let estimate = DeviceClock.estimate(
                deviceNow: paris(17, 5),
                receivedAtMicros: now,
                utcOffsetSeconds: Self.paris
            )
            #expect(estimate == ClockEstimate(offsetMicros: 7_200_000_000, trust: .untrusted))
            // A stored record taken at 14:10 (before the session) is stamped 16:10: taken at face value it
            // would fall inside the session.
            let stored = cuffReading("old", deviceTime: paris(16, 10), receivedAt: now, origin: .stored)
            let (storedBinding, storedAnnotated) = try await record(stored, connection: estimate, into: outbox)
            #expect(storedBinding == .history)
            #expect(storedAnnotated.status.contains("deviceClockUntrusted"))
            #expect(storedAnnotated.provenance?.clockOffsetMicros == 7_200_000_000)
            // A live reading from the same device is timed by its arrival: it was taken now, in the session.
            let live = cuffReading("live", deviceTime: paris(17, 5), receivedAt: now, origin: .live)
            let (liveBinding, liveAnnotated) = try await record(live, connection: estimate, into: outbox)
            #expect(liveBinding == .session)
            #expect(liveAnnotated.provenance?.bindingTimeMicros == now)
            #expect(liveAnnotated.status.contains("deviceClockUntrusted"))
            // After the session ends, the same live reading goes to unassigned, whatever the device time says.
            _ = try await outbox.endSession(id: "s1")
            clock.set(now + 60_000_000)
            let late = cuffReading("late", deviceTime: paris(15, 0), receivedAt: now + 60_000_000, origin: .live)
            #expect(try await record(late, connection: nil, into: outbox).0 == .unassigned)
        }
    }

    @Test func multiUserCuffSlotTwoIsFlagged() throws {
        // Blood Pressure Measurement, flags 0x08 (user ID present), 120/80/93 mmHg, user 2.
        let decoded = try BloodPressureMeasurement(bytes: [0x08, 0x78, 0x00, 0x50, 0x00, 0x5D, 0x00, 0x02]).reading
        let slot = UserSlotRule.slot(of: decoded)
        #expect(slot == 2)
        let inventory = BoothInventory(items: [InventoryItem(role: .bp)], cuffUserSlot: 1)
        #expect(!UserSlotRule.mayAutoAssign(slot: slot, boothSlot: inventory.cuffUserSlot))
        let measurement = cuffReading("slot2", deviceTime: nil, receivedAt: Self.sessionStart, origin: .live)
        let annotated = Provenance.annotate(measurement, userSlot: slot, boothSlot: inventory.cuffUserSlot)
        #expect(annotated.status == ["otherUserSlot"])
        #expect(annotated.provenance?.userSlot == 2)
    }

    @Test func manualEntriesAreAcceptedWarnedOrRejectedAndBound() async throws {
        try await withOutbox { outbox, clock in
            _ = try await outbox.startSession(id: "s1", contextRef: "ctx")
            clock.set(Self.sessionStart + 5_000_000)
            let ok = try ManualEntry(
                kind: .bodyTemperature,
                values: [.init(code: .bodyTemperature, text: "99.5", unit: .fahrenheit)],
                operatorRef: "op-1"
            ).measurement(id: "manual-ok", enteredAtMicros: Self.sessionStart + 5_000_000)
            #expect(try await outbox.record(ok, trustedTakenAtMicros: nil) == .session)
            #expect(ok.values.first?.number?.description == "37.5")
            let warned = try ManualEntry(
                kind: .oxygenSaturation,
                values: [.init(code: .spo2, text: "66", unit: .percent)],
                operatorRef: "op-1"
            ).measurement(id: "manual-warn", enteredAtMicros: Self.sessionStart + 6_000_000)
            #expect(warned.status.contains("implausibleValue"))
            #expect(try await outbox.record(warned, trustedTakenAtMicros: nil) == .session)
            #expect(throws: ManualEntryError.self) {
                try ManualEntry(
                    kind: .bodyTemperature,
                    values: [.init(code: .bodyTemperature, text: "73", unit: .celsius)],
                    operatorRef: "op-1"
                ).measurement(id: "manual-bad", enteredAtMicros: Self.sessionStart + 7_000_000)
            }
            #expect(try await outbox.binding(ofMeasurement: "manual-bad") == nil)
        }
    }
}

@Suite("Safety: readiness")
struct SafetyReadinessTests {
    let now: Int64 = 1_795_615_200_000_000

    private func device(
        _ id: String,
        _ role: DeviceRole,
        _ state: DeviceState = .ready,
        model: String? = nil,
        battery: Int? = nil,
        seenSecondsAgo: Int64 = 2
    ) -> DeviceStatus {
        DeviceStatus(
            id: id,
            role: role,
            model: model,
            transport: "ble",
            state: state,
            batteryPercent: battery,
            lastSeenMicros: now - seenSecondsAgo * 1_000_000
        )
    }

    @Test func missingThermometerAndCameraWithoutFramesWithTheirActions() async throws {
        var config = BoothConfig()
        config.booth.inventory = ["thermometer=Jumper JPD-FR400", "otoscope", "oximeter", "bp"]
        let inventory = try BoothInventory(config: config)
        let registry = DeviceRegistry()
        await registry.update(device("v4l2:oto", .otoscope))
        await registry.update(device("ble:ox", .oximeter, battery: 12))
        await registry.update(device("ble:bp", .bp, .error(reason: "cuff not wrapped")))
        let report = await Readiness.evaluate(
            inventory: inventory,
            registry: registry,
            observations: ReadinessObservations(framesDelivered: ["v4l2:oto": false]),
            nowMicros: now,
            config: config
        )
        #expect(report.overall == .missing)
        #expect(report.results.map(\.level) == [.missing, .missing, .warning, .missing])
        #expect(
            report.results.map(\.action) == [
                "switch on the thermometer and bring it near the booth (check its batteries)",
                "unplug the otoscope and plug it back in; remove the lens cap",
                "replace or charge the oximeter batteries",
                "switch the blood pressure cuff off and on again",
            ]
        )
        #expect(report.results[1].detail == "the otoscope sends no picture")
        #expect(report.results[2].detail == "battery 12 %")
        #expect(report.results[3].detail == "the blood pressure cuff reports a problem: cuff not wrapped")
    }

    @Test func readyStaleClockAndModelChecks() throws {
        let inventory = BoothInventory(items: [
            InventoryItem(role: .thermometer, model: "FR400"),
            InventoryItem(role: .scale),
            InventoryItem(role: .glucometer),
            InventoryItem(role: .stethoscope),
        ])
        let devices = [
            device("ble:th", .thermometer, model: "Jumper JPD-FR400", battery: 80),
            device("ble:sc", .scale, seenSecondsAgo: 900),
            device("ble:gl", .glucometer),
            device("alsa:st", .stethoscope),
        ]
        let report = Readiness.evaluate(
            inventory: inventory,
            devices: devices,
            observations: ReadinessObservations(
                stethoscopeSignal: ["alsa:st": true],
                clocks: ["ble:gl": ClockEstimate(offsetMicros: -7_200_000_000, trust: .untrusted)]
            ),
            nowMicros: now
        )
        #expect(report.results.map(\.level) == [.ready, .missing, .warning, .ready])
        #expect(report.results[1].detail == "the scale has not been seen for 15 min")
        #expect(report.results[2].detail == "the glucose meter clock is 120 min off")
        #expect(report.results[0].action == nil)
        let json = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        #expect(json.contains("\"overall\":\"missing\""))
    }

    @Test func boothSectionInYAMLWithLineNumbers() throws {
        var config = BoothConfig()
        try ConfigLoader.apply(
            yaml: "booth:\n  inventory:\n    - thermometer=FR400\n    - otoscope\n  cuff_user_slot: 2\n",
            source: "boothd.yaml",
            to: &config
        )
        #expect(config.booth.inventory == ["thermometer=FR400", "otoscope"])
        #expect(config.booth.cuffUserSlot == 2)
        #expect(
            throws: ConfigError(
                source: "boothd.yaml",
                line: 3,
                key: "booth.cuff_user_slot",
                reason: "300 is out of range 0...255"
            )
        ) {
            var other = BoothConfig()
            try ConfigLoader.apply(
                yaml: "booth:\n  inventory: [bp]\n  cuff_user_slot: 300\n",
                source: "boothd.yaml",
                to: &other
            )
        }
    }

    @Test func inventoryConfigErrorsNameTheKey() throws {
        var config = BoothConfig()
        config.booth.inventory = ["thermometre"]
        #expect(throws: ConfigError.self) { try BoothInventory(config: config) }
        config.booth.inventory = ["bp", "bp=Omron"]
        #expect(throws: ConfigError(source: "configuration", key: "booth.inventory", reason: "role bp listed twice")) {
            try BoothInventory(config: config)
        }
        let loaded = try ConfigLoader.load(
            path: nil,
            environment: ["BOOTHD_BOOTH_INVENTORY": "bp=Omron M7, thermometer"],
            overrides: ["booth.cuff_user_slot=2"]
        )
        let inventory = try BoothInventory(config: loaded)
        #expect(inventory.items == [InventoryItem(role: .bp, model: "Omron M7"), InventoryItem(role: .thermometer)])
        #expect(inventory.cuffUserSlot == 2)
    }
}

@Suite("Safety: recorder")
struct SafeRecorderTests {
    @Test func recorderAppliesClockAndProvenanceBeforeTheOutbox() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("safe-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let start = SafetyScenarioTests.sessionStart
        let outbox = Outbox.open(directory: directory, logger: Logger(label: "test.safe"), now: { start })
        let recorder = SafeRecorder(
            outbox: outbox,
            inventory: BoothInventory(items: [InventoryItem(role: .bp)], cuffUserSlot: 1),
            utcOffsetSeconds: { _ in 3600 }
        )
        _ = try await outbox.startSession(id: "s1", contextRef: "ctx")
        let estimate = recorder.deviceConnected(
            id: "ble:cuff",
            deviceNow: DeviceTimestamp(year: 2026, month: 11, day: 25, hour: 17, minute: 0, second: 0),
            receivedAtMicros: start + 1_000_000
        )
        #expect(estimate.trust == .untrusted)
        #expect(recorder.clockEstimates["ble:cuff"] == estimate)
        let stored = BoothCore.Measurement(
            id: "r1",
            kind: .bloodPressure,
            values: [ObservedValue(code: .systolic, number: DecimalNumber(118), unit: .mmHg)],
            device: DeviceIdentity(id: "ble:cuff", transport: "ble"),
            deviceTime: DeviceTimestamp(year: 2026, month: 11, day: 25, hour: 16, minute: 30, second: 0),
            receivedAtMicros: start + 2_000_000,
            origin: .stored
        )
        let prepared = recorder.prepare(stored, decoderVersion: "ble.bps@1", userSlot: 1).measurement
        #expect(prepared.status == ["deviceClockUntrusted"])
        #expect(prepared.provenance?.decoderVersion == "ble.bps@1")
        #expect(try await recorder.record(stored, decoderVersion: "ble.bps@1", userSlot: 1) == .history)
        let (manual, binding) = try await recorder.recordManual(
            ManualEntry(
                kind: .bodyWeight,
                values: [.init(code: .bodyWeight, text: "165", unit: .pound)],
                operatorRef: "op-2"
            ),
            id: "w1",
            enteredAtMicros: start + 3_000_000
        )
        #expect(binding == .session)
        #expect(manual.values.first?.number?.description == "74.8")
    }
}
