/// Anything that reads a connected GATT device and reports `GATTMeasurementDriver.Event`s: the standard SIG
/// measurement driver, or a device-specific one such as `PolarECGDriver` (heart rate + ECG stream).
public protocol GATTDeviceDriver: Sendable {
    /// Runs until the link's streams end (device gone) or the task is cancelled.
    func run(
        on link: some GATTLink,
        makeContext: @Sendable () -> MeasurementContext,
        emit: @Sendable (GATTMeasurementDriver.Event) async throws -> Void
    ) async throws
}

extension GATTMeasurementDriver: GATTDeviceDriver {}
