import BoothCore
import BoothTesting
import Foundation
import Synchronization
import Testing

/// The vendor BLE driver over a scripted link, byte-exact with the shared public vectors.
@Suite struct VendorGATTDriverTests {
    /// A 128-bit UUID from the profiles (a typo shows as 0xFFFF in the failures).
    static func uuid(_ text: String) -> GATTUUID { GATTUUID(string: text) ?? GATTUUID(0xFFFF) }
    static let berryService = uuid("49535343-fe7d-4ae5-8fa9-9fafd205e455")
    static let berryNotify = uuid("49535343-1e4d-4bd9-ba61-23c647249616")
    static let viatomNotify = uuid("0734594a-a8e7-4b1a-a6b1-cd5243059a57")
    static let viatomWrite = uuid("8b00ace7-eb0b-49b0-bbe9-9aee0a26e1a3")
    static let jumperNotify = uuid("cdeacb81-5235-4c07-8846-93a37ee6b86d")

    static func vector(_ profile: String) throws -> [UInt8] {
        try #require(try LooseVector.all().first { $0.profile == profile }).bytes
    }

    /// Runs `driver` on `link`, calls `act` once it is subscribed, and returns every event after the link ends.
    /// Receive times advance by `stepMicros` per measurement context.
    static func run(
        _ driver: VendorGATTDriver,
        on link: ScriptedGATTLink,
        stepMicros: Int64 = 1_000_000,
        _ act: @Sendable (ScriptedGATTLink) async throws -> Void
    ) async throws -> [GATTMeasurementDriver.Event] {
        let events = Mutex<[GATTMeasurementDriver.Event]>([])
        let clock = Mutex<Int64>(1_800_000_000_000_000)
        let device = DeviceIdentity(id: "ble:AA:BB:CC:DD:EE:FF", transport: "ble", model: "test")
        let task = Task {
            try await driver.run(
                on: link,
                makeContext: {
                    let now = clock.withLock { now in
                        now += stepMicros
                        return now
                    }
                    return MeasurementContext(id: "m\(now)", device: device, receivedAtMicros: now)
                },
                emit: { event in events.withLock { $0.append(event) } }
            )
        }
        let deadline = ContinuousClock.now + .seconds(5)
        while !events.withLock({ $0.contains { if case .connected = $0 { true } else { false } } }) {
            guard ContinuousClock.now < deadline else { throw NotSubscribed() }
            try await Task.sleep(for: .milliseconds(2))
        }
        try await act(link)
        link.end()
        try await task.value
        #expect(link.unsubscribed.isEmpty)
        return events.withLock { $0 }
    }

    struct NotSubscribed: Error {}

    static func number(_ measurement: BoothCore.Measurement, _ code: MDCCode) -> DecimalNumber? {
        measurement.values.first { $0.code == code }?.number
    }

    static var berryMed: VendorGATTDriver {
        var driver = VendorGATTDriver(
            id: "berrymed.bci",
            vendorProtocol: VendorGATTDriver.protocols["berrymed.bci"]
                ?? VendorGATTDriver.VendorProtocol(decoderKind: "missing", streamFramed: false),
            notify: [berryNotify]
        )
        driver.reportInterval = .zero
        return driver
    }

    @Test func berryMedFramesAcrossAndWithinNotificationsDecodeByteExact() async throws {
        let frame = try Self.vector("berrymed_bci_5byte")  // 87 32 05 48 62: SpO2 98, pulse 72
        let events = try await Self.run(Self.berryMed, on: ScriptedGATTLink()) { link in
            // A frame split over two notifications, then two frames in one notification (BLE UART chunking).
            link.send([(Self.berryNotify, Array(frame[0..<2])), (Self.berryNotify, Array(frame[2...]))])
            link.send([(Self.berryNotify, frame + frame)])
        }
        let readings = DriverEvents.measurements(events)
        #expect(readings.count == 3)
        for reading in readings {
            #expect(reading.raw == frame)
            #expect(reading.kind == .oxygenSaturation)
            #expect(Self.number(reading, .spo2) == DecimalNumber(98))
            #expect(Self.number(reading, .pulseOximetryPulseRate) == DecimalNumber(72))
        }
    }

    @Test func noReadingIsAWarningNotAMeasurementAndClearsWithTheNextReading() async throws {
        let invalid = try Self.vector("berrymed_bci_5byte_invalid_values")  // pulse 255 / SpO2 127
        let valid = try Self.vector("berrymed_bci_5byte")
        let events = try await Self.run(Self.berryMed, on: ScriptedGATTLink()) { link in
            link.send([(Self.berryNotify, invalid), (Self.berryNotify, invalid), (Self.berryNotify, valid)])
        }
        let warnings = events.compactMap { if case .deviceWarning(let w) = $0 { Optional(w) } else { nil } }
        #expect(warnings == [VendorGATTDriver.noReadingWarning, nil])
        #expect(DriverEvents.measurements(events).map(\.raw) == [valid])
    }

    @Test func bytesOutsideAnyFrameAreReportedUndecodable() async throws {
        let frame = try Self.vector("berrymed_bci_5byte")
        let events = try await Self.run(Self.berryMed, on: ScriptedGATTLink()) { link in
            link.send([(Self.berryNotify, [0x12, 0x34] + frame + [0x87, 0x32])])
        }
        let undecodable = events.compactMap { if case .undecodable(let raw, _) = $0 { raw } else { nil } }
        // Leading garbage, then the unfinished frame the link's end leaves behind.
        #expect(undecodable == [[0x12, 0x34], [0x87, 0x32]])
        #expect(DriverEvents.measurements(events).map(\.raw) == [frame])
    }

