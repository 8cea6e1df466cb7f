/// Stored records fetched through the Record Access Control Point (0x2A52) after each connection, so readings
/// taken while the device was away from the booth are not lost: "all records" the first time, then "sequence
/// number ≥ last seen + 1". Records arrive either as ordinary measurement notifications carrying their sequence
/// number (Glucose), or wrapped in a record characteristic that carries it (`container`: the Blood Pressure
/// Service 1.1 Blood Pressure Record 0x2B36); the driver ends the fetch when the control point indicates its
/// response code.
public struct RecordAccess: Sendable, Hashable {
    /// The control point characteristic.
    public var controlPoint: GATTUUID
    /// Omron's sequence-number filter type (0x04) instead of the standard one (0x01).
    public var omronFilter: Bool
    /// How long to wait for the response code before reading live measurements anyway, seconds.
    public var timeoutSeconds: Int
    /// The characteristic stored records arrive in, wrapped with their sequence number (`BloodPressureRecord`);
    /// nil: records arrive on the measurement characteristic itself.
    public var container: GATTUUID?
    /// True: many devices of this service have no RACP (most cuffs); such a device is read live only. False:
    /// the service requires it, and a device without it is an error.
    public var optional: Bool

    public init(
        controlPoint: GATTUUID = GATTUUID(0x2A52),
        omronFilter: Bool = false,
        timeoutSeconds: Int = 30,
        container: GATTUUID? = nil,
        optional: Bool = false
    ) {
        self.controlPoint = controlPoint
        self.omronFilter = omronFilter
        self.timeoutSeconds = timeoutSeconds
        self.container = container
        self.optional = optional
    }

    /// The Blood Pressure Service 1.1 record fetch: RACP plus Blood Pressure Record (0x2B36), where the cuff has them.
    public static let bloodPressureRecords = RecordAccess(container: GATTUUID(0x2B36), optional: true)

    /// The request for a device whose last seen sequence number is `last` (nil: never fetched).
    public func request(after last: UInt16?) -> RecordAccessControlPoint {
        guard let last, last < UInt16.max else { return .reportAll }
        return .reportFrom(sequence: last + 1, omron: omronFilter)
    }
}

/// When the driver sets the device clock with a Current Time (0x2A2B) write after connecting.
public enum ClockPolicy: String, Sendable, Hashable {
    /// Never (the device has no clock that matters, e.g. a live oximeter).
    case leave
    /// When the device's Current Time reads as unset (year unknown or before 2020); devices without a readable
    /// Current Time are left alone.
    case setIfUnset
    /// After every connection (profiles with `needs_time_sync`, e.g. Omron cuffs).
    case always
}

/// Where the last sequence number seen per device is kept between connections and restarts.
public protocol RecordCursorStore: Sendable {
    func lastSequence(device: String) async -> UInt16?
    func setLastSequence(_ sequence: UInt16, device: String) async
}

/// What the service layer lends a driver run: persistence and the booth's local time.
public struct DriverServices: Sendable {
    public var cursors: (any RecordCursorStore)?
    /// Local wall-clock time for a Current Time write; nil: the driver never writes the clock.
    public var localTime: (@Sendable () -> DeviceTimestamp)?

    public init(cursors: (any RecordCursorStore)? = nil, localTime: (@Sendable () -> DeviceTimestamp)? = nil) {
        self.cursors = cursors
        self.localTime = localTime
    }
}

/// A record fetch that did not complete (the live measurements are read anyway; the next connection retries).
public enum RecordAccessError: Error, Sendable, Equatable, CustomStringConvertible {
    case refused(code: UInt8)
    case timedOut(seconds: Int)
    /// Records after this sequence number did not all arrive, even when asked again.
    case missing(after: UInt16)

    public var description: String {
        switch self {
        case .refused(let code):
            "the device refused the record request: \(RecordAccessControlPoint.responseCodeNames[code] ?? "code \(code)")"
        case .timedOut(let seconds): "no record access response within \(seconds) s"
        case .missing(let after):
            "records after sequence number \(after) did not all arrive; the next connection asks for them again"
        }
    }
}

extension GATTMeasurementDriver {
    static let currentTime = GATTUUID(0x2A2B)

