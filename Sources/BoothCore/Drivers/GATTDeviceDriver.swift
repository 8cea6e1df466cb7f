/// A device-specific driver for a connected GATT device that reports `GATTMeasurementDriver.Event`s, run by the
/// device supervisor instead of the standard SIG measurement driver (e.g. `PolarECGDriver`: heart rate + ECG).
public protocol GATTDeviceDriver: Sendable {
    /// Runs until the link's streams end (device gone) or the task is cancelled.
    func run(
        on link: some GATTLink,
        makeContext: @Sendable () -> MeasurementContext,
        emit: @Sendable (GATTMeasurementDriver.Event) async throws -> Void
    ) async throws
}
