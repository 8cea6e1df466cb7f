import BoothCore
import Foundation

extension DeviceTimestamp {
    /// A wall-clock instant as a device clock shows it (to the second) in `timeZone`: what a Current Time write
    /// sets, and what the simulated devices stamp their readings with.
    public static func wallClock(_ date: Date = Date(), in timeZone: TimeZone) -> DeviceTimestamp {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return DeviceTimestamp(
            year: parts.year ?? 0,
            month: parts.month ?? 0,
            day: parts.day ?? 0,
            hour: parts.hour ?? 0,
            minute: parts.minute ?? 0,
            second: parts.second ?? 0
        )
    }
}
