import BoothCore
import BoothTesting
import Synchronization
import Testing

private let glucose = GATTUUID(0x2A18)
private let racp = GATTUUID(0x2A52)
private let currentTime = GATTUUID(0x2A2B)

/// Glucose Measurement: flags 0x02 (concentration kg/L + type/location), sequence number, base time
/// 2026-11-25 08:00:00, 95 mg/dL as SFLOAT 95e-5 kg/L (0xB05F), capillary whole blood / finger (0x11).
private func record(_ sequence: UInt16) -> [UInt8] {
    [0x02, UInt8(sequence & 0xFF), UInt8(sequence >> 8), 0xEA, 0x07, 0x0B, 0x19, 0x08, 0x00, 0x00, 0x5F, 0xB0, 0x11]
}

/// The glucose driver's stored-record fetch (RACP 0x2A52) and Current Time write (0x2A2B), byte for byte,
/// against a scripted device.
@Suite struct RecordAccessTests {
    actor MemoryCursors: RecordCursorStore {
        var values: [String: UInt16]
        init(_ values: [String: UInt16] = [:]) { self.values = values }
        func lastSequence(device: String) -> UInt16? { values[device] }
        func setLastSequence(_ sequence: UInt16, device: String) { values[device] = sequence }
        func deliveredRecords(device: String) -> DeliveredRecords { DeliveredRecords() }
        func setDeliveredRecords(_ records: DeliveredRecords, device: String) {}
    }

    /// Local time 2026-11-26 01:02:03 (a Thursday).
    static let services: @Sendable (MemoryCursors) -> DriverServices = { cursors in
        DriverServices(cursors: cursors) {
            DeviceTimestamp(year: 2026, month: 11, day: 26, hour: 1, minute: 2, second: 3)
        }
    }

    /// Runs the glucose driver until the link ends; after the fetch completes, the device sends `live` and leaves.
    static func run(
        _ link: ScriptedGATTLink,
        cursors: MemoryCursors,
        live: [UInt8]? = nil,
        driver: GATTMeasurementDriver = .glucose
    ) async throws -> [GATTMeasurementDriver.Event] {
        let events = Mutex<[GATTMeasurementDriver.Event]>([])
        let identity = DeviceIdentity(id: "ble:00:AA:01:00:00:00", transport: "ble")
        try await driver.run(
            on: link,
            makeContext: { MeasurementContext(id: "m", device: identity, receivedAtMicros: 1) },
            services: services(cursors),
            emit: { event in
                events.withLock { $0.append(event) }
                if case .recordsFetched = event {
                    if let live { link.send([(glucose, live)]) }
                    link.end()
                }
            }
        )
        return events.withLock { $0 }
    }

    @Test func firstConnectionFetchesAllRecordsThenReadsLive() async throws {
        let link = ScriptedGATTLink(readable: [currentTime: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]) { characteristic, bytes in
            guard characteristic == racp else { return [] }
            #expect(bytes == [0x01, 0x01])
            return [
                (glucose, record(1)), (glucose, record(2)), (glucose, record(3)), (racp, [0x06, 0x00, 0x01, 0x01]),
            ]
        }
        let cursors = MemoryCursors()
        let events = try await Self.run(link, cursors: cursors, live: record(4))
        // Clock unset (year 0): Current Time written first, then the report-all request.
        #expect(link.writes.map(\.characteristic) == [currentTime, racp])
        #expect(link.writes.first?.bytes == [0xEA, 0x07, 0x0B, 0x1A, 0x01, 0x02, 0x03, 0x04, 0x00, 0x01])
        #expect(link.writes.last?.bytes == [0x01, 0x01])
        let measurements = DriverEvents.measurements(events)
        // Fetched records are stored readings; a glucose reading is one by nature (the decoder says so), live too.
        #expect(measurements.map(\.origin) == [.stored, .stored, .stored, .stored])
        #expect(measurements.map(\.raw) == [1, 2, 3, 4].map { record($0) })
        let fetchedAt = try #require(events.firstIndex { if case .recordsFetched = $0 { true } else { false } })
        #expect(DriverEvents.measurements(Array(events[..<fetchedAt])).count == 3)
        #expect(measurements.allSatisfy { $0.kind == .glucose })
        let fetched = try #require(DriverEvents.fetched(events))
        #expect(fetched.0 == 3 && fetched.1 == 0 && fetched.2 == nil)
        #expect(await cursors.lastSequence(device: "ble:00:AA:01:00:00:00") == 4)
        #expect(link.unsubscribed.isEmpty)
    }

