import BoothCore
import CBoothShim
import CGStreamer
import Testing

@testable import BoothMedia

/// The live branch's encoder choice against the real GStreamer registry of this machine (no hardware encoder here).
@Suite struct LiveEncoderTests {
    static let mode = VideoMode(width: 640, height: 360, framesPerSecond: 30)
    static let noHardware = !["v4l2h264enc", "vaapih264enc", "vah264enc", "nvh264enc"].contains(
        where: MediaRuntime.hasElement
    )
    static let noVAAPI = !MediaRuntime.hasElement("vaapih264enc") && !MediaRuntime.hasElement("vah264enc")

    static func factoryName(_ element: ElementPointer) -> String? {
        guard let factory = gst_element_get_factory(element) else { return nil }
        return elementName(UnsafeMutableRawPointer(factory).assumingMemoryBound(to: GstObject.self))
    }

    @Test(.enabled(if: noHardware, "a hardware H.264 encoder is installed here"))
    func autoBuildsX264AndBitrateFollowsTheBudget() throws {
        var configuration = CameraConfiguration(source: .simulated(pattern: .ball, mode: Self.mode))
        configuration.encoder = .auto
        let rung = configuration.ladder.rung(budgetKbps: 1000, source: Self.mode)
        let graph = try PipelineGraph(configuration: configuration, rung: rung, encoderKbps: 800)
        #expect(graph.encoderSpec == .x264)
        #expect(Self.factoryName(graph.encoder) == "x264enc")
        #expect(booth_g_object_get_uint(graph.encoder, "bitrate") == 800)
        #expect(booth_g_object_get_uint(graph.encoder, "vbv-buf-capacity") == 500)
        #expect(booth_g_object_get_uint(graph.encoder, "key-int-max") == 60)
        // Bandwidth adaptation goes through the table's runtime property.
        try graph.apply(rung: rung, encoderKbps: 240)
        #expect(booth_g_object_get_uint(graph.encoder, "bitrate") == 240)
        #expect(LiveEncoder.hasProperty(graph.encoder, "bitrate"))
        #expect(!LiveEncoder.hasProperty(graph.encoder, "rc-mode"))
    }

    @Test(.enabled(if: noHardware, "a hardware H.264 encoder is installed here"))
    func autoStreamsH264ThroughTheRealPipeline() async throws {
        let camera = SimulatedCamera.make(pattern: .ball, mode: Self.mode, encoder: .auto)
        #expect(try camera.liveEncoder().element == "x264enc")
        let encoded = camera.encodedVideo()
        try await camera.start()
        let chunks = try await first(10, of: encoded, within: .seconds(10))
        await camera.stop()
        #expect(chunks.count == 10)
        #expect(chunks.first?.isKeyframe == true)
        // Annex B start code on every access unit.
        #expect(
            chunks.allSatisfy { Array($0.data.prefix(4)) == [0, 0, 0, 1] || Array($0.data.prefix(3)) == [0, 0, 1] }
        )
        #expect(chunks.allSatisfy { $0.width == 640 && $0.height == 360 })
    }

    @Test(.enabled(if: noVAAPI, "a VA-API H.264 encoder is installed here"))
    func explicitVAAPIWithoutTheElementFailsStartWithThePackage() async {
        var configuration = CameraConfiguration(source: .simulated(pattern: .smpte, mode: Self.mode))
        configuration.encoder = .vaapi
        let camera = CameraPipeline(configuration: configuration)
        do {
            try await camera.start()
            Issue.record("start should fail without vaapih264enc/vah264enc")
            await camera.stop()
        } catch {
            guard case .encoderUnavailable(let unavailable) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(unavailable.preference == .vaapi)
            let text = "\(error)"
            #expect(text.contains("media.encoder=vaapi"), "\(text)")
            #expect(text.contains("gstreamer1.0-vaapi") && text.contains("gstreamer1.0-plugins-bad"), "\(text)")
        }
        #expect(await camera.isRunning == false)
        #expect(throws: CameraError.self) { try LiveEncoder.resolve(.vaapi) }
    }

    /// v4l2h264enc's `extra-controls` is a GstStructure property: the table's text must deserialize into one.
    @Test func v4l2ExtraControlsParseAsAGstStructure() throws {
        MediaRuntime.initialize()
        let parameters = H264EncoderParameters(targetKbps: 800, keyframeInterval: 60)
        let texts = [
            try #require(H264EncoderSpec.v4l2.settings(parameters).first?.value),
            try #require(H264EncoderSpec.v4l2.bitrateSetting(kbps: 320)?.value),
        ]
        var bitrates: [Int32] = []
        for text in texts {
            let structure = try #require(gst_structure_from_string(text, nil), "\(text)")
            defer { gst_structure_free(structure) }
            #expect(String(cString: gst_structure_get_name(structure)) == "controls")
            var value: gint = 0
            #expect(gst_structure_get_int(structure, "video_bitrate", &value) != 0)
            bitrates.append(value)
        }
        #expect(bitrates == [800_000, 320_000])
    }
}
