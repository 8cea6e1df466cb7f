/// A reading of the machine's boot clock (Linux `CLOCK_BOOTTIME`: time since boot, counting suspend) with the
/// boot it belongs to. Unlike the wall clock it never steps (NTP, `date -s`), so it orders two events of the same
/// boot even when the wall clock jumped between them; across a reboot it says nothing.
public struct BootInstant: Sendable, Hashable, Codable {
    /// The kernel's id of the boot (`/proc/sys/kernel/random/boot_id`).
    public var bootID: String
    /// Microseconds since that boot.
    public var micros: Int64

    public init(bootID: String, micros: Int64) {
        self.bootID = bootID
        self.micros = micros
    }

    /// Whether this instant is at or after `other`; nil when the two come from different boots (not comparable).
    public func isAtOrAfter(_ other: BootInstant) -> Bool? {
        guard bootID == other.bootID else { return nil }
        return micros >= other.micros
    }
}
