import BoothCore

extension ManagedDevice {
    /// A heart-rate strap with the Polar PMD ECG stream (firmware-profile driver `polar.pmd.ecg`, e.g. a Polar H10
    /// found by BLE discovery): heart rate + RR as measurements, contact warnings, live ECG chunks into the
    /// supervisor's `WaveformFeed`. Register its identity with `ECGStripService.register` for strips on command.
    public static func polarECG(
        identity: DeviceIdentity,
        chunkSeconds: Double = 0.25,
        connect: @escaping @Sendable () async throws -> any GATTLink
    ) -> ManagedDevice {
        var device = ManagedDevice(
            identity: identity,
            role: .ecg,
            driver: Simulator.heartRateDriver,
            connect: connect
        )
        device.customDriver = PolarECGDriver(chunkSeconds: chunkSeconds)
        return device
    }

    /// The firmware-profile driver id this device kind is chosen by.
    public static let polarECGDriverID = "polar.pmd.ecg"
}
