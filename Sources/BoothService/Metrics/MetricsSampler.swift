import BoothCore
import BoothMedia
import Foundation
import Logging
import Metrics
import ServiceLifecycle

/// Samples the gauges of `/metrics` every few seconds: devices by state, the outbox's undelivered events and
/// the age of the oldest, session API clients, and the camera's bit rate. Counters (connects, failures,
/// measurements) are counted where they happen; these are levels, read here so that nothing on the hot paths
/// pays for them.
public struct MetricsSampler: Service {
    let outbox: Outbox
    let registry: DeviceRegistry
    let clients: @Sendable () -> Int
    let camera: CameraPipeline?
    let interval: Duration
    let logger: Logger

    public init(
        outbox: Outbox,
        registry: DeviceRegistry,
        clients: @escaping @Sendable () -> Int,
        camera: CameraPipeline?,
        interval: Duration = .seconds(5),
        logger: Logger
    ) {
        self.outbox = outbox
        self.registry = registry
        self.clients = clients
        self.camera = camera
        self.interval = interval
        self.logger = logger
    }

    /// Every state name, so that a state with no device reads 0 rather than vanishing (alerts compare to 0).
    static let stateNames = ["discovered", "connecting", "ready", "measuring", "error", "gone"]

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await sample()
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// One sample of every gauge.
    public func sample() async {
        var counts = Dictionary(uniqueKeysWithValues: Self.stateNames.map { ($0, 0) })
        var byRole: [String: Int] = [:]
        for device in await registry.snapshot() {
            counts[device.state.name, default: 0] += 1
            if device.state == .ready || device.state == .measuring { byRole[device.role.rawValue, default: 0] += 1 }
        }
        for (state, count) in counts {
            Gauge(label: "boothd_devices", dimensions: [("state", state)]).record(count)
        }
        for role in DeviceRole.allCases.map(\.rawValue) where role != DeviceRole.other.rawValue {
            Gauge(label: "boothd_devices_ready", dimensions: [("role", role)]).record(byRole[role] ?? 0)
        }
        Gauge(label: "boothd_websocket_clients").record(clients())
        let storage = outbox.storageState.name
        for state in ["ok", "degraded", "safe-mode"] {
            Gauge(label: "boothd_outbox_storage", dimensions: [("state", state)]).record(state == storage ? 1 : 0)
        }
        do {
            let backlog = try await outbox.backlog()
            Gauge(label: "boothd_outbox_depth").record(backlog.depth)
            let age = backlog.oldestUndeliveredMicros.map { max(0, Outbox.currentMicros() - $0) } ?? 0
            Gauge(label: "boothd_outbox_oldest_undelivered_age_seconds").record(Double(age) / 1_000_000)
        } catch {
            logger.debug("outbox backlog not sampled", metadata: ["error": "\(error)"])
        }
        if let camera {
            Gauge(label: "boothd_camera_encoder_target_kbps").record(await camera.encoderTargetKbps)
            // An on-demand camera nobody uses is stopped: it streams nothing.
            Gauge(label: "boothd_camera_live_kbps").record(await camera.measuredLiveKbps ?? 0)
            Gauge(label: "boothd_camera_live_fps").record(await camera.measuredLiveFPS ?? 0)
        }
    }
}