    @Test func laterConnectionAsksFromTheNextSequenceNumberAndDropsDuplicates() async throws {
        // A set clock is left alone; a device that ignores the filter resends record 7.
        let link = ScriptedGATTLink(readable: [
            currentTime: [0xEA, 0x07, 0x0B, 0x1A, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00]
        ]) {
            characteristic,
            bytes in
            guard characteristic == racp else { return [] }
            #expect(bytes == [0x01, 0x03, 0x01, 0x08, 0x00])
            return [(glucose, record(7)), (glucose, record(8)), (racp, [0x06, 0x00, 0x01, 0x01])]
        }
        let cursors = MemoryCursors(["ble:00:AA:01:00:00:00": 7])
        let events = try await Self.run(link, cursors: cursors)
        #expect(link.writes.map(\.characteristic) == [racp])
        #expect(DriverEvents.measurements(events).map(\.raw) == [record(8)])
        let fetched = try #require(DriverEvents.fetched(events))
        #expect(fetched.0 == 1 && fetched.1 == 1 && fetched.2 == nil)
        #expect(await cursors.lastSequence(device: "ble:00:AA:01:00:00:00") == 8)
    }

    @Test func recordsArrivingAfterTheResponseCodeAreStoredRecordsOfTheFetch() async throws {
        // The response code overtakes record 3, and record 4 comes 50 ms after it: both are still records of the
        // fetch (stored, counted, cursor moved), not live readings after it.
        let link = ScriptedGATTLink { characteristic, _ in
            guard characteristic == racp else { return [] }
            return [(glucose, record(2)), (racp, [0x06, 0x00, 0x01, 0x01]), (glucose, record(3))]
        }
        let late = Task {
            while link.writes.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
            try await Task.sleep(for: .milliseconds(50))
            link.send([(glucose, record(4))])
        }
        defer { late.cancel() }
        let cursors = MemoryCursors(["ble:00:AA:01:00:00:00": 1])
        let events = try await Self.run(link, cursors: cursors)
        let fetchedAt = try #require(events.firstIndex { if case .recordsFetched = $0 { true } else { false } })
        #expect(DriverEvents.measurements(Array(events[..<fetchedAt])).map(\.raw) == [2, 3, 4].map { record($0) })
        let fetched = try #require(DriverEvents.fetched(events))
        #expect(fetched.0 == 3 && fetched.1 == 0 && fetched.2 == nil)
        #expect(await cursors.lastSequence(device: "ble:00:AA:01:00:00:00") == 4)
        #expect(link.unsubscribed.isEmpty)
    }

    @Test func noRecordsAndRefusalsEndTheFetchAndLiveReadingsStillArrive() async throws {
        for (code, problem) in [(UInt8(0x06), RecordAccessError?.none), (0x04, .refused(code: 0x04))] {
            let link = ScriptedGATTLink { characteristic, _ in
                characteristic == racp ? [(racp, [0x06, 0x00, 0x01, code])] : []
            }
            let events = try await Self.run(link, cursors: MemoryCursors(), live: record(1))
            let fetched = try #require(DriverEvents.fetched(events))
            #expect(fetched.0 == 0 && fetched.2 == problem)
            #expect(DriverEvents.measurements(events).map(\.raw) == [record(1)])
            // No readable Current Time: the clock is not touched.
            #expect(link.writes.map(\.characteristic) == [racp])
        }
    }

    @Test func requestEncoding() {
        #expect(RecordAccess().request(after: nil).encoded() == [0x01, 0x01])
        #expect(RecordAccess().request(after: 0x01FF).encoded() == [0x01, 0x03, 0x01, 0x00, 0x02])
        #expect(RecordAccess(omronFilter: true).request(after: 9).encoded() == [0x01, 0x03, 0x04, 0x0A, 0x00])
        #expect(RecordAccess().request(after: 0xFFFF).encoded() == [0x01, 0x01])
    }

    @Test func clockPolicyAlwaysWritesAndLeaveNeverReads() async throws {
        var always = GATTMeasurementDriver.bps
        always.clock = .always
        // A cuff without stored records (no RACP): the clock write is the only write.
        let link = ScriptedGATTLink(absent: [racp])
        let identity = DeviceIdentity(id: "cuff", transport: "ble")
        let stream = Task {
            try await always.run(
                on: link,
                makeContext: { MeasurementContext(id: "m", device: identity, receivedAtMicros: 1) },
                services: Self.services(MemoryCursors())
            ) { event in
                if case .connected = event { link.end() }
            }
        }
        try await stream.value
        #expect(link.writes.map(\.characteristic) == [currentTime])
        #expect(!link.reads.contains(currentTime))
        let plain = ScriptedGATTLink()
        let plx = Task {
            try await GATTMeasurementDriver.plx.run(
                on: plain,
                makeContext: { MeasurementContext(id: "m", device: identity, receivedAtMicros: 1) },
                services: Self.services(MemoryCursors())
            ) { event in
                if case .connected = event { plain.end() }
            }
        }
        try await plx.value
        #expect(plain.writes.isEmpty && !plain.reads.contains(currentTime))
    }
}
