import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Gives back, once boothd is ready, the pages of its own executable that only startup needed (argument and
/// configuration parsing, profile loading, server setup): about 10 MB of the binary's code is resident after
/// start, of which about 1.5 MB is touched again while idle (measured with /proc/PID/clear_refs; see
/// docs/reliability.md). The pages are clean and file-backed: `MADV_PAGEOUT` drops them now instead of at the
/// next memory pressure, and whatever code runs later simply faults back in from the page cache.
public enum StartupPages {
    /// What was released: resident bytes before and after.
    public struct Report: Sendable, Equatable {
        public var residentBefore: Int
        public var residentAfter: Int
    }

    /// Pages out the read-only mappings of `/proc/self/exe`. Never throws: on a kernel without MADV_PAGEOUT
    /// (before Linux 5.4) the call fails harmlessly and nothing changes.
    @discardableResult
    public static func release() -> Report {
        let before = residentBytes()
        #if os(Linux)
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        if !executable.isEmpty, let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) {
            for range in readOnlyRanges(maps: maps, path: executable) {
                _ = madvise(UnsafeMutableRawPointer(bitPattern: range.lowerBound), range.count, pageOutAdvice)
            }
        }
        #endif
        return Report(residentBefore: before, residentAfter: residentBytes())
    }

    /// `MADV_PAGEOUT` (linux/mman.h): reclaim these pages.
    static let pageOutAdvice: Int32 = 21

    /// Address ranges of the non-writable mappings of `path` in a /proc/PID/maps text.
    static func readOnlyRanges(maps: String, path: String) -> [Range<UInt>] {
        maps.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[5] == path, !fields[1].contains("w") else { return nil }
            let bounds = fields[0].split(separator: "-")
            guard bounds.count == 2, let low = UInt(bounds[0], radix: 16), let high = UInt(bounds[1], radix: 16),
                low < high
            else { return nil }
            return low..<high
        }
    }

    /// Resident set size of this process, bytes (from /proc/self/statm).
    public static func residentBytes() -> Int {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = statm.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
