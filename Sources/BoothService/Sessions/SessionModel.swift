import BoothCore

/// Where a measurement belongs.
public enum MeasurementBinding: String, Sendable, Hashable, Codable, CaseIterable {
    /// Taken during the active session and bound to it (or assigned to a session explicitly).
    case session
    /// Arrived with no session, or could not be placed in one: waits for an explicit assign or discard.
    case unassigned
    /// A stored record from device memory that predates the session (or whose time cannot be trusted):
    /// shown apart and never assigned automatically.
    case history
    /// Discarded by an explicit command; kept only until the retention purge.
    case discarded
}

/// A teleconsultation session as the app declared it. `contextRef` is the app's opaque reference to the
/// patient or consultation: boothd never interprets it and never logs it.
public struct SessionInfo: Sendable, Hashable, Codable {
    public var id: String
    public var contextRef: String
    public var startedAtMicros: Int64
    public var endedAtMicros: Int64?
    /// Start and end on the boot clock (stored, not sent): "taken during the session" is judged on it when the
    /// reading was stamped in the same boot, so a wall-clock step cannot move a reading out of its session.
    public var startedBoot: BootInstant?
    public var endedBoot: BootInstant?

    public init(
        id: String,
        contextRef: String,
        startedAtMicros: Int64,
        endedAtMicros: Int64? = nil,
        startedBoot: BootInstant? = nil,
        endedBoot: BootInstant? = nil
    ) {
        self.id = id
        self.contextRef = contextRef
        self.startedAtMicros = startedAtMicros
        self.endedAtMicros = endedAtMicros
        self.startedBoot = startedBoot
        self.endedBoot = endedBoot
    }

    // The wire form (session.started / session.ended events, docs/api) stays as it was.
    private enum CodingKeys: String, CodingKey {
        case id, contextRef, startedAtMicros, endedAtMicros
    }

    public var isActive: Bool { endedAtMicros == nil }
}

/// Why a measurement has its binding, recorded with it and shown to the app (history vs unassigned, and why).
public enum BindingReason: String, Sendable, Hashable, Codable, CaseIterable {
    /// Taken during the active session (live: received during it; stored: trusted device time inside it).
    case takenDuringSession
    /// A live reading that arrived while no session was open.
    case noActiveSession
    /// A live reading received before the active session started.
    case receivedBeforeSession
    /// A stored record whose trusted device time predates the session.
    case storedBeforeSession
    /// A stored record whose device time is missing or cannot be trusted (clock unset or far off).
    case storedTimeUntrusted
    /// A stored record fetched while no session was open.
    case storedWithoutSession
    /// A multi-user device's user slot that the inventory does not give the booth: never auto-assigned.
    case otherUserSlot
    /// Assigned by an explicit command (audited).
    case assignedExplicitly
    /// Discarded by an explicit command (audited).
    case discardedExplicitly
}

/// Whether the safety layer lets the outbox bind a reading to the active session automatically.
public enum AutoAssign: Sendable, Hashable {
    case allowed
    /// Never bound automatically: the reading waits (unassigned, or history for a stored record) with `reason`.
    case refused(BindingReason)
}

/// Where a reading goes and why.
public struct BindingDecision: Sendable, Hashable {
    public var binding: MeasurementBinding
    public var sessionID: String?
    public var reason: BindingReason

    public init(binding: MeasurementBinding, sessionID: String?, reason: BindingReason) {
        self.binding = binding
        self.sessionID = sessionID
        self.reason = reason
    }
}

/// The rules that decide, at arrival, which session a reading belongs to (issue 11, "session binding").
///
/// - A reading goes to the active session only if it was *taken* during it.
/// - A live reading is taken when boothd receives it, so it binds to the session active at that moment. "Before
///   or after the start" is read on the boot clock when the reading and the start were stamped in the same boot
///   (a wall-clock step in between changes nothing), on the wall clock otherwise (across a reboot).
/// - A stored reading (fetched from device memory) is taken when the device says, and device clocks drift or
///   are unset: it binds to the session only when the caller supplies a trusted time of measurement inside
///   the session; otherwise it is history, never auto-assigned.
/// - With no active session a live reading is unassigned.
/// - A reading the safety layer refuses to auto-assign (another user's cuff slot) is never bound automatically.
public enum SessionRules {
    /// - Parameters:
    ///   - measurement: the reading as decoded.
    ///   - active: the session active when the reading arrived, if any.
    ///   - trustedTakenAtMicros: the time of measurement once corrected for the device clock offset, when the
    ///     clock assessment trusts it; nil when it is unknown or untrusted.
    public static func binding(
        for measurement: Measurement,
        active: SessionInfo?,
        trustedTakenAtMicros: Int64? = nil
    ) -> (binding: MeasurementBinding, sessionID: String?) {
        let decision = decide(for: measurement, active: active, trustedTakenAtMicros: trustedTakenAtMicros)
        return (decision.binding, decision.sessionID)
    }

    /// The binding and its reason. `autoAssign` is the safety layer's verdict (user slot): when refused, the
    /// reading is unassigned (live) or history (stored) whatever the session and times say.
    public static func decide(
        for measurement: Measurement,
        active: SessionInfo?,
        trustedTakenAtMicros: Int64? = nil,
        autoAssign: AutoAssign = .allowed
    ) -> BindingDecision {
        let waiting: MeasurementBinding = measurement.origin == .stored ? .history : .unassigned
        if case .refused(let reason) = autoAssign {
            return BindingDecision(binding: waiting, sessionID: nil, reason: reason)
        }
        switch measurement.origin {
        case .stored:
            guard let active else {
                return BindingDecision(binding: .history, sessionID: nil, reason: .storedWithoutSession)
            }
            guard let taken = trustedTakenAtMicros else {
                return BindingDecision(binding: .history, sessionID: nil, reason: .storedTimeUntrusted)
            }
            if taken >= active.startedAtMicros {
                return BindingDecision(binding: .session, sessionID: active.id, reason: .takenDuringSession)
            }
            return BindingDecision(binding: .history, sessionID: nil, reason: .storedBeforeSession)
        case .live:
            guard let active else {
                return BindingDecision(binding: .unassigned, sessionID: nil, reason: .noActiveSession)
            }
            if receivedDuring(measurement, active) {
                return BindingDecision(binding: .session, sessionID: active.id, reason: .takenDuringSession)
            }
            return BindingDecision(binding: .unassigned, sessionID: nil, reason: .receivedBeforeSession)
        }
    }

    /// Whether a live reading arrived at or after the session's start.
    static func receivedDuring(_ measurement: Measurement, _ session: SessionInfo) -> Bool {
        isAtOrAfterStart(wallMicros: measurement.receivedAtMicros, boot: measurement.receivedBoot, of: session)
    }

    /// Whether something that happened at `wallMicros` (and `boot` on the boot clock, when stamped) happened at or
    /// after the session's start: on the boot clock when both were stamped in the same boot, else on the wall clock.
    /// Two boot stamps in the same microsecond do not say which came first: the wall stamps, read next to them,
    /// decide, so boothd never binds a reading whose published `receivedAtMicros` is before `startedAtMicros`
    /// because of the boot clock's resolution.
    public static func isAtOrAfterStart(wallMicros: Int64, boot: BootInstant?, of session: SessionInfo) -> Bool {
        if let boot, let started = session.startedBoot, let after = boot.isAtOrAfter(started),
            boot.micros != started.micros
        {
            return after
        }
        return wallMicros >= session.startedAtMicros
    }
}
