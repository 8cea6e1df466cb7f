import BoothCore
import BoothProfiles
import BoothTesting
import Foundation
import Synchronization
import Testing

/// Every shipped vendor BLE profile drives boothd's vendor driver, and its trace played over a scripted GATT link
/// (the `<` bytes as notifications, sent when the driver writes the matching `>` command) yields exactly the `=`
/// lines: a reading with those values, or a "no reading" warning for `absent`.
@Suite struct VendorTraceDriverTests {
    static func vendorProfiles() throws -> [DeviceProfile] {
        try Shipped.load().profiles.filter { $0.transport == .ble && VendorGATTDriver.protocols[$0.driver] != nil }
    }

    @Test func everyVendorProfileBuildsItsDriver() throws {
        let profiles = try Self.vendorProfiles()
        #expect(Set(profiles.map(\.id)) == ["berrymed.bci", "jumper.jpd500f", "yuwell.yx110", "viatom.o2ring"])
        for profile in profiles {
            let driver = try #require(try VendorGATTDriver(profile: profile), "\(profile.id)")
            #expect(driver.notify == profile.gatt?.notify)
        }
        let o2ring = try #require(profiles.first { $0.id == "viatom.o2ring" })
        #expect(try VendorGATTDriver(profile: o2ring)?.pollInterval == .seconds(1))
        #expect(try VendorGATTDriver(profile: o2ring)?.reportInterval == .zero)
        let berry = try #require(profiles.first { $0.id == "berrymed.bci" })
        #expect(try VendorGATTDriver(profile: berry)?.reportInterval == .seconds(1))
    }

    @Test(arguments: ["berrymed.bci", "jumper.jpd500f", "yuwell.yx110", "viatom.o2ring"])
    func traceThroughTheDriver(_ id: String) async throws {
        let profile = try #require(try Self.vendorProfiles().first { $0.id == id })
        var driver = try #require(try VendorGATTDriver(profile: profile))
        driver.reportInterval = .zero
        driver.pollInterval = nil
        let traceFile = URL(fileURLWithPath: Shipped.directory).appendingPathComponent(try #require(profile.trace))
        let trace = try DeviceTrace.parse(String(contentsOf: traceFile, encoding: .utf8))
        let notify = try #require(driver.notify.first)

        // The device's chunks in order; those after a `>` line are its answer to that command.
        var unprompted: [[UInt8]] = []
        var answers: [[UInt8]: [[UInt8]]] = [:]
        var lastCommand: [UInt8]?
        var expected: [[String: String]] = []
        for entry in trace.entries {
            switch entry {
            case .sent(let bytes): lastCommand = bytes
            case .received(let bytes):
                if let lastCommand { answers[lastCommand, default: []].append(bytes) } else { unprompted.append(bytes) }
            case .expect(let values): expected.append(values)
            }
        }
        let (write, replies) = (driver.write, answers)
        let link = ScriptedGATTLink { characteristic, value in
            guard characteristic == write else { return [] }
            return (replies[value] ?? []).map { (notify, $0) }
        }
        let configured = driver
        let events = Mutex<[GATTMeasurementDriver.Event]>([])
        let device = DeviceIdentity(id: "ble:00:11:22:33:44:55", transport: "ble", model: profile.name)
        let counter = Mutex<Int64>(0)
        let task = Task {
            try await configured.run(
                on: link,
                makeContext: {
                    let n = counter.withLock { n in
                        n += 1
                        return n
                    }
                    return MeasurementContext(id: "m\(n)", device: device, receivedAtMicros: n * 1_000_000)
                },
                emit: { event in events.withLock { $0.append(event) } }
            )
        }
        let deadline = ContinuousClock.now + .seconds(5)
        while events.withLock({ $0.isEmpty }) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(2))
        }
        link.send(unprompted.map { (notify, $0) })
        link.end()
        try await task.value

        #expect(link.writes.map(\.bytes) == profile.gatt?.startCommands)
        // What the driver reported, in order, as the trace's `=` lines would describe it.
        var observed: [[String: String]] = []
        for event in events.withLock({ $0 }) {
            switch event {
            case .measurement(let measurement):
                var values: [String: String] = [:]
                for value in measurement.values {
                    if value.code == .spo2 { values["spo2"] = value.number.map { "\($0)" } ?? "absent" }
                    if value.code == .pulseOximetryPulseRate {
                        values["pulse_rate"] = value.number.map { "\($0)" } ?? "absent"
                    }
                }
                observed.append(values)
            case .deviceWarning(let warning?):
                #expect(warning == VendorGATTDriver.noReadingWarning)
                observed.append(["spo2": "absent", "pulse_rate": "absent"])
            case .undecodable(let raw, let error):
                Issue.record("\(id): undecodable \(Hex.string(raw)): \(error)")
            default:
                continue
            }
        }
        let wanted = expected.map { $0.filter { ["spo2", "pulse_rate"].contains($0.key) } }
        #expect(observed == wanted, "\(id)")
    }
}
