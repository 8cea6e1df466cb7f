import GRDB

/// Bounds SQLite's page cache per connection. The default is 2 MiB, and a GRDB pool holds a writer and up to five
/// readers per database: while the simulator (or a busy booth) records, the outbox's and the usage statistics'
/// caches filled up and boothd's idle memory grew by ~1 MiB a minute for several minutes (docs/reliability.md,
/// "Memory"). Both files are small and stay in the kernel's page cache anyway, so a cache miss costs a copy, not
/// a disk read.
enum DatabaseMemory {
    /// KiB of page cache per connection (`PRAGMA cache_size = -512`).
    static let cacheKiB = 512

    static func limitCache(_ configuration: inout Configuration) {
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA cache_size = -\(cacheKiB)")
        }
    }

    /// The page cache limit of a pool's connections, KiB (diagnostics and tests).
    static func cacheKiB(of pool: DatabasePool) -> Int? {
        guard let pages = try? pool.read({ db in try Int.fetchOne(db, sql: "PRAGMA cache_size") }) else { return nil }
        return pages < 0 ? -pages : nil
    }
}