    /// Writes Current Time when the policy says so; returns the value written.
    func setClockIfNeeded(on link: some GATTLink, services: DriverServices) async -> DeviceTimestamp? {
        guard clock != .leave, let localTime = services.localTime else { return nil }
        if clock == .setIfUnset {
            guard let bytes = try? await link.read(Self.currentTime) else { return nil }
            if let current = try? CurrentTime(bytes: bytes), current.time.year >= 2020 { return nil }
        }
        let now = localTime()
        guard let bytes = try? CurrentTime(time: now).encoded() else { return nil }
        do {
            try await link.write(Self.currentTime, bytes, withResponse: true)
            return now
        } catch {
            return nil
        }
    }
}

/// Notifications of the measurement characteristic and indications of the control point, in arrival order.
enum RecordAccessInput: Sendable {
    case measurement([UInt8])
    /// A stored record in the record characteristic (`RecordAccess.container`).
    case record([UInt8])
    case controlPoint([UInt8])
    case timeout
}

/// Merges the measurement and control point streams (and a fetch timeout) into one ordered stream.
func mergedRecordStreams(
    measurements: AsyncThrowingStream<[UInt8], any Error>,
    controlPoint: AsyncThrowingStream<[UInt8], any Error>,
    records: AsyncThrowingStream<[UInt8], any Error>? = nil,
    timeoutSeconds: Int
) -> AsyncThrowingStream<RecordAccessInput, any Error> {
    AsyncThrowingStream(bufferingPolicy: .unbounded) { continuation in
        let pumps = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        for try await bytes in measurements { continuation.yield(.measurement(bytes)) }
                        continuation.finish()
                    } catch {
                        continuation.finish(throwing: error)
                    }
                }
                if let records {
                    group.addTask {
                        // Ends with the link, like the control point; the measurement stream reports why.
                        do {
                            for try await bytes in records { continuation.yield(.record(bytes)) }
                        } catch {}
                    }
                }
                group.addTask {
                    // The control point ending early (device gone) ends the measurement stream too.
                    do {
                        for try await bytes in controlPoint { continuation.yield(.controlPoint(bytes)) }
                    } catch {}
                }
                group.addTask {
                    do {
                        try await Task.sleep(for: .seconds(timeoutSeconds))
                        continuation.yield(.timeout)
                    } catch {}
                }
            }
        }
        continuation.onTermination = { _ in pumps.cancel() }
    }
}

/// Which stored records one connection delivered, and how far the persisted cursor may move: only over an unbroken
/// run of sequence numbers, so a record lost on the way is asked for again instead of being skipped for good.
/// Records may arrive out of order (BlueZ hands each value over as a D-Bus property change): one below the run
/// that this connection has not delivered yet is delivered, not taken for a duplicate.
struct RecordLedger {
    /// Every record up to this one was delivered (persisted per device); nil before the first record.
    private(set) var cursor: UInt16?
    /// The cursor when the connection started: everything up to it came in earlier connections.
    private let baseline: UInt16?
    /// Delivered in this connection.
    private var seen: Set<UInt16> = []
    /// Delivered beyond the cursor, with a hole before them.
    private var ahead: Set<UInt16> = []

    init(cursor: UInt16?) {
        self.cursor = cursor
        baseline = cursor
    }

    /// Delivered before (an earlier connection, or this one).
    func isDuplicate(_ sequence: UInt16) -> Bool {
        if let baseline, sequence <= baseline { return true }
        return seen.contains(sequence)
    }

    /// Notes a delivered record; true when the cursor moved.
    mutating func deliver(_ sequence: UInt16) -> Bool {
        seen.insert(sequence)
        if let cursor, sequence <= cursor { return false }
        ahead.insert(sequence)
        // The first fetch starts the run at the lowest record seen.
        var end: UInt16
        if let cursor {
            guard cursor < UInt16.max, ahead.contains(cursor + 1) else { return false }
            end = cursor + 1
        } else {
            guard let lowest = ahead.min() else { return false }
            end = lowest
        }
        while end < UInt16.max, ahead.contains(end + 1) { end += 1 }
        ahead = ahead.filter { $0 > end }
        guard end != cursor else { return false }
        cursor = end
        return true
    }

    /// Some record after the cursor was delivered while one before it was not.
    var hasHole: Bool { !ahead.isEmpty }
}
