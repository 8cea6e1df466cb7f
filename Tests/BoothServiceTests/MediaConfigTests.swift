import BoothCore
import BoothService
import Foundation
import Testing

/// `media.*` (the live WebRTC budget and ICE settings) and the simulator's media sources.
@Suite struct MediaConfigTests {
    @Test func defaultsAreOneMegabitLoopbackOnly() throws {
        let config = try ConfigLoader.load(path: nil, environment: [:])
        #expect(config.media.budgetKbps == 1000 && config.media.videoFloorKbps == 150)
        #expect(config.media.loopbackOnly && config.media.stunServer.isEmpty && config.media.turnServer.isEmpty)
        #expect(config.simulator.stethoscope && config.simulator.cameraPattern == "ball")
        #expect(config.media.cameraIdleStop == .seconds(5))
    }

    @Test func encoderDefaultsToAutoAndTakesEachChoice() throws {
        #expect(try ConfigLoader.load(path: nil, environment: [:]).media.encoder == .auto)
        for choice in ["x264", "v4l2", "vaapi", "nvenc"] {
            let config = try ConfigLoader.load(path: nil, environment: ["BOOTHD_MEDIA_ENCODER": choice])
            #expect(config.media.encoder.rawValue == choice)
        }
    }

    @Test func cameraIdleDelayZeroKeepsCamerasRunning() throws {
        let config = try ConfigLoader.load(path: nil, environment: [:], overrides: ["media.camera_idle_seconds=0"])
        #expect(config.media.cameraIdleStop == nil)
        let quick = try ConfigLoader.load(path: nil, environment: [:], overrides: ["media.camera_idle_seconds=1.5"])
        #expect(quick.media.cameraIdleStop == .milliseconds(1500))
    }

    @Test func fileEnvironmentAndCommandLineApply() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("boothd-media-\(UUID()).yaml").path
        try "media:\n  budget_kbps: 600\n  stun_server: stun://stun.example:3478\nsimulator:\n  camera_pattern: snow\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let config = try ConfigLoader.load(
            path: path,
            environment: ["BOOTHD_MEDIA_VIDEO_FLOOR_KBPS": "200"],
            overrides: ["media.loopback_only=false", "simulator.stethoscope=false"]
        )
        #expect(config.media.budgetKbps == 600 && config.media.videoFloorKbps == 200)
        #expect(config.media.stunServer == "stun://stun.example:3478" && !config.media.loopbackOnly)
        #expect(config.simulator.cameraPattern == "snow" && !config.simulator.stethoscope)
    }

    @Test(arguments: [
        ("media.budget_kbps=10", "media.budget_kbps", "out of range"),
        ("media.video_floor_kbps=-1", "media.video_floor_kbps", "out of range"),
        ("media.camera_idle_seconds=-1", "media.camera_idle_seconds", "out of range"),
        ("simulator.camera_pattern=plaid", "simulator.camera_pattern", "expected one of ball, smpte, snow"),
        ("media.encoder=omx", "media.encoder", "expected one of auto, x264, v4l2, vaapi, nvenc, got \"omx\""),
    ])
    func badValuesNameTheKey(override: String, key: String, reason: String) throws {
        let error = try #require(throws: ConfigError.self) {
            try ConfigLoader.load(path: nil, environment: [:], overrides: [override])
        }
        #expect(error.key == key)
        #expect(error.reason.contains(reason), "\(error)")
    }
}
