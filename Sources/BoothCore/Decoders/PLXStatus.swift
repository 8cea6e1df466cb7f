/// Bit names shared by the Pulse Oximeter Service characteristics (0x2A5E, 0x2A5F, 0x2A60).
public enum PLXStatus {
    /// Measurement Status (16 bit); bits 0-4 are reserved.
    public static let measurementStatusNames: [String?] = [
        nil, nil, nil, nil, nil, "measurementOngoing", "earlyEstimatedData", "validatedData", "fullyQualifiedData",
        "dataFromMeasurementStorage", "dataForDemonstration", "dataForTesting", "calibrationOngoing",
        "measurementUnavailable", "questionableMeasurementDetected", "invalidMeasurementDetected",
    ]

    /// Device and Sensor Status (24 bit); bits 16-23 are reserved.
    public static let deviceSensorStatusNames: [String?] = [
        "extendedDisplayUpdateOngoing", "equipmentMalfunctionDetected", "signalProcessingIrregularityDetected",
        "inadequateSignalDetected", "poorSignalDetected", "lowPerfusionDetected", "erraticSignalDetected",
        "nonpulsatileSignalDetected", "questionablePulseDetected", "signalAnalysisOngoing",
        "sensorInterferenceDetected", "sensorUnconnectedToUser", "unknownSensorConnected", "sensorDisplaced",
        "sensorMalfunctioning", "sensorDisconnected",
    ]

    /// Supported Features (16 bit) of 0x2A60.
    public static let featureNames: [String?] = [
        "hasMeasurementStatusSupport", "hasDeviceAndSensorStatusSupport", "hasMeasurementStorageForSpotCheck",
        "hasTimestampForSpotCheck", "hasSpO2PRFastSupport", "hasSpO2PRSlowSupport",
        "hasPulseAmplitudeIndexSupport", "supportsMultipleBonds",
    ]

    /// Names of the set status bits (Measurement Status, then Device and Sensor Status).
    public static func names(measurement: UInt16? = nil, device: UInt32? = nil) -> [String] {
        bitNames(UInt64(measurement ?? 0), measurementStatusNames)
            + bitNames(UInt64(device ?? 0), deviceSensorStatusNames)
    }

    static func values(spo2: MDERFloat, pulseRate: MDERFloat, pai: MDERFloat?) -> [ObservedValue] {
        var values = [spo2.observed(.spo2, .percent), pulseRate.observed(.pulseOximetryPulseRate, .perMinute)]
        if let pai { values.append(pai.observed(.perfusionIndex, .percent)) }
        return values
    }
}
