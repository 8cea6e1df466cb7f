/// The multi-user cuff rule: a blood pressure monitor (or scale) that keeps readings per user hands over the
/// user slot with each reading; only the slot the booth inventory assigns to the booth is auto-assigned.
public enum UserSlotRule {
    /// Status flag on a reading from a slot the booth does not own (it waits as unassigned).
    public static let otherSlotFlag = "otherUserSlot"
    /// Bluetooth's "unknown user" (guest) value.
    public static let unknownUser = 255

    /// The user slot a decoded reading carries (`userID` field of Blood Pressure / Weight Measurement).
    public static func slot(of reading: DecodedReading) -> Int? {
        if case .integer(let value) = reading.field("userID") { return Int(value) }
        return nil
    }

    /// Whether a reading from `slot` may be bound to the active session automatically.
    ///
    /// - Parameter boothSlot: the slot the inventory gives the booth; nil when the booth's devices are used as
    ///   single-user devices (every reading is the booth's).
    public static func mayAutoAssign(slot: Int?, boothSlot: Int?) -> Bool {
        guard let boothSlot else { return true }
        // A device that does not report users at all has only one memory.
        guard let slot else { return true }
        return slot == boothSlot
    }
}
