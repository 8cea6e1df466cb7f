import Foundation
import Logging

@testable import BoothService

/// The scaffolding shared by the media suites (media commands, stethoscope levels and shared capture, camera
/// watchdog): a scratch state directory with its outbox, and the media commands on a fresh device registry.
enum MediaTestbed {
    /// A scratch state directory and its outbox, removed at `body`'s end.
    static func withOutbox(_ body: (Outbox, String) async throws -> Void) async throws {
        let directory = NSTemporaryDirectory() + "boothd-media-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outbox = Outbox.open(directory: directory, logger: Logger(label: "test.outbox"))
        try await body(outbox, directory)
    }

    /// Media commands on a fresh registry, their scratch files under `directory`/scratch; `logger` lets a suite watch
    /// what the commands log.
    static func media(
        _ outbox: Outbox,
        _ directory: String,
        logger: Logger = Logger(label: "test.media")
    ) -> (MediaDeviceCommands, DeviceRegistry) {
        let registry = DeviceRegistry()
        let media = MediaDeviceCommands(
            outbox: outbox,
            registry: registry,
            scratchDirectory: directory + "/scratch",
            logger: logger
        )
        return (media, registry)
    }

    /// `withOutbox` with media commands on it: `body(media, registry, outbox, directory)`.
    static func withMedia(
        _ body: (MediaDeviceCommands, DeviceRegistry, Outbox, String) async throws -> Void
    ) async throws {
        try await withOutbox { outbox, directory in
            let (media, registry) = Self.media(outbox, directory)
            try await body(media, registry, outbox, directory)
        }
    }
}
