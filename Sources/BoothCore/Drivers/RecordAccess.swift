import Synchronization

/// Stored records fetched through the Record Access Control Point (0x2A52) after each connection, so readings
/// taken while the device was away from the booth are not lost: "all records" the first time, then "sequence
/// number ≥ last seen + 1". Records arrive either as ordinary measurement notifications carrying their sequence
/// number (Glucose), or wrapped in a record characteristic that carries it (`container`: the Blood Pressure
/// Service 1.1 Blood Pressure Record 0x2B36). The response code comes on the control point, a different
/// characteristic whose stream is not ordered against the records' (BlueZ delivers records after the response
/// too), so the driver ends the fetch only once the records have been quiet for `settle` after the response.
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
    /// After the response code, the fetch ends once no record arrived for this long, milliseconds (records still
    /// on their way when the response overtook them).
    public var settleMilliseconds: Int
    /// The settling after the response code never lasts longer than this, milliseconds (a device that keeps
    /// sending).
    public var settleLimitMilliseconds: Int
    var settle: Duration { .milliseconds(settleMilliseconds) }
    var settleLimit: Duration { .milliseconds(settleLimitMilliseconds) }
    /// Records carry no sequence number (Omron's flavour: plain Blood Pressure Measurements on 0x2A35): every fetch
    /// asks for all records and those already delivered are recognised by device time and content
    /// (`DeliveredRecords`).
    public var withoutSequenceNumbers: Bool

    public init(
        controlPoint: GATTUUID = GATTUUID(0x2A52),
        omronFilter: Bool = false,
        timeoutSeconds: Int = 30,
        container: GATTUUID? = nil,
        optional: Bool = false,
        settleMilliseconds: Int = 500,
        settleLimitMilliseconds: Int = 5000,
        withoutSequenceNumbers: Bool = false
    ) {
        self.controlPoint = controlPoint
        self.omronFilter = omronFilter
        self.timeoutSeconds = timeoutSeconds
        self.container = container
        self.optional = optional
        self.settleMilliseconds = settleMilliseconds
        self.settleLimitMilliseconds = settleLimitMilliseconds
        self.withoutSequenceNumbers = withoutSequenceNumbers
    }

    /// The Blood Pressure Service 1.1 record fetch: RACP plus Blood Pressure Record (0x2B36), where the cuff has them.
    public static let bloodPressureRecords = RecordAccess(container: GATTUUID(0x2B36), optional: true)

    /// The request for a device whose last seen sequence number is `last` (nil: never fetched).
    public func request(after last: UInt16?) -> RecordAccessControlPoint {
        guard !withoutSequenceNumbers, let last, last < UInt16.max else { return .reportAll }
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

/// Where the last sequence number seen per device is kept between connections and restarts, and for records
/// without sequence numbers, which ones were delivered.
public protocol RecordCursorStore: Sendable {
    func lastSequence(device: String) async -> UInt16?
    func setLastSequence(_ sequence: UInt16, device: String) async
    func deliveredRecords(device: String) async -> DeliveredRecords
    func setDeliveredRecords(_ records: DeliveredRecords, device: String) async
}

/// The stored records without a sequence number (Omron cuffs) already delivered from one device, known by the time
/// the device took them and a digest of their bytes, so a fetch of all records can drop them: nothing is delivered
/// twice, and a record missed by an earlier fetch (lost on the way, or arriving out of order) is still delivered,
/// whatever its time. Bounded to `limit` entries (a cuff holds far fewer records): the oldest are pruned, and
/// records taken at or before the newest pruned time count as delivered.
public struct DeliveredRecords: Sendable, Hashable, Codable {
    public struct Entry: Sendable, Hashable, Codable {
        public var time: DeviceTimestamp
        /// FNV-1a 64 of the record's bytes, 16 hex digits (stable across runs, unlike `Hasher`).
        public var digest: String
    }

    public static let limit = 512
    /// Records taken at or before this device time count as delivered (their entries were pruned).
    public private(set) var through: DeviceTimestamp?
    /// Oldest first.
    public private(set) var entries: [Entry]

    public init() {
        through = nil
        entries = []
    }

    /// Whether this record (device time, bytes) was delivered before.
    public func contains(time: DeviceTimestamp, raw: [UInt8]) -> Bool {
        if let through, !Self.isBefore(through, time) { return true }
        let digest = Self.digest(raw)
        return entries.contains { $0.time == time && $0.digest == digest }
    }

    /// Notes a delivered record, pruning the oldest entries beyond `limit`.
    public mutating func insert(time: DeviceTimestamp, raw: [UInt8]) {
        guard !contains(time: time, raw: raw) else { return }
        let index = entries.firstIndex { Self.isBefore(time, $0.time) } ?? entries.endIndex
        entries.insert(Entry(time: time, digest: Self.digest(raw)), at: index)
        while entries.count > Self.limit {
            let pruned = entries.removeFirst()
            if let through, !Self.isBefore(through, pruned.time) { continue }
            through = pruned.time
        }
    }

    /// FNV-1a 64 over the bytes, as 16 lowercase hex digits.
    public static func digest(_ bytes: [UInt8]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    static func isBefore(_ a: DeviceTimestamp, _ b: DeviceTimestamp) -> Bool {
        (a.year, a.month, a.day, a.hour, a.minute, a.second) < (b.year, b.month, b.day, b.hour, b.minute, b.second)
    }
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
    /// The quiet timer armed with this token ran out (`QuietTimer`).
    case quiet(Int)
}

/// Puts `.quiet(token)` into the merged stream once `delay` passes without the timer being armed again: how the
/// driver learns that the records stopped coming after the response code.
final class QuietTimer: Sendable {
    private let continuation: AsyncThrowingStream<RecordAccessInput, any Error>.Continuation
    private let pending = Mutex<Task<Void, Never>?>(nil)

    init(_ continuation: AsyncThrowingStream<RecordAccessInput, any Error>.Continuation) {
        self.continuation = continuation
    }

    /// Replaces any armed timer.
    func arm(token: Int, after delay: Duration) {
        let continuation = continuation
        let task = Task {
            do {
                try await Task.sleep(for: delay)
                continuation.yield(.quiet(token))
            } catch {}
        }
        let previous = pending.withLock { armed in
            defer { armed = task }
            return armed
        }
        previous?.cancel()
    }

    func cancel() {
        let previous = pending.withLock { armed in
            defer { armed = nil }
            return armed
        }
        previous?.cancel()
    }
}

/// Merges the measurement and control point streams (and a fetch timeout) into one ordered stream.
func mergedRecordStreams(
    measurements: AsyncThrowingStream<[UInt8], any Error>,
    controlPoint: AsyncThrowingStream<[UInt8], any Error>,
    records: AsyncThrowingStream<[UInt8], any Error>? = nil,
    timeoutSeconds: Int
) -> (AsyncThrowingStream<RecordAccessInput, any Error>, QuietTimer) {
    let (stream, continuation) = AsyncThrowingStream<RecordAccessInput, any Error>.makeStream(
        bufferingPolicy: .unbounded
    )
    let timer = QuietTimer(continuation)
    do {
        let pumps = Task {
            await withTaskGroup(of: Void.self) { group in
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
                // The merged stream ends when the measurement stream does (it says why), but only after the
                // records' stream has handed over what it still holds: it ends with the link too, and a device
                // that leaves right after its last record must not lose it to the race between the two.
                let ending = await withTaskGroup(of: (any Error)?.self) { streams in
                    streams.addTask {
                        do {
                            for try await bytes in measurements { continuation.yield(.measurement(bytes)) }
                            return nil
                        } catch {
                            return error
                        }
                    }
                    if let records {
                        streams.addTask {
                            do {
                                for try await bytes in records { continuation.yield(.record(bytes)) }
                            } catch {}
                            return nil
                        }
                    }
                    var ending: (any Error)?
                    for await error in streams where error != nil { ending = error }
                    return ending
                }
                if let ending { continuation.finish(throwing: ending) } else { continuation.finish() }
            }
        }
        continuation.onTermination = { _ in
            pumps.cancel()
            timer.cancel()
        }
    }
    return (stream, timer)
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
