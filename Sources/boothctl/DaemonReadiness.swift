import BoothAPI
import BoothService
import Foundation

/// Asks the running boothd for its readiness check (the session API's `readiness` command) through the shared
/// daemon client; the run is recorded by boothd as a `readiness.report` event.
enum DaemonReadiness {
    struct Answer: Decodable {
        var durationMicros: Int64
        var eventId: Int64
        var report: ReadinessReport
    }

    /// The answer and where it came from (`unix:/run/boothd.sock`, `127.0.0.1:8787`).
    static func query(config: BoothConfig) throws(DaemonClientError) -> (answer: Answer, endpoint: String) {
        // Cameras are probed for a frame (at most 2 s): leave room for it.
        let client = try DaemonClient(config: config, timeout: .seconds(8))
        return (try client.command("readiness", as: Answer.self), client.endpoint.description)
    }
}
