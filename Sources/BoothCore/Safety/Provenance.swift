/// Where a measurement comes from and what boothd checked, as FHIR PHD observations carry it. Identity (model,
/// serial, firmware, transport, profile), raw bytes, device and receive times, method and device status flags
/// are in `Measurement` itself; this holds the rest.
public struct MeasurementProvenance: Sendable, Hashable, Codable {
    /// Version of the decoder that produced the values, e.g. `ble.bps@1`.
    public var decoderVersion: String?
    /// Device clock minus boothd's clock, microseconds.
    public var clockOffsetMicros: Int64?
    public var clockTrust: ClockTrust?
    /// The trusted time of measurement (device time corrected by the offset), when the clock is trusted.
    public var takenAtMicros: Int64?
    /// The time session binding used; nil for a stored record whose time cannot be trusted.
    public var bindingTimeMicros: Int64?
    /// The multi-user device's user slot.
    public var userSlot: Int?
    /// Opaque reference of the operator who typed a manual entry.
    public var operatorRef: String?
    /// Values outside their plausible range (implausible or impossible), nil when all are plausible.
    public var rangeFindings: [RangeFinding]?

    public init(
        decoderVersion: String? = nil,
        clockOffsetMicros: Int64? = nil,
        clockTrust: ClockTrust? = nil,
        takenAtMicros: Int64? = nil,
        bindingTimeMicros: Int64? = nil,
        userSlot: Int? = nil,
        operatorRef: String? = nil,
        rangeFindings: [RangeFinding]? = nil
    ) {
        self.decoderVersion = decoderVersion
        self.clockOffsetMicros = clockOffsetMicros
        self.clockTrust = clockTrust
        self.takenAtMicros = takenAtMicros
        self.bindingTimeMicros = bindingTimeMicros
        self.userSlot = userSlot
        self.operatorRef = operatorRef
        self.rangeFindings = rangeFindings
    }
}

/// Adds provenance to decoded measurements; pure, so the supervisor, the API and tests produce the same result.
public enum Provenance {
    /// `measurement` with profile, decoder version, clock assessment, user slot and range findings recorded, and
    /// the matching flags added to `status`. Decoded values are never changed or removed.
    ///
    /// - Parameters:
    ///   - boothSlot: the inventory's cuff user slot; a reading from another slot gets `otherUserSlot`.
    public static func annotate(
        _ measurement: Measurement,
        profile: String? = nil,
        decoderVersion: String? = nil,
        clock: ClockAssessment? = nil,
        userSlot: Int? = nil,
        boothSlot: Int? = nil
    ) -> Measurement {
        var result = measurement
        if result.device.profile == nil { result.device.profile = profile }
        var provenance = result.provenance ?? MeasurementProvenance()
        if let decoderVersion { provenance.decoderVersion = decoderVersion }
        var flags: [String] = []
        if let clock {
            provenance.clockOffsetMicros = clock.offsetMicros
            provenance.clockTrust = clock.trust
            provenance.takenAtMicros = clock.trustedTakenAtMicros
            provenance.bindingTimeMicros = clock.bindingTimeMicros
            flags += clock.flags
        }
        if let userSlot {
            provenance.userSlot = userSlot
            if !UserSlotRule.mayAutoAssign(slot: userSlot, boothSlot: boothSlot) {
                flags.append(UserSlotRule.otherSlotFlag)
            }
        }
        let findings = PhysiologicalRanges.check(measurement).filter {
            $0.verdict == .implausible || $0.verdict == .impossible
        }
        if !findings.isEmpty {
            provenance.rangeFindings = findings
            if findings.contains(where: { $0.verdict == .impossible }) {
                flags.append(PhysiologicalRanges.impossibleFlag)
            }
            if findings.contains(where: { $0.verdict == .implausible }) {
                flags.append(PhysiologicalRanges.implausibleFlag)
            }
        }
        for flag in flags where !result.status.contains(flag) { result.status.append(flag) }
        result.provenance = provenance
        return result
    }
}
