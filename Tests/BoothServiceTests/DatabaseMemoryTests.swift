import Foundation
import Logging
import Testing

@testable import BoothService

/// The outbox's SQLite connections keep at most 512 KiB of page cache each (the default, 2 MiB per connection,
/// grew boothd's idle memory while the simulator recorded).
struct DatabaseMemoryTests {
    @Test func outboxConnectionsHaveTheSmallPageCache() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dbmem-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outbox = Outbox.open(directory: directory, logger: Logger(label: "test.outbox"))
        let pool = try #require(outbox.pool)
        #expect(DatabaseMemory.cacheKiB(of: pool) == 512)
    }
}
