import Foundation
import Testing

@testable import BoothService

@Suite struct StartupPagesTests {
    @Test func readOnlyMappingsOfTheExecutableOnly() {
        let maps = """
            55d0c0000000-55d0c0400000 r--p 00000000 08:01 123 /usr/bin/boothd
            55d0c0400000-55d0c1400000 r-xp 00400000 08:01 123 /usr/bin/boothd
            55d0c1400000-55d0c1500000 rw-p 01400000 08:01 123 /usr/bin/boothd
            7f0000000000-7f0000100000 r-xp 00000000 08:01 456 /usr/lib/swift/linux/libswiftCore.so
            7f0000200000-7f0000300000 rw-p 00000000 00:00 0
            """
        let ranges = StartupPages.readOnlyRanges(maps: maps, path: "/usr/bin/boothd")
        #expect(ranges == [0x55d0_c000_0000..<0x55d0_c040_0000, 0x55d0_c040_0000..<0x55d0_c140_0000])
        #expect(StartupPages.readOnlyRanges(maps: "garbage line\n\n", path: "/usr/bin/boothd").isEmpty)
    }

    @Test func releasingKeepsTheProcessWorkingAndDoesNotGrowIt() {
        let report = StartupPages.release()
        #expect(report.residentBefore > 0)
        // Released pages fault back in when used: code after the call still runs.
        #expect(report.residentAfter <= report.residentBefore + 1_048_576)
        #expect(StartupPages.residentBytes() > 0)
    }
}
