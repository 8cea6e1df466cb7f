import CBoothShim
import Foundation

/// The C allocator's side of releasing a pipeline.
enum MediaMemory {
    /// Gives the heap pages a torn-down pipeline freed (frame buffers, encoder look-ahead, the streaming threads'
    /// malloc arenas) back to the system: glibc keeps freed memory in its arenas otherwise. Returns the resident
    /// bytes before and after.
    static func trim() -> (before: Int, after: Int) {
        let before = residentBytes()
        booth_malloc_trim()
        return (before, residentBytes())
    }

    /// Resident set size of this process, bytes (from /proc/self/statm).
    static func residentBytes() -> Int {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = statm.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