    @Test func aStreamIsReportedAtTheReportInterval() async throws {
        let frame = try Self.vector("berrymed_bci_5byte")
        var driver = Self.berryMed
        driver.reportInterval = .seconds(1)
        // 60 frames 1/60 s apart (BerryMed's pace) = one second of stream: two readings (t = 0 and t = 1 s).
        let events = try await Self.run(driver, on: ScriptedGATTLink(), stepMicros: 16_667) { link in
            link.send(Array(repeating: (Self.berryNotify, frame), count: 61))
        }
        let readings = DriverEvents.measurements(events)
        #expect(readings.count == 2)
        if readings.count == 2 {
            #expect(readings[1].receivedAtMicros - readings[0].receivedAtMicros >= 1_000_000)
        }
    }

    @Test func jumperNotificationIsOneFrame() async throws {
        let frame = try Self.vector("jumper_jpd500f_0x81")  // 81 38 63 44: pulse 56, SpO2 99, PI 6.8 %
        var driver = VendorGATTDriver(
            id: "jumper.oximeter",
            vendorProtocol: try #require(VendorGATTDriver.protocols["jumper.oximeter"]),
            notify: [Self.jumperNotify]
        )
        driver.reportInterval = .zero
        let events = try await Self.run(driver, on: ScriptedGATTLink()) { link in
            link.send([(Self.jumperNotify, frame)])
        }
        let reading = try #require(DriverEvents.measurements(events).first)
        #expect(reading.raw == frame)
        #expect(Self.number(reading, .spo2) == DecimalNumber(99))
        #expect(Self.number(reading, .pulseOximetryPulseRate) == DecimalNumber(56))
        #expect(Self.number(reading, .perfusionIndex) == DecimalNumber(mantissa: 68, exponent: -1))
    }

    @Test func o2RingIsPolledWithItsCommandAndItsSplitResponseDecoded() async throws {
        let command = try Self.vector("viatom_o2ring_command_frame")  // aa 17 e8 00 00 00 00 1b
        let response = try Self.vector("viatom_o2ring_response_frame_synth")  // 21 bytes: SpO2 98, pulse 66, battery 97
        let driver = VendorGATTDriver(
            id: "viatom.o2",
            vendorProtocol: try #require(VendorGATTDriver.protocols["viatom.o2"]),
            notify: [Self.viatomNotify],
            write: Self.viatomWrite,
            startCommands: [command],
            pollInterval: .milliseconds(20),
            reportInterval: .zero
        )
        // The ring answers every read-sensors command; at the default ATT MTU the 21-byte response arrives as a
        // 20-byte notification and a 1-byte one.
        let link = ScriptedGATTLink { characteristic, value in
            guard characteristic == Self.viatomWrite, value == command else { return [] }
            return [(Self.viatomNotify, Array(response[0..<20])), (Self.viatomNotify, Array(response[20...]))]
        }
        let events = try await Self.run(driver, on: link) { link in
            let deadline = ContinuousClock.now + .seconds(5)
            while link.writes.count < 3, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        }
        let writes = link.writes
        #expect(writes.count >= 3)
        #expect(writes.allSatisfy { $0.characteristic == Self.viatomWrite && $0.bytes == command })
        let readings = DriverEvents.measurements(events)
        #expect(readings.count >= 3)
        for reading in readings {
            #expect(reading.raw == response)
            #expect(Self.number(reading, .spo2) == DecimalNumber(98))
            #expect(Self.number(reading, .pulseOximetryPulseRate) == DecimalNumber(66))
        }
        let batteries = events.compactMap { if case .connected(let info) = $0 { info.batteryPercent } else { nil } }
        #expect(batteries == [97])
    }

    @Test func profileWithoutAUsableGATTSectionIsRejectedClearly() throws {
        func profile(_ gatt: GATTLayout?, options: [String: ProfileOption] = [:]) -> DeviceProfile {
            DeviceProfile(
                id: "viatom.o2ring",
                name: "O2Ring",
                role: .oximeter,
                transport: .ble,
                driver: "viatom.o2",
                options: options,
                match: [],
                gatt: gatt
            )
        }
        #expect(throws: VendorDriverError(profile: "viatom.o2ring", "driver viatom.o2 needs `gatt.notify`")) {
            try VendorGATTDriver(profile: profile(nil))
        }
        let commands = GATTLayout(service: Self.berryService, notify: [Self.viatomNotify], startCommands: [[0xAA]])
        #expect(throws: VendorDriverError(profile: "viatom.o2ring", "`gatt.start_commands` need `gatt.write`")) {
            try VendorGATTDriver(profile: profile(commands))
        }
        let layout = GATTLayout(service: Self.berryService, notify: [Self.viatomNotify], write: Self.viatomWrite)
        #expect(throws: VendorDriverError.self) {
            try VendorGATTDriver(profile: profile(layout, options: ["poll_interval": .text("soon")]))
        }
        #expect(throws: VendorDriverError.self) {
            try VendorGATTDriver(profile: profile(layout, options: ["poll_interval": .text("1")]))
        }
        let sig = DeviceProfile(
            id: "sig.plx",
            name: "PLX",
            role: .oximeter,
            transport: .ble,
            driver: "ble.plx",
            match: []
        )
        #expect(try VendorGATTDriver(profile: sig) == nil)
    }
}
