import BoothCore

/// Where the device supervisor hands every decoded measurement.
public protocol MeasurementSink: Sendable {
    /// Returns only once the measurement is durably stored (SQLite, WAL, synchronous=FULL). Recording the same
    /// measurement id twice stores it once. Throws an `OutboxError` when storage is unavailable: the caller keeps
    /// the measurement and retries later.
    func record(_ measurement: Measurement) async throws
}

/// Turns a measurement into the JSON text of a FHIR Observation for the session API's measurement events.
/// The FHIR mapping lives in its own module; boothd passes it to `Outbox.open` when it is available.
public protocol ObservationProjector: Sendable {
    func observationJSON(for measurement: Measurement, sessionID: String?) throws -> String
}
