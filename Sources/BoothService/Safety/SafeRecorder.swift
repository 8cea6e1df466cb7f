import BoothCore
import Foundation
import Synchronization

/// The one place the supervisor and the API hand measurements to the outbox so the issue 11 rules apply:
/// clock assessment against the device's last Current Time, provenance, range flags, then a durable record
/// with the trusted time of measurement (or none, so a stored record becomes history).
public final class SafeRecorder: MeasurementSink, Sendable {
    private let outbox: Outbox
    private let inventory: BoothInventory
    private let clocks = Mutex<[String: ClockEstimate]>([:])
    private let utcOffsetSeconds: @Sendable (Int64) -> Int
    private let thresholdMicros: Int64

    /// - Parameter utcOffsetSeconds: the booth's local offset from UTC at a given time (device clocks show local
    ///   time); the system time zone by default.
    public init(
        outbox: Outbox,
        inventory: BoothInventory,
        thresholdMicros: Int64 = DeviceClock.defaultThresholdMicros,
        utcOffsetSeconds: @escaping @Sendable (Int64) -> Int = SafeRecorder.systemOffset
    ) {
        self.outbox = outbox
        self.inventory = inventory
        self.thresholdMicros = thresholdMicros
        self.utcOffsetSeconds = utcOffsetSeconds
    }

    public static let systemOffset: @Sendable (Int64) -> Int = { micros in
        TimeZone.current.secondsFromGMT(for: Date(timeIntervalSince1970: Double(micros) / 1_000_000))
    }

    /// Call at each connection with the Current Time the device reported (nil when it has none).
    @discardableResult
    public func deviceConnected(id: String, deviceNow: DeviceTimestamp?, receivedAtMicros: Int64) -> ClockEstimate {
        let estimate = DeviceClock.estimate(
            deviceNow: deviceNow,
            receivedAtMicros: receivedAtMicros,
            utcOffsetSeconds: utcOffsetSeconds(receivedAtMicros),
            thresholdMicros: thresholdMicros
        )
        clocks.withLock { $0[id] = estimate }
        return estimate
    }

    /// The last clock estimate per device, for the readiness check.
    public var clockEstimates: [String: ClockEstimate] { clocks.withLock { $0 } }

    /// The measurement as it will be stored: clock assessed, provenance and flags added.
    public func prepare(
        _ measurement: BoothCore.Measurement,
        decoderVersion: String? = nil,
        userSlot: Int? = nil
    ) -> (measurement: BoothCore.Measurement, trustedTakenAtMicros: Int64?) {
        let connection = clocks.withLock { $0[measurement.device.id] }
        let assessment = DeviceClock.assess(
            measurement,
            connection: connection,
            utcOffsetSeconds: utcOffsetSeconds(measurement.receivedAtMicros),
            thresholdMicros: thresholdMicros
        )
        let annotated = Provenance.annotate(
            measurement,
            decoderVersion: decoderVersion,
            clock: measurement.method == .manual ? nil : assessment,
            userSlot: userSlot,
            boothSlot: inventory.cuffUserSlot
        )
        return (annotated, measurement.method == .manual ? nil : assessment.trustedTakenAtMicros)
    }

    /// The supervisor's path: the user slot is the one the decoder recorded in the measurement's provenance.
    public func record(_ measurement: BoothCore.Measurement) async throws {
        _ = try await record(measurement, decoderVersion: nil, userSlot: nil)
    }

    /// Whether a reading may be bound to the active session automatically: a multi-user device's reading from a
    /// slot the inventory does not give the booth (or the "unknown user" slot) may not.
    public func autoAssign(userSlot: Int?) -> AutoAssign {
        UserSlotRule.mayAutoAssign(slot: userSlot, boothSlot: inventory.cuffUserSlot)
            ? .allowed : .refused(.otherUserSlot)
    }

    /// Records a decoded measurement under the safety rules; returns where it was bound.
    ///
    /// - Parameter userSlot: the multi-user device's slot; nil to use the one in the measurement's provenance.
    @discardableResult
    public func record(
        _ measurement: BoothCore.Measurement,
        decoderVersion: String?,
        userSlot: Int?
    ) async throws(OutboxError) -> MeasurementBinding {
        let slot = userSlot ?? measurement.provenance?.userSlot
        let (prepared, trusted) = prepare(measurement, decoderVersion: decoderVersion, userSlot: slot)
        return try await outbox.record(
            prepared,
            trustedTakenAtMicros: trusted,
            autoAssign: measurement.method == .manual ? .allowed : autoAssign(userSlot: slot)
        )
    }

    /// Degraded mode: validates a typed value (ranges, units) and records it. Throws `ManualEntryError` for a
    /// refused value (nothing is stored) or `OutboxError` when storage fails.
    public func recordManual(
        _ entry: ManualEntry,
        id: String,
        enteredAtMicros: Int64
    ) async throws -> (BoothCore.Measurement, MeasurementBinding) {
        var measurement = try entry.measurement(id: id, enteredAtMicros: enteredAtMicros)
        // Typed now: bound like a live reading, so stamped on the boot clock too.
        measurement.receivedBoot = outbox.bootNow()
        let binding = try await outbox.record(measurement, trustedTakenAtMicros: nil, auditReason: entry.reason)
        return (measurement, binding)
    }
}
