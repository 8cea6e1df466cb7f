import BoothCore

/// The FHIR projection of measurement events: a `Bundle` (type `collection`) of the HL7 Personal Health Device
/// Observations for one measurement — blood pressure is one Observation with components plus one for the pulse
/// rate; every other value is its own Observation. The device is referenced by boothd's device id; no patient
/// reference is added (the platform owns patient identity).
public struct PHDObservationProjector: ObservationProjector {
    public init() {}

    public func observationJSON(for measurement: Measurement, sessionID: String?) throws -> String {
        let observations = FHIRObservation.json(measurement, deviceReference: "Device/\(measurement.device.id)")
        let entries = observations.map { "{\"resource\":\($0)}" }.joined(separator: ",")
        return "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[\(entries)]}"
    }
}
