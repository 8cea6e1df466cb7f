import BoothMedia
import BoothService
import Foundation
import Testing

/// `boothctl doctor`'s "live video encoder" line against this machine's GStreamer registry (no hardware encoder).
@Suite struct DoctorEncoderTests {
    static let noHardware = !["v4l2h264enc", "vaapih264enc", "vah264enc", "nvh264enc"]
        .contains(where: MediaRuntime.hasElement)

    private func check(config: String) throws -> DoctorCheck? {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("doctor-encoder-\(UUID())").path
        try FileManager.default.createDirectory(atPath: root + "/state", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let path = root + "/boothd.yaml"
        try ("storage:\n  state_directory: \(root)/state\napi:\n  token_group: \"\"\n" + config)
            .write(toFile: path, atomically: true, encoding: .utf8)
        return Doctor(root: root, configPath: path, environment: [:]).run().first { $0.name == "live video encoder" }
    }

    @Test(.enabled(if: noHardware, "a hardware H.264 encoder is installed here"))
    func autoPassesWithX264() throws {
        let line = try #require(try check(config: ""))
        #expect(line.verdict == .pass)
        #expect(line.detail == "x264enc (software; media.encoder=auto; no hardware H.264 encoder registered)")
    }

    @Test(.enabled(if: !MediaRuntime.hasElement("nvh264enc"), "nvh264enc is installed here"))
    func explicitMissingEncoderFailsWithThePackage() throws {
        let line = try #require(try check(config: "media:\n  encoder: nvenc\n"))
        #expect(line.verdict == .fail)
        #expect(line.detail.hasPrefix("media.encoder=nvenc: H.264 encoder element nvh264enc"), "\(line.detail)")
        #expect(line.hint == "apt-get install gstreamer1.0-plugins-bad, or set media.encoder=auto")
    }
}
