import BoothCore
import BoothTesting
import Synchronization
import Testing

private let measurement = GATTUUID(0x2A35)
private let racp = GATTUUID(0x2A52)
private let record = GATTUUID(0x2B36)
private let currentTime = GATTUUID(0x2A2B)
private let cuffID = "ble:00:AA:02:00:00:00"

/// Blood Pressure Measurement, flags 0x1E (mmHg, time stamp, pulse, user id, status): systolic 120 + n, diastolic
/// 80, mean 93, taken 2026-11-25 21:30:n, pulse 70, user 1, status 0.
private func bpm(_ n: UInt8) -> [UInt8] {
    [0x1E, 120 + n, 0x00, 80, 0x00, 93, 0x00, 0xEA, 0x07, 11, 25, 21, 30, n, 70, 0x00, 0x01, 0x00, 0x00]
}

/// The same reading stored as Blood Pressure Record `sequence` (one segment: header 0x03, UUID 0x2A35).
private func stored(_ sequence: UInt16, _ n: UInt8) -> [UInt8] {
    [0x03, UInt8(sequence & 0xFF), UInt8(sequence >> 8), 0x35, 0x2A] + bpm(n)
}

/// The BPS 1.1 stored-record fetch of the cuff driver (RACP 0x2A52 + Blood Pressure Record 0x2B36), byte for byte.
@Suite struct BloodPressureRecordAccessTests {
    actor MemoryCursors: RecordCursorStore {
        var values: [String: UInt16]
        var delivered: [String: DeliveredRecords] = [:]
        init(_ values: [String: UInt16] = [:]) { self.values = values }
        func lastSequence(device: String) -> UInt16? { values[device] }
        func setLastSequence(_ sequence: UInt16, device: String) { values[device] = sequence }
        func deliveredRecords(device: String) -> DeliveredRecords { delivered[device] ?? DeliveredRecords() }
        func setDeliveredRecords(_ records: DeliveredRecords, device: String) { delivered[device] = records }
    }

    /// Runs the cuff driver until the link ends; after the fetch (or the connection, for a cuff without RACP)
    /// the device sends `live` and leaves.
    static func run(
        _ link: ScriptedGATTLink,
        cursors: MemoryCursors,
        live: [UInt8]? = nil,
        driver: GATTMeasurementDriver = .bps
    ) async throws -> [GATTMeasurementDriver.Event] {
        let events = Mutex<[GATTMeasurementDriver.Event]>([])
        let identity = DeviceIdentity(id: cuffID, transport: "ble")
        let services = DriverServices(cursors: cursors) {
            DeviceTimestamp(year: 2026, month: 11, day: 26, hour: 1, minute: 2, second: 3)
        }
        try await driver.run(
            on: link,
            makeContext: { MeasurementContext(id: "m", device: identity, receivedAtMicros: 1) },
            services: services,
            emit: { event in
                events.withLock { $0.append(event) }
                if case .recordsFetched = event {
                    if let live { link.send([(measurement, live)]) }
                    link.end()
                }
            }
        )
        return events.withLock { $0 }
    }

