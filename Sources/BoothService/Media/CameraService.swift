import BoothMedia
import Logging
import ServiceLifecycle

/// Runs one camera pipeline for the daemon's lifetime: started with the daemon, stopped (threads joined,
/// elements released) on graceful shutdown. A camera that cannot start is logged and reported; it does not
/// stop the daemon, since measurements must keep flowing without video.
public struct CameraService: Service {
    public let pipeline: CameraPipeline
    let logger: Logger

    public init(pipeline: CameraPipeline, logger: Logger) {
        self.pipeline = pipeline
        self.logger = logger
    }

    public func run() async throws {
        let events = pipeline.events()
        do {
            try await pipeline.start()
            logger.info("camera started")
        } catch {
            logger.error("camera did not start", metadata: ["error": "\(error)"])
        }
        await cancelWhenGracefulShutdown {
            for await event in events {
                logger.debug("camera event", metadata: ["event": "\(event)"])
            }
        }
        await pipeline.close()
        logger.info("camera stopped")
    }
}
