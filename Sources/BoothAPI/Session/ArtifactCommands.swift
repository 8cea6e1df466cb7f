import BoothCore
import BoothService
import Foundation

/// `artifact.assign`, `artifact.discard` and `artifacts.pending`: the decisions on snapshots, recordings and
/// strips that were taken outside a session, as for measurements.
extension SessionConnection {
    static let artifactCommands: Set<String> = ["artifact.assign", "artifact.discard", "artifacts.pending"]

    func artifactCommand(_ name: String, params: [String: JSONValue]) async throws -> String {
        func text(_ key: String, required: Bool) throws(WireError) -> String? {
            try Wire.stringParam(params, key, command: name, required: required)
        }
        switch name {
        case "artifact.assign":
            let event = try await hub.outbox.assignArtifact(
                id: try text("artifactId", required: true) ?? "",
                to: try text("sessionId", required: false),
                reason: try text("reason", required: false)
            )
            return Wire.object([("eventId", "\(event.id)"), ("sessionId", Wire.string(event.sessionID))])
        case "artifact.discard":
            let event = try await hub.outbox.discardArtifact(
                id: try text("artifactId", required: true) ?? "",
                reason: try text("reason", required: false)
            )
            return Wire.object([("eventId", "\(event.id)")])
        default:
            let pending = try await hub.outbox.pendingArtifacts()
            return Wire.object([("artifacts", Wire.encode(pending.map(\.info)))])
        }
    }
}
