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

    public init(id: String, contextRef: String, startedAtMicros: Int64, endedAtMicros: Int64? = nil) {
        self.id = id
        self.contextRef = contextRef
        self.startedAtMicros = startedAtMicros
        self.endedAtMicros = endedAtMicros
    }

    public var isActive: Bool { endedAtMicros == nil }
}

/// The rules that decide, at arrival, which session a reading belongs to (issue 11, "session binding").
///
/// - A reading goes to the active session only if it was *taken* during it.
/// - A live reading is taken when boothd receives it, so it binds to the session active at that moment.
/// - A stored reading (fetched from device memory) is taken when the device says, and device clocks drift or
///   are unset: it binds to the session only when the caller supplies a trusted time of measurement inside
///   the session; otherwise it is history, never auto-assigned.
/// - With no active session a live reading is unassigned.
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
        switch measurement.origin {
        case .stored:
            if let active, let taken = trustedTakenAtMicros, taken >= active.startedAtMicros {
                return (.session, active.id)
            }
            return (.history, nil)
        case .live:
            if let active, measurement.receivedAtMicros >= active.startedAtMicros {
                return (.session, active.id)
            }
            return (.unassigned, nil)
        }
    }
}