    @Test func recordDecodesItsEnvelopeAndRejectsSegments() throws {
        let parsed = try BloodPressureRecord(bytes: stored(0x0102, 4))
        #expect(parsed.sequenceNumber == 0x0102 && parsed.recordedUUID == 0x2A35 && parsed.recorded == bpm(4))
        #expect(parsed.encoded() == stored(0x0102, 4))
        // First segment of several (bit 1 clear): not guessed at.
        #expect(throws: DecodeError(field: "segmentationHeader", offset: 0, reason: .reservedValue(0x01))) {
            try BloodPressureRecord(bytes: [0x01, 0x01, 0x00, 0x35, 0x2A] + bpm(0))
        }
        #expect(
            throws: DecodeError(field: "recordedCharacteristic", offset: 5, reason: .truncated(needed: 1, available: 0))
        ) {
            try BloodPressureRecord(bytes: [0x03, 0x01, 0x00, 0x35, 0x2A])
        }
    }

    @Test func firstConnectionFetchesAllStoredReadingsWithTheirDeviceTime() async throws {
        let link = ScriptedGATTLink(readable: [currentTime: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]) { characteristic, bytes in
            guard characteristic == racp else { return [] }
            #expect(bytes == [0x01, 0x01])
            return [
                (record, stored(0, 0)), (record, stored(1, 1)), (record, stored(2, 2)),
                (racp, [0x06, 0x00, 0x01, 0x01]),
            ]
        }
        let cursors = MemoryCursors()
        let events = try await Self.run(link, cursors: cursors, live: bpm(9))
        #expect(link.writes.map(\.characteristic) == [currentTime, racp])
        #expect(link.writes.last?.bytes == [0x01, 0x01])
        let readings = DriverEvents.measurements(events)
        // The stored ones carry the recorded bytes and the time the cuff took them; the live one after the fetch.
        #expect(readings.map(\.raw) == [bpm(0), bpm(1), bpm(2), bpm(9)])
        #expect(readings.map(\.origin) == [.stored, .stored, .stored, .live])
        #expect(readings.allSatisfy { $0.kind == .bloodPressure })
        #expect(
            readings[1].deviceTime == DeviceTimestamp(year: 2026, month: 11, day: 25, hour: 21, minute: 30, second: 1)
        )
        let fetched = try #require(DriverEvents.fetched(events))
        #expect(fetched.0 == 3 && fetched.1 == 0 && fetched.2 == nil)
        #expect(await cursors.lastSequence(device: cuffID) == 2)
        #expect(link.unsubscribed.isEmpty)
    }

    @Test func laterConnectionAsksFromTheNextSequenceNumberAndDropsDuplicates() async throws {
        let link = ScriptedGATTLink { characteristic, bytes in
            guard characteristic == racp else { return [] }
            #expect(bytes == [0x01, 0x03, 0x01, 0x06, 0x00])
            // A cuff that ignores the filter resends record 5; record 7 is repeated.
            return [
                (record, stored(5, 5)), (record, stored(6, 6)), (record, stored(7, 7)), (record, stored(7, 7)),
                (racp, [0x06, 0x00, 0x01, 0x01]),
            ]
        }
        let cursors = MemoryCursors([cuffID: 5])
        let events = try await Self.run(link, cursors: cursors)
        #expect(link.writes.map(\.bytes) == [[0x01, 0x03, 0x01, 0x06, 0x00]])
        #expect(DriverEvents.measurements(events).map(\.raw) == [bpm(6), bpm(7)])
        let fetched = try #require(DriverEvents.fetched(events))
        #expect(fetched.0 == 2 && fetched.1 == 2 && fetched.2 == nil)
        #expect(await cursors.lastSequence(device: cuffID) == 7)
    }

    @Test func recordsArrivingAfterTheResponseCodeAreWaitedFor() async throws {
        // Over BlueZ the records and the response code come on different characteristics, and records were seen
        // arriving after the response: here the response overtakes record 7 and its repeat, and record 8 comes
        // 50 ms later. The fetch must wait for them before it ends.
        let link = ScriptedGATTLink { characteristic, _ in
            guard characteristic == racp else { return [] }
            return [
                (record, stored(6, 6)), (racp, [0x06, 0x00, 0x01, 0x01]), (record, stored(7, 7)),
                (record, stored(7, 7)),
            ]
        }
        let late = Task {
            while link.writes.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
            try await Task.sleep(for: .milliseconds(50))
            link.send([(record, stored(8, 8))])
        }
        defer { late.cancel() }
        let cursors = MemoryCursors([cuffID: 5])
        let events = try await Self.run(link, cursors: cursors)
        #expect(link.writes.map(\.bytes) == [[0x01, 0x03, 0x01, 0x06, 0x00]])
        let fetchedAt = try #require(events.firstIndex { if case .recordsFetched = $0 { true } else { false } })
        #expect(DriverEvents.measurements(Array(events[..<fetchedAt])).map(\.raw) == [bpm(6), bpm(7), bpm(8)])
        #expect(DriverEvents.measurements(events).allSatisfy { $0.origin == .stored })
        let fetched = try #require(DriverEvents.fetched(events))
        #expect(fetched.0 == 3 && fetched.1 == 1 && fetched.2 == nil)
        #expect(await cursors.lastSequence(device: cuffID) == 8)
        #expect(link.unsubscribed.isEmpty)
    }

    @Test func omronRecordsWithoutSequenceNumbersAreKnownByDeviceTimeAndBytes() async throws {
        // Omron's flavour (`records: racp-omron`): stored readings come as plain 0x2A35 indications, no sequence
        // number, so every fetch asks for all records and drops the ones delivered before.
        var omron = GATTMeasurementDriver.bps
        omron.records = RecordAccess(omronFilter: true, withoutSequenceNumbers: true)
        func cuff(holding stock: [[UInt8]]) -> ScriptedGATTLink {
            ScriptedGATTLink { characteristic, bytes in
                guard characteristic == racp else { return [] }
                #expect(bytes == [0x01, 0x01])
                return stock.map { (measurement, $0) } + [(racp, [0x06, 0x00, 0x01, 0x01])]
            }
        }
        let cursors = MemoryCursors()
        let first = try await Self.run(cuff(holding: [bpm(1), bpm(2)]), cursors: cursors, driver: omron)
        #expect(DriverEvents.measurements(first).map(\.raw) == [bpm(1), bpm(2)])
        #expect(DriverEvents.measurements(first).allSatisfy { $0.origin == .stored })
        #expect(DriverEvents.fetched(first).map { [$0.0, $0.1] } == [2, 0])

        // Then: a reading at 21:30:03, repeated; another one taken in the same second (systolic 150); and
        // 21:30:00, which the first fetch missed. Only the new three are delivered, the older one too.
        var sameSecond = bpm(3)
        sameSecond[1] = 150
        let second = try await Self.run(
            cuff(holding: [bpm(0), bpm(1), bpm(2), bpm(3), bpm(3), sameSecond]),
            cursors: cursors,
            driver: omron
        )
        #expect(DriverEvents.measurements(second).map(\.raw) == [bpm(0), bpm(3), sameSecond])
        #expect(DriverEvents.fetched(second).map { [$0.0, $0.1] } == [3, 3])

        // Nothing new: nothing delivered; a live reading the cuff repeats after the fetch is dropped too.
        let link = cuff(holding: [bpm(0), bpm(1), bpm(2), bpm(3), sameSecond])
        let third = try await Self.run(link, cursors: cursors, live: bpm(2), driver: omron)
        #expect(DriverEvents.measurements(third).isEmpty)
        #expect(DriverEvents.fetched(third).map { [$0.0, $0.1] } == [0, 5])
        #expect(link.writes.map(\.bytes) == [[0x01, 0x01]])
        #expect(await cursors.lastSequence(device: cuffID) == nil)
        let known = await cursors.deliveredRecords(device: cuffID)
        #expect(known.entries.count == 5 && known.through == nil)
        // FNV-1a 64, byte-exact: the empty input is the offset basis, "a" the published value.
        #expect(DeliveredRecords.digest([]) == "cbf29ce484222325")
        #expect(DeliveredRecords.digest([0x61]) == "af63dc4c8601ec8c")
    }

    @Test func deliveredRecordsArePrunedOldestFirstAndStayDuplicatesAfter() {
        var known = DeliveredRecords()
        func at(_ minute: Int, _ second: Int) -> DeviceTimestamp {
            DeviceTimestamp(year: 2026, month: 11, day: 25, hour: 8, minute: minute, second: second)
        }
        // Inserted newest first: kept in time order.
        for index in (0..<(DeliveredRecords.limit + 2)).reversed() {
            known.insert(time: at(index / 60, index % 60), raw: [UInt8(index & 0xFF)])
        }
        #expect(known.entries.count == DeliveredRecords.limit)
        #expect(known.through == at(0, 1))
        #expect(known.entries.first?.time == at(0, 2))
        // At or before the pruned time: taken for delivered, whatever the bytes.
        #expect(known.contains(time: at(0, 0), raw: [0xEE]))
        #expect(!known.contains(time: at(0, 2), raw: [0xEE]))
        #expect(known.contains(time: at(0, 2), raw: [0x02]))
    }

    @Test func nothingNewEndsTheFetchAndAnUndecodableRecordIsReportedWithItsBytes() async throws {
        let segmented: [UInt8] = [0x01, 0x09, 0x00, 0x35, 0x2A] + bpm(0)
        let enhanced: [UInt8] = [0x03, 0x0A, 0x00, 0x34, 0x2B, 0x00]
        let link = ScriptedGATTLink { characteristic, _ in
            characteristic == racp
                ? [(record, segmented), (record, enhanced), (racp, [0x06, 0x00, 0x01, 0x06])] : []
        }
        let cursors = MemoryCursors([cuffID: 8])
        let events = try await Self.run(link, cursors: cursors)
        let undecodable = events.compactMap { if case .undecodable(let raw, _) = $0 { raw } else { nil } }
        #expect(undecodable == [segmented, enhanced])
        #expect(DriverEvents.measurements(events).isEmpty)
        let fetched = try #require(DriverEvents.fetched(events))
        #expect(fetched.2 == nil)
    }

    @Test func aCuffWithoutStoredRecordsIsReadLive() async throws {
        // No RACP, no record characteristic: the clock is set, then live readings, as before BPS 1.1.
        let link = ScriptedGATTLink(readable: [currentTime: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]], absent: [racp, record])
        let events = Mutex<[GATTMeasurementDriver.Event]>([])
        let identity = DeviceIdentity(id: cuffID, transport: "ble")
        try await GATTMeasurementDriver.bps.run(
            on: link,
            makeContext: { MeasurementContext(id: "m", device: identity, receivedAtMicros: 1) },
            services: DriverServices(cursors: MemoryCursors()) {
                DeviceTimestamp(year: 2026, month: 11, day: 26, hour: 1, minute: 2, second: 3)
            },
            emit: { event in
                events.withLock { $0.append(event) }
                if case .connected = event {
                    Task {
                        try await Task.sleep(for: .milliseconds(20))
                        link.send([(measurement, bpm(3))])
                        link.end()
                    }
                }
            }
        )
        let all = events.withLock { $0 }
        #expect(DriverEvents.measurements(all).map(\.raw) == [bpm(3)])
        #expect(DriverEvents.measurements(all).map(\.origin) == [.live])
        #expect(DriverEvents.fetched(all) == nil)
        #expect(link.writes.map(\.characteristic) == [currentTime])
    }

    @Test func aRecordLostOnTheWayIsAskedForAgainAndTheCursorNeverSkipsIt() async throws {
        // Record 1 does not arrive with the first answer; asked again from 1, the cuff sends 1 and 2.
        let link = ScriptedGATTLink { characteristic, bytes in
            guard characteristic == racp else { return [] }
            if bytes == [0x01, 0x01] {
                return [(record, stored(0, 0)), (record, stored(2, 2)), (racp, [0x06, 0x00, 0x01, 0x01])]
            }
            #expect(bytes == [0x01, 0x03, 0x01, 0x01, 0x00])
            return [(record, stored(1, 1)), (record, stored(2, 2)), (racp, [0x06, 0x00, 0x01, 0x01])]
        }
        let cursors = MemoryCursors()
        let events = try await Self.run(link, cursors: cursors)
        #expect(link.writes.map(\.bytes) == [[0x01, 0x01], [0x01, 0x03, 0x01, 0x01, 0x00]])
        #expect(DriverEvents.measurements(events).map(\.raw) == [bpm(0), bpm(2), bpm(1)])
        let fetched = try #require(DriverEvents.fetched(events))
        #expect(fetched.0 == 3 && fetched.1 == 1 && fetched.2 == nil)
        #expect(await cursors.lastSequence(device: cuffID) == 2)

        // A record that never comes: asked twice more, then reported; the cursor stays before it.
        let stubborn = ScriptedGATTLink { characteristic, _ in
            characteristic == racp
                ? [(record, stored(5, 5)), (record, stored(7, 7)), (racp, [0x06, 0x00, 0x01, 0x01])] : []
        }
        let stuck = MemoryCursors([cuffID: 4])
        let stubbornEvents = try await Self.run(stubborn, cursors: stuck)
        #expect(stubborn.writes.count == 3)
        #expect(DriverEvents.measurements(stubbornEvents).map(\.raw) == [bpm(5), bpm(7)])
        #expect(DriverEvents.fetched(stubbornEvents)?.2 == .missing(after: 5))
        #expect(await stuck.lastSequence(device: cuffID) == 5)
    }

    @Test func recordsArrivingOutOfOrderAreAllDelivered() async throws {
        let link = ScriptedGATTLink { characteristic, _ in
            characteristic == racp
                ? [
                    (record, stored(1, 1)), (record, stored(0, 0)), (record, stored(2, 2)), (record, stored(0, 0)),
                    (racp, [0x06, 0x00, 0x01, 0x01]),
                ] : []
        }
        let cursors = MemoryCursors()
        let events = try await Self.run(link, cursors: cursors)
        #expect(DriverEvents.measurements(events).map(\.raw) == [bpm(1), bpm(0), bpm(2)])
        let fetched = try #require(DriverEvents.fetched(events))
        #expect(fetched.0 == 3 && fetched.1 == 1 && fetched.2 == nil)
        #expect(await cursors.lastSequence(device: cuffID) == 2)
    }
}
