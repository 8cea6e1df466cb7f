import BoothMedia
import BoothService
import Logging

extension Daemon {
    /// The `media.outputs` (RTP/SRT) fed from the live camera; nil when none is configured. A bad URL is a
    /// configuration error naming it.
    static func streamOutputs(config: BoothConfig) throws(CameraError) -> StreamOutputs? {
        guard !config.media.outputs.isEmpty else { return nil }
        var targets: [StreamOutputTarget] = []
        for text in config.media.outputs { targets.append(try StreamOutputTarget.parse(text)) }
        return StreamOutputs(targets: targets, logger: Logger(label: "boothd.outputs"))
    }
}

/// Sends the live camera's H.264 to the configured outputs, following the camera WebRTC uses (the simulator's,
/// or the most recently plugged one). A failing output (element missing, port in use) is logged, not fatal.
actor StreamOutputs {
    private let relay: StreamOutputRelay
    private let logger: Logger

    init(targets: [StreamOutputTarget], logger: Logger) {
        relay = StreamOutputRelay(targets: targets)
        self.logger = logger
    }

    func follow(_ camera: CameraPipeline?) async {
        await relay.stop()
        guard let camera else { return }
        do {
            try await relay.start(camera: camera)
            logger.notice(
                "live stream outputs started",
                metadata: ["outputs": "\(relay.targets.map(\.description).joined(separator: " "))"]
            )
        } catch {
            logger.error("live stream outputs not started", metadata: ["error": "\(error)"])
        }
    }
}
