import BoothCore
import BoothService
import Foundation
import Logging
import Testing

@testable import BoothAPI

/// The session API's safety commands below the WebSocket: the readiness run with camera probes, and the
/// parsing of manual entries (scripts/test.d/43-safety-e2e.py drives both over a real socket).
@Suite("Safety: session API commands")
struct SafetyCommandsTests {
    let now: Int64 = 1_795_615_200_000_000

    private func withSafety(
        _ items: [InventoryItem],
        _ body: (SessionSafety, Outbox) async throws -> Void
    ) async throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("safety-api-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outbox = Outbox.open(directory: directory, logger: Logger(label: "test.safety.api"))
        let inventory = BoothInventory(items: items)
        let safety = SessionSafety(
            recorder: SafeRecorder(outbox: outbox, inventory: inventory),
            inventory: inventory,
            config: BoothConfig(),
            now: { [now] in now }
        )
        try await body(safety, outbox)
    }

    @Test func readinessReportsAMissingThermometerAndACameraWithoutFrames() async throws {
        try await withSafety([InventoryItem(role: .thermometer), InventoryItem(role: .otoscope)]) { safety, _ in
            let camera = DeviceStatus(
                id: "v4l2:otoscope",
                role: .otoscope,
                model: "USB otoscope",
                transport: "v4l2",
                state: .ready,
                lastSeenMicros: now
            )
            safety.addCamera(ReadinessCamera(status: camera) { false })
            let registry = DeviceRegistry()
            let (report, duration) = await safety.readiness(registry: registry)
            #expect(duration >= 0)
            #expect(report.overall == .missing)
            let thermometer = try #require(report.results.first { $0.role == .thermometer })
            #expect(thermometer.level == .missing)
            #expect(thermometer.action == "switch on the thermometer and bring it near the booth (check its batteries)")
            let otoscope = try #require(report.results.first { $0.role == .otoscope })
            #expect(otoscope.level == .missing)
            #expect(otoscope.framesDelivered == false)
            #expect(otoscope.detail == "the otoscope sends no picture")
            #expect(otoscope.action == "unplug the otoscope and plug it back in; remove the lens cap")
        }
    }

    @Test func readinessReportsBatteryAndClockOfTheDeviceChosen() async throws {
        try await withSafety([InventoryItem(role: .oximeter)]) { safety, _ in
            let registry = DeviceRegistry()
            await registry.update(
                DeviceStatus(
                    id: "ble:ox",
                    role: .oximeter,
                    transport: "ble",
                    state: .ready,
                    batteryPercent: 15,
                    lastSeenMicros: now
                )
            )
            safety.recorder.deviceConnected(id: "ble:ox", deviceNow: nil, receivedAtMicros: now)
            let (report, _) = await safety.readiness(registry: registry)
            let oximeter = try #require(report.results.first)
            #expect(oximeter.level == .warning)
            #expect(oximeter.batteryPercent == 15)
            #expect(oximeter.deviceState == "ready")
            #expect(oximeter.action == "replace or charge the oximeter batteries")
        }
    }

    @Test func manualEntryParamsByRoleOrKindWithOneOrSeveralValues() throws {
        let single = try SessionConnection.parseManualEntry([
            "role": .string("thermometer"), "value": .string("98,6"), "unit": .string("[degF]"),
            "operatorRef": .string("op-1"), "reason": .string("battery flat"),
        ])
        #expect(single.kind == .bodyTemperature)
        #expect(single.values == [ManualEntry.Value(code: .bodyTemperature, text: "98,6", unit: .fahrenheit)])
        #expect(single.reason == "battery flat")
        let pressure = try SessionConnection.parseManualEntry([
            "kind": .string("bloodPressure"), "operatorRef": .string("op-1"),
            "values": .array([
                .object([
                    "code": .string("MDC_PRESS_BLD_NONINV_SYS"), "value": .number(16), "unit": .string("kPa"),
                ]),
                .object([
                    "code": .string("MDC_PRESS_BLD_NONINV_DIA"), "value": .number(80.5), "unit": .string("mm[Hg]"),
                ]),
            ]),
        ])
        #expect(pressure.values.map(\.text) == ["16", "80.5"])
        #expect(pressure.values.map(\.code) == [.systolic, .diastolic])
    }

    @Test func badManualEntryParamsNameWhatIsWrong() {
        let cases: [([String: JSONValue], String)] = [
            ([:], "needs \"kind\""),
            (["kind": .string("mood"), "operatorRef": .string("o")], "unknown kind \"mood\""),
            (["role": .string("otoscope"), "operatorRef": .string("o")], "role \"otoscope\" has no value"),
            (["role": .string("thermometer"), "value": .number(37), "unit": .string("Cel")], "needs \"operatorRef\""),
            (
                ["role": .string("thermometer"), "operatorRef": .string("o"), "unit": .string("Cel")],
                "MDC_TEMP_BODY needs \"value\""
            ),
            (
                ["role": .string("thermometer"), "operatorRef": .string("o"), "value": .number(37)],
                "MDC_TEMP_BODY needs \"unit\""
            ),
            (
                [
                    "role": .string("thermometer"), "operatorRef": .string("o"), "code": .string("MDC_X"),
                    "value": .number(37), "unit": .string("Cel"),
                ],
                "code \"MDC_X\" is not a value of bodyTemperature"
            ),
            (["role": .string("bp"), "operatorRef": .string("o"), "values": .array([])], "\"values\" must be a list"),
        ]
        for (params, expected) in cases {
            do {
                _ = try SessionConnection.parseManualEntry(params)
                Issue.record("accepted \(params)")
            } catch {
                #expect(error.code == "invalid_params")
                #expect(error.message.contains(expected), "\(error.message)")
            }
        }
    }
}
