import BoothCore
import BoothService
import Foundation
import Testing

@Suite struct DeviceClockTimeTests {
    @Test func wallClockIsTheInstantToTheSecondInTheGivenZone() throws {
        let instant = Date(timeIntervalSince1970: 1_795_654_923.7)  // 2026-11-26T01:02:03.7Z
        #expect(
            DeviceTimestamp.wallClock(instant, in: try #require(TimeZone(identifier: "UTC")))
                == DeviceTimestamp(year: 2026, month: 11, day: 26, hour: 1, minute: 2, second: 3)
        )
        #expect(
            DeviceTimestamp.wallClock(instant, in: try #require(TimeZone(identifier: "Europe/Paris")))
                == DeviceTimestamp(year: 2026, month: 11, day: 26, hour: 2, minute: 2, second: 3)
        )
    }
}
