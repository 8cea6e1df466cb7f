import BoothCore

/// What a GATT measurement driver emitted, picked apart for the driver tests (RACP, BPS records, vendor drivers).
enum DriverEvents {
    static func measurements(_ events: [GATTMeasurementDriver.Event]) -> [BoothCore.Measurement] {
        events.compactMap { if case .measurement(let m) = $0 { m } else { nil } }
    }

    /// The first `recordsFetched` event: records delivered, duplicates skipped, and the problem if any.
    static func fetched(_ events: [GATTMeasurementDriver.Event]) -> (Int, Int, RecordAccessError?)? {
        for case .recordsFetched(let delivered, let duplicates, let problem) in events {
            return (delivered, duplicates, problem)
        }
        return nil
    }
}
