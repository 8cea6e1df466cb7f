import BoothCore
import BoothMedia
import Foundation
import Logging
import Synchronization
import Testing

@testable import BoothService

/// A recording ends after its stethoscope was unplugged (and maybe plugged again): that late end belongs to the
/// earlier plug and must not write the state of the device as it is now (`gone`, or `ready` after the re-plug).
@Suite("Stethoscope re-plug: a recording of an earlier plug never writes the device's state")
struct StethoscopeReplugStateTests {
    /// A stethoscope that opens but never delivers audio (a recording of it ends empty: a failed recording).
    struct SilentSource: StethoscopeCaptureSource {
        var defaultMode: StethoscopeMode { .bell }

        func open(mode: StethoscopeMode) async throws(StethoscopeError) -> StethoscopeCapture {
            let pipeline = StethoscopePipeline(
                configuration: StethoscopeConfiguration(source: .pushed, sampleRate: 16000, channels: 1, mode: mode)
            )
            let info = try await pipeline.start()
            return StethoscopeCapture(pipeline: pipeline, info: info) { await pipeline.stop() }
        }
    }

    /// Signals each error-level message (the recording's end is logged once its state decision is made).
    final class Errors: Sendable {
        let messages = Mutex<[String]>([])

        var logger: Logger {
            Logger(label: "test.replug") { _ in Handler(errors: self) }
        }

        struct Handler: LogHandler {
            let errors: Errors
            var metadata: Logger.Metadata = [:]
            var logLevel: Logger.Level = .trace
            subscript(metadataKey key: String) -> Logger.Metadata.Value? {
                get { metadata[key] }
                set { metadata[key] = newValue }
            }

            func log(event: LogEvent) {
                guard event.level >= .error else { return }
                errors.messages.withLock { $0.append("\(event.message)") }
            }
        }
    }

    static func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw CancellationError() }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    @Test("unplug before any audio, re-plug at once: the old recording fails later; the new plug stays ready")
    func lateFailureAfterReplug() async throws {
        try await MediaTestbed.withOutbox { outbox, directory in
            let errors = Errors()
            let (media, registry) = MediaTestbed.media(outbox, directory, logger: errors.logger)
            let endpoint = StethoscopeEndpoint(
                deviceID: "alsa:Loopback:1",
                model: "test",
                transport: "alsa",
                source: SilentSource()
            )
            await media.register(stethoscope: endpoint)
            _ = try await media.perform(
                DeviceCommand(name: "measurement.start", deviceID: "alsa:Loopback:1", arguments: ["seconds": "30"])
            )
            #expect(await registry.status(id: "alsa:Loopback:1")?.state == .measuring)
            // Unplug (the capture closes: the recording ends with nothing captured) and re-plug right away.
            await media.unregister(deviceID: "alsa:Loopback:1")
            await media.register(stethoscope: endpoint)
            try await Self.waitUntil { errors.messages.withLock { $0.contains("recording failed") } }
            #expect(await registry.status(id: "alsa:Loopback:1")?.state == .ready)
            // The re-plugged device records; its own failure (still this plug) is its state.
            _ = try await media.perform(
                DeviceCommand(name: "measurement.start", deviceID: "alsa:Loopback:1", arguments: ["seconds": "30"])
            )
            _ = try await media.perform(DeviceCommand(name: "measurement.stop", deviceID: "alsa:Loopback:1"))
            try await Self.waitUntil { errors.messages.withLock { $0.count { $0 == "recording failed" } == 2 } }
            guard case .error(let reason) = await registry.status(id: "alsa:Loopback:1")?.state else {
                Issue.record("the current plug's failed recording did not put it in error")
                return
            }
            #expect(reason.contains("captured no audio"))
        }
    }

    @Test("unplug before any audio: the failed recording leaves the device gone (not error)")
    func lateFailureAfterUnplug() async throws {
        try await MediaTestbed.withOutbox { outbox, directory in
            let errors = Errors()
            let (media, registry) = MediaTestbed.media(outbox, directory, logger: errors.logger)
            await media.register(
                stethoscope: StethoscopeEndpoint(
                    deviceID: "alsa:Loopback:1",
                    model: "test",
                    transport: "alsa",
                    source: SilentSource()
                )
            )
            _ = try await media.perform(
                DeviceCommand(name: "measurement.start", deviceID: "alsa:Loopback:1", arguments: ["seconds": "30"])
            )
            await media.unregister(deviceID: "alsa:Loopback:1")
            try await Self.waitUntil { errors.messages.withLock { $0.contains("recording failed") } }
            #expect(await registry.status(id: "alsa:Loopback:1")?.state == .gone)
        }
    }
}
