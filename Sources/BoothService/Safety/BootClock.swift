import BoothCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The machine's boot clock: `CLOCK_BOOTTIME` (never stepped by NTP or `date -s`, keeps counting through
/// suspend) with the kernel's boot id, so readings and session starts can be ordered even when the wall clock
/// jumped between them (docs/safety.md, "A wall-clock step never moves a live reading out of its session").
public enum BootClock {
    /// The kernel's id of this boot, read once; nil when `/proc` does not offer it (then nothing is stamped and
    /// session binding uses the wall clock, as before).
    public static let bootID: String? = {
        guard let text = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8) else {
            return nil
        }
        let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return id.isEmpty ? nil : id
    }()

    /// Now on the boot clock, or nil when it cannot be read.
    public static let now: @Sendable () -> BootInstant? = {
        #if canImport(Glibc)
        guard let bootID else { return nil }
        var spec = timespec()
        guard clock_gettime(CLOCK_BOOTTIME, &spec) == 0 else { return nil }
        return BootInstant(bootID: bootID, micros: Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000)
        #else
        return nil
        #endif
    }
}
