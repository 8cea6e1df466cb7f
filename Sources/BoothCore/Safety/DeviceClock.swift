/// How far a device clock can be trusted for deciding when a reading was taken.
public enum ClockTrust: String, Sendable, Hashable, Codable {
    /// The device clock is within the threshold of boothd's clock: its times are used (corrected by the offset).
    case trusted
    /// The device clock is further off than the threshold, or claims a time in the future: its times are ignored.
    case untrusted
    /// The device says its clock was never set.
    case unset
    /// No way to compare (no Current Time at connection and a stored record): its times are not relied on.
    case unknown
}

/// A device clock's offset, estimated once per connection from the Current Time it reports.
public struct ClockEstimate: Sendable, Hashable, Codable {
    /// Device clock minus boothd's clock, in microseconds; nil when the clock is unset.
    public var offsetMicros: Int64?
    public var trust: ClockTrust

    public init(offsetMicros: Int64?, trust: ClockTrust) {
        self.offsetMicros = offsetMicros
        self.trust = trust
    }
}

/// What boothd concluded about one reading's time.
public struct ClockAssessment: Sendable, Hashable, Codable {
    public var trust: ClockTrust
    /// Device clock minus boothd's clock, when known.
    public var offsetMicros: Int64?
    /// The time of measurement corrected by the offset, only when the clock is trusted.
    public var trustedTakenAtMicros: Int64?
    /// The time session binding uses: the receive time for a live reading, the trusted time of measurement for a
    /// stored one, nil for a stored one with no trusted time (it is history).
    public var bindingTimeMicros: Int64?
    /// Status flags to add (`deviceClockUntrusted`, `deviceClockUnset`, `deviceTimeMissing`).
    public var flags: [String]

    public init(
        trust: ClockTrust,
        offsetMicros: Int64?,
        trustedTakenAtMicros: Int64?,
        bindingTimeMicros: Int64?,
        flags: [String]
    ) {
        self.trust = trust
        self.offsetMicros = offsetMicros
        self.trustedTakenAtMicros = trustedTakenAtMicros
        self.bindingTimeMicros = bindingTimeMicros
        self.flags = flags
    }
}

/// The device clock rules (issue 11, "clocks").
///
/// - At each connection the offset is estimated from the device's Current Time against the receive time.
/// - Beyond `thresholdMicros` (5 minutes by default) the device clock is untrusted: readings are flagged
///   `deviceClockUntrusted` and binding uses the receive time (live) or nothing (stored → history).
/// - An unset clock is flagged `deviceClockUnset` and never used.
/// - A live reading is always bound by its receive time: a device time can never move it into a session.
///
/// Device timestamps carry no zone: they are read as booth local time, `utcOffsetSeconds` east of UTC.
public enum DeviceClock {
    public static let untrustedFlag = "deviceClockUntrusted"
    public static let unsetFlag = "deviceClockUnset"
    public static let missingTimeFlag = "deviceTimeMissing"
    /// Five minutes.
    public static let defaultThresholdMicros: Int64 = 300_000_000

    /// Microseconds since the Unix epoch of a device time read as local time; nil when the clock is unset or a
    /// field is out of range.
    public static func epochMicros(of time: DeviceTimestamp, utcOffsetSeconds: Int) -> Int64? {
        guard !time.isClockUnset, (1...12).contains(time.month), (1...31).contains(time.day),
            (0...23).contains(time.hour), (0...59).contains(time.minute), (0...59).contains(time.second)
        else { return nil }
        let seconds =
            Int64(time.daysSinceEpoch) * 86_400 + Int64(time.hour * 3600 + time.minute * 60 + time.second)
            - Int64(utcOffsetSeconds)
        return seconds * 1_000_000
    }

    /// Estimates the offset from the device's Current Time (`deviceNow`) read at `receivedAtMicros`.
    public static func estimate(
        deviceNow: DeviceTimestamp?,
        receivedAtMicros: Int64,
        utcOffsetSeconds: Int,
        thresholdMicros: Int64 = defaultThresholdMicros
    ) -> ClockEstimate {
        guard let deviceNow else { return ClockEstimate(offsetMicros: nil, trust: .unknown) }
        guard let deviceMicros = epochMicros(of: deviceNow, utcOffsetSeconds: utcOffsetSeconds) else {
            return ClockEstimate(offsetMicros: nil, trust: .unset)
        }
        let offset = deviceMicros - receivedAtMicros
        // Device times have a resolution of one second: a sub-second offset is no offset.
        return ClockEstimate(
            offsetMicros: offset,
            trust: offset.magnitude > thresholdMicros.magnitude ? .untrusted : .trusted
        )
    }

    /// Assesses one reading's time.
    ///
    /// - Parameter connection: the estimate made at this connection, if the device reports Current Time. Without
    ///   it a live reading's own device time (taken now, received now) serves as the estimate.
    public static func assess(
        _ measurement: Measurement,
        connection: ClockEstimate?,
        utcOffsetSeconds: Int,
        thresholdMicros: Int64 = defaultThresholdMicros
    ) -> ClockAssessment {
        let received = measurement.receivedAtMicros
        let live = measurement.origin == .live
        // A live reading is bound by its receive time whatever its device time says.
        let liveBinding: Int64? = live ? received : nil
        guard let deviceTime = measurement.deviceTime else {
            let flags = live ? [] : [missingTimeFlag]
            return ClockAssessment(
                trust: connection?.trust ?? .unknown,
                offsetMicros: connection?.offsetMicros,
                trustedTakenAtMicros: nil,
                bindingTimeMicros: liveBinding,
                flags: flags
            )
        }
        guard let deviceMicros = epochMicros(of: deviceTime, utcOffsetSeconds: utcOffsetSeconds) else {
            return ClockAssessment(
                trust: .unset,
                offsetMicros: nil,
                trustedTakenAtMicros: nil,
                bindingTimeMicros: liveBinding,
                flags: [unsetFlag]
            )
        }
        let estimate =
            connection?.offsetMicros != nil || connection?.trust == .unset
            ? connection
            : (live
                ? ClockEstimate(
                    offsetMicros: deviceMicros - received,
                    trust: (deviceMicros - received).magnitude > thresholdMicros.magnitude ? .untrusted : .trusted
                ) : nil)
        guard let estimate, let offset = estimate.offsetMicros else {
            let trust = estimate?.trust ?? .unknown
            return ClockAssessment(
                trust: trust,
                offsetMicros: nil,
                trustedTakenAtMicros: nil,
                bindingTimeMicros: liveBinding,
                flags: trust == .unset ? [unsetFlag] : [untrustedFlag]
            )
        }
        let corrected = deviceMicros - offset
        // A corrected time after the reading arrived is impossible: the clock jumped since the estimate.
        guard estimate.trust == .trusted, corrected <= received + thresholdMicros else {
            return ClockAssessment(
                trust: .untrusted,
                offsetMicros: offset,
                trustedTakenAtMicros: nil,
                bindingTimeMicros: liveBinding,
                flags: [untrustedFlag]
            )
        }
        let taken = min(corrected, received)
        return ClockAssessment(
            trust: .trusted,
            offsetMicros: offset,
            trustedTakenAtMicros: taken,
            bindingTimeMicros: live ? received : taken,
            flags: []
        )
    }
}
