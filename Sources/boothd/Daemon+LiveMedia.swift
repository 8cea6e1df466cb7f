import BoothCore
import BoothMedia
import BoothService
import Foundation
import Logging

extension Daemon {
    /// Live media for `webrtc.*` session messages: the camera's H.264 and the stethoscope's Opus under the
    /// `media.*` budget. The simulator's stethoscope is a 100 Hz tone at half scale (a known level the
    /// end-to-end test measures in the browser). Cameras plugged in later are set by `MediaHotplug`.
    static func liveMedia(config: BoothConfig, camera: CameraPipeline?, simulate: Bool) throws -> LiveMedia {
        // An explicit media.encoder that is not available stops boothd here, naming the package to install.
        let encoder = try LiveEncoder.resolve(config.media.encoder)
        Logger(label: "boothd.media").info(
            "live video encoder",
            metadata: [
                "encoder": "\(encoder.element)", "hardware": "\(encoder.isHardware)",
                "media.encoder": "\(config.media.encoder)",
            ]
        )
        var webrtc = WebRTCConfiguration(
            stunServer: config.media.stunServer.isEmpty ? nil : config.media.stunServer,
            turnServer: config.media.turnServer.isEmpty ? nil : config.media.turnServer,
            loopbackOnly: config.media.loopbackOnly
        )
        try webrtc.validate()
        // Fault injection for the packet-loss end-to-end test (scripts/test.d/49-webrtc-loss.sh): never set in
        // production.
        if let loss = ProcessInfo.processInfo.environment["BOOTH_TEST_VIDEO_LOSS"].flatMap(Double.init), loss > 0 {
            webrtc.injectedVideoLoss = min(loss, 0.5)
        }
        let audio: (any LiveAudioSource)? =
            simulate && config.simulator.stethoscope
            ? StethoscopeLiveSource(
                configuration: StethoscopeConfiguration(
                    source: .testTone(frequency: 100, volume: 0.5, live: true, seconds: nil),
                    sampleRate: 48000,
                    channels: 1,
                    mode: .bell
                )
            ) : nil
        // Created even with no source yet: a camera plugged in later (MediaHotplug) becomes the live video.
        return LiveMedia(
            camera: camera,
            audio: audio,
            policy: BandwidthPolicy(budgetKbps: config.media.budgetKbps, videoFloorKbps: config.media.videoFloorKbps),
            webrtc: webrtc,
            logger: Logger(label: "boothd.webrtc")
        )
    }
}
