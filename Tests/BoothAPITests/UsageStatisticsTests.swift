import BoothCore
import BoothService
import Foundation
import Logging
import Testing

@testable import BoothAPI

/// A reading of `kind` from `device`, as the supervisor would record it.
private func vital(_ id: String, _ kind: MeasurementKind, device: String, at micros: Int64) -> BoothCore.Measurement {
    let (code, unit): (MDCCode, UCUMUnit) =
        switch kind {
        case .bodyTemperature: (.bodyTemperature, .celsius)
        case .bloodPressure: (.systolic, .mmHg)
        case .cuffPressure: (.cuffPressure, .mmHg)
        default: (.spo2, .percent)
        }
    return BoothCore.Measurement(
        id: id,
        kind: kind,
        values: [ObservedValue(code: code, number: DecimalNumber(37), unit: unit)],
        device: DeviceIdentity(id: device, transport: "simulated", model: "Model \(device)"),
        receivedAtMicros: micros
    )
}

@Suite struct UsageStatisticsTests {
    private static let utc = TimeZone(identifier: "UTC") ?? .current

    /// Waits until `condition` holds (the aggregator runs on its own task), at most 5 s.
    private func eventually(_ condition: () async throws -> Bool) async throws {
        for _ in 0..<250 {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("condition not met within 5 s")
    }

    /// Four sessions with known device use; the rates, retakes and failures come out as counted by hand, survive
    /// the outbox's retention purge and a restart, and a replay of the same events counts nothing twice.
    @Test func scriptedSessionsGiveKnownRatesAndSurviveThePurge() async throws {
        let directory = temporaryDirectory()
        let clock = TestClock()
        let outbox = openOutbox(directory, clock: clock)
        let registry = DeviceRegistry()
        let statistics = UsageStatistics.open(
            directory: directory,
            timeZone: Self.utc,
            logger: Logger(label: "test.usage")
        )
        let aggregator = UsageAggregator(
            statistics: statistics,
            outbox: outbox,
            registry: registry,
            logger: Logger(label: "test.usage")
        ) { clock.now }
        let running = Task { try await aggregator.run() }
        defer { running.cancel() }

        var serial = 0
        func take(_ kind: MeasurementKind, _ device: String) async throws {
            serial += 1
            clock.advance(seconds: 1)
            try await outbox.record(vital("m\(serial)", kind, device: device, at: clock.now))
        }
        func session(_ id: String, _ body: () async throws -> Void) async throws {
            clock.advance(seconds: 1)
            _ = try await outbox.startSession(id: id, contextRef: "patient-ref-\(id)")
            try await body()
            clock.advance(seconds: 1)
            _ = try await outbox.endSession(id: id)
        }
        // S1: oximeter, thermometer twice (a retake), a blood pressure with cuff pressures during inflation.
        try await session("S1") {
            try await take(.oxygenSaturation, "sim:oximeter")
            try await take(.bodyTemperature, "sim:thermometer")
            try await take(.bodyTemperature, "sim:thermometer")
            try await take(.cuffPressure, "sim:bp-cuff")
            try await take(.cuffPressure, "sim:bp-cuff")
            try await take(.bloodPressure, "sim:bp-cuff")
        }
        // S2: thermometer (another one: the role still counts once), oximeter.
        try await session("S2") {
            try await take(.bodyTemperature, "ble:thermo-2")
            try await take(.oxygenSaturation, "sim:oximeter")
        }
        // Between sessions: a blood pressure with no session (unassigned), assigned during S4 below.
        try await take(.bloodPressure, "sim:bp-cuff")
        let unassigned = "m\(serial)"
        try await session("S3") {
            try await take(.bodyTemperature, "sim:thermometer")
        }
        try await session("S4") {
            _ = try await outbox.assign(measurementID: unassigned, to: nil, reason: "taken just before")
        }
        // Connections and a failure reported by the supervisor through the registry: a connection is counted
        // each time the cuff becomes ready from not connected (not when a measurement ends), a failure once per
        // entry into error.
        let cuffStates: [DeviceState] = [
            .connecting, .ready, .measuring, .ready, .error(reason: "link lost"), .error(reason: "still lost"),
            .connecting, .measuring, .ready, .gone,
        ]
        for (index, state) in cuffStates.enumerated() {
            await registry.update(
                DeviceStatus(
                    id: "sim:bp-cuff",
                    role: .bp,
                    transport: "simulated",
                    state: state,
                    lastSeenMicros: Int64(index + 1)
                )
            )
        }
        let day = statistics.day(ofMicros: clock.now)
        try await eventually {
            let bp = try statistics.report(since: day, until: day).roles.first { $0.role == "bp" }
            return statistics.cursor == outbox.lastEventID && bp?.failures == 1 && bp?.connections == 2
        }
        let report = try statistics.report(since: day, until: day)
        #expect(report.sessions == 4)
        func role(_ name: String) -> UsageRow? { report.roles.first { $0.role == name } }
        func device(_ id: String) -> UsageRow? { report.devices.first { $0.deviceId == id } }
        #expect(role("thermometer")?.sessionsUsed == 3)
        #expect(role("thermometer")?.usageRate == 0.75)
        #expect(role("thermometer")?.retakes == 1)
        #expect(role("thermometer")?.measurements == 4)
        #expect(role("oximeter")?.usageRate == 0.5)
        #expect(role("bp")?.sessionsUsed == 2)
        #expect(role("bp")?.usageRate == 0.5)
        // Cuff pressures are not readings: 2 blood pressures.
        #expect(role("bp")?.measurements == 2)
        #expect(role("bp")?.failures == 1)
        #expect(device("sim:bp-cuff")?.connections == 2)
        #expect(device("sim:thermometer")?.connections == 0)
        #expect(device("sim:thermometer")?.sessionsUsed == 2)
        #expect(device("sim:thermometer")?.usageRate == 0.5)
        #expect(device("sim:thermometer")?.retakes == 1)
        #expect(device("ble:thermo-2")?.usageRate == 0.25)
        #expect(device("sim:bp-cuff")?.model == "Model sim:bp-cuff")
        #expect(report.days.map(\.day) == [day])
        // No patient or session identifier in what the statistics give out.
        let json = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        #expect(!json.contains("patient-ref") && !json.contains("\"S1\""))

        // The retention purge removes the delivered health data; the statistics stay.
        try outbox.acknowledge(client: "kiosk", upTo: outbox.lastEventID)
        clock.advance(seconds: 25 * 3600)
        let purged = try await outbox.purge(retentionHours: 24)
        #expect(purged.events > 0)
        #expect(try statistics.report(since: day, until: day) == report)

        // A restart: the cursor and the aggregates are on disk; replaying old events counts nothing.
        running.cancel()
        let reopened = UsageStatistics.open(directory: directory, timeZone: Self.utc, logger: Logger(label: "t"))
        #expect(reopened.cursor == outbox.lastEventID)
        let replay = StoredEvent(
            id: 1,
            type: "session.started",
            sessionID: "S9",
            createdAtMicros: clock.now,
            payload: "{}"
        )
        #expect(try reopened.apply([replay]) == 0)
        #expect(try reopened.report(since: day, until: day) == report)
        // A day with no session has no rate.
        let empty = try reopened.report(since: "2001-01-01", until: "2001-01-02")
        #expect(empty.sessions == 0 && empty.roles.isEmpty)
    }

    /// Readiness runs (`readiness.report` events, as the readiness command writes them) are counted by overall
    /// result, and each role found not ready is counted on its role row.
    @Test func readinessRunsAreCounted() throws {
        let statistics = UsageStatistics.open(
            directory: temporaryDirectory(),
            timeZone: Self.utc,
            logger: Logger(label: "t")
        )
        let at: Int64 = 1_700_000_000_000_000
        func run(_ id: Int64, _ overall: String, _ results: [(String, String)]) -> StoredEvent {
            let items = results.map { "{\"role\":\"\($0.0)\",\"level\":\"\($0.1)\",\"detail\":\"x\"}" }
            return StoredEvent(
                id: id,
                type: "readiness.report",
                sessionID: nil,
                createdAtMicros: at + id,
                payload: "{\"durationMicros\":1200,\"report\":{\"evaluatedAtMicros\":\(at),\"overall\":\"\(overall)\","
                    + "\"results\":[\(items.joined(separator: ","))]}}"
            )
        }
        try statistics.apply([
            run(1, "ready", [("thermometer", "ready"), ("bp", "ready")]),
            run(2, "warning", [("thermometer", "warning"), ("bp", "ready")]),
            run(3, "missing", [("thermometer", "missing"), ("bp", "warning")]),
        ])
        let day = statistics.day(ofMicros: at)
        let report = try statistics.report(since: day, until: day)
        #expect(report.readiness == UsageReadiness(runs: 3, ready: 1, warning: 1, missing: 1))
        #expect(report.days.first?.readiness.runs == 3)
        #expect(report.roles.first { $0.role == "thermometer" }?.notReady == 2)
        #expect(report.roles.first { $0.role == "bp" }?.notReady == 1)
        #expect(report.roles.first { $0.role == "bp" }?.measurements == 0)
    }

    @Test func badDaysAreRefusedWithTheParameterName() throws {
        let statistics = UsageStatistics.open(
            directory: temporaryDirectory(),
            timeZone: Self.utc,
            logger: Logger(label: "t")
        )
        #expect(throws: UsageError(.invalidArgument, "since must be a day as YYYY-MM-DD, not \"yesterday\"")) {
            try statistics.report(since: "yesterday", until: "2026-01-01")
        }
        #expect(throws: UsageError(.invalidArgument, "since (2026-02-01) is after until (2026-01-01)")) {
            try statistics.report(since: "2026-02-01", until: "2026-01-01")
        }
    }
}

