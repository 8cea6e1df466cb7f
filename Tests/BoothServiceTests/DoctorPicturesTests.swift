import BoothRender
import BoothService
import Foundation
import Testing

/// `boothctl doctor`'s "pictures" line: cairo is loaded on first use, so the doctor loads it for real (this machine has
/// libcairo2, as the build needs its headers).
@Suite struct DoctorPicturesTests {
    @Test func cairoLoadsAndTheDoctorSaysSo() throws {
        #expect(PictureRuntime.cairoAvailable)
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("doctor-pictures-\(UUID())").path
        try FileManager.default.createDirectory(atPath: root + "/state", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let path = root + "/boothd.yaml"
        try "storage:\n  state_directory: \(root)/state\napi:\n  token_group: \"\"\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let line = try #require(
            Doctor(root: root, configPath: path, environment: [:]).run().first { $0.name == "pictures" }
        )
        #expect(line.verdict == .pass)
        #expect(line.detail == "cairo loads (ECG strips, phonocardiograms)")
        #expect(line.hint == nil)
    }
}