@Suite struct TechnicianViewsTests {
    private static let utc = TimeZone(identifier: "UTC") ?? .current
    private let now: Int64 = 1_700_000_000_000_000

    @Test func statusLines() {
        let status = DaemonStatus(
            version: "1.2.3",
            uptimeSeconds: 3725,
            session: .init(active: true, sessionId: "S-12", startedAtMicros: now - 90_000_000),
            storage: .init(
                state: "ok",
                reason: nil,
                depth: 4,
                oldestUndeliveredMicros: now - 5_000_000,
                lastEventId: 57
            ),
            devices: ["ready": 2, "error": 1],
            clients: 2
        )
        #expect(
            TechnicianViews.status(status, endpoint: "unix:/run/boothd/api.sock", nowMicros: now) == [
                "boothd      1.2.3, up 1h02m, on unix:/run/boothd/api.sock",
                "session     active (S-12, started 1m30s ago)",
                "storage     ok, 4 undelivered events, oldest 5s ago",
                "devices     3 (1 error, 2 ready)",
                "clients     2",
            ]
        )
        var idle = status
        idle.session = .init(active: false)
        idle.storage = .init(state: "safe-mode", reason: "disk full", depth: nil, lastEventId: 0)
        idle.devices = [:]
        let lines = TechnicianViews.status(idle, endpoint: "x", nowMicros: now)
        #expect(lines[1] == "session     none")
        #expect(lines[2] == "storage     safe-mode (disk full)")
        #expect(lines[3] == "devices     0")
    }

    @Test func deviceTable() {
        let devices = [
            DeviceStatus(
                id: "ble:C0:26:DA:01:02:03",
                role: .thermometer,
                model: "TH-1",
                transport: "ble",
                state: .error(reason: "pairing refused"),
                batteryPercent: 40,
                firmware: "2.1",
                lastSeenMicros: now - 125_000_000
            ),
            DeviceStatus(
                id: "sim:oximeter",
                role: .oximeter,
                transport: "simulated",
                state: .ready,
                lastSeenMicros: now
            ),
        ]
        #expect(
            TechnicianViews.devices(devices, nowMicros: now) == [
                "ROLE         MODEL  TRANSPORT  ADDRESS            STATE                   BATTERY  FIRMWARE  LAST SEEN",
                "oximeter     -      simulated  sim:oximeter       ready                   -        -         just now",
                "thermometer  TH-1   ble        C0:26:DA:01:02:03  error: pairing refused  40%      2.1       2m05s ago",
            ]
        )
        #expect(TechnicianViews.devices([], nowMicros: now) == ["no devices"])
    }

    @Test func readingLine() {
        let measurement = BoothCore.Measurement(
            id: "m1",
            kind: .oxygenSaturation,
            values: [
                ObservedValue(code: .spo2, number: DecimalNumber(97), unit: .percent),
                ObservedValue(code: .pulseOximetryPulseRate, number: nil, unit: .perMinute, absentReason: .notANumber),
                ObservedValue(code: .perfusionIndex, number: DecimalNumber(mantissa: 47, exponent: -1), unit: .percent),
            ],
            device: DeviceIdentity(id: "sim:oximeter", transport: "simulated"),
            receivedAtMicros: now,
            origin: .stored
        )
        #expect(
            TechnicianViews.reading(measurement, timeZone: Self.utc)
                == "22:13:20  sim:oximeter  oxygenSaturation  SpO2 97 %  pulse (not-a-number) /min  PI 4.7 %"
                + "  (from device memory)"
        )
    }

    @Test func usageTableAndCSV() {
        let thermometer = UsageRow(
            deviceId: "sim:thermometer",
            role: "thermometer",
            model: "HTS, simulated",
            sessions: 4,
            sessionsUsed: 3,
            measurements: 4,
            failures: 0,
            retakes: 1,
            connections: 5
        )
        let role = UsageRow(
            deviceId: nil,
            role: "thermometer",
            model: nil,
            sessions: 4,
            sessionsUsed: 3,
            measurements: 4,
            failures: 0,
            retakes: 1,
            notReady: 2,
            connections: 6
        )
        let checks = UsageReadiness(runs: 3, ready: 1, warning: 1, missing: 1)
        let report = UsageReport(
            since: "2026-11-26",
            until: "2026-11-26",
            timeZone: "Europe/Paris",
            sessions: 4,
            devices: [thermometer],
            roles: [role],
            readiness: checks,
            days: [UsageDay(day: "2026-11-26", sessions: 4, devices: [thermometer], roles: [role], readiness: checks)]
        )
        #expect(
            TechnicianViews.usageTable(report) == [
                "usage 2026-11-26 to 2026-11-26 (Europe/Paris): 4 sessions",
                "ROLE         DEVICE           MODEL           USED IN  RATE  READINGS  RETAKES  FAILURES  CONNECTS  NOT READY",
                "thermometer  (all)            -               3/4      75%   4         1        0         6         2",
                "thermometer  sim:thermometer  HTS, simulated  3/4      75%   4         1        0         5         -",
                "readiness checks: 3 (1 ready, 1 warning, 1 missing)",
            ]
        )
        #expect(
            TechnicianViews.usageCSV(report) == """
                day,role,device_id,model,sessions,sessions_used,usage_rate,measurements,retakes,failures,not_ready,connections
                2026-11-26,thermometer,,,4,3,0.7500,4,1,0,2,6
                2026-11-26,thermometer,sim:thermometer,"HTS, simulated",4,3,0.7500,4,1,0,0,5
                total,thermometer,,,4,3,0.7500,4,1,0,2,6
                total,thermometer,sim:thermometer,"HTS, simulated",4,3,0.7500,4,1,0,0,5

                """
        )
    }
}
