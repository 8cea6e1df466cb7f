import Foundation
import Testing

@testable import BoothMedia

/// RTP and SRT outputs of the live stream, received by real GStreamer pipelines on loopback.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct StreamOutputTests {
    static let mode = VideoMode(width: 640, height: 360, framesPerSecond: 30)

    @Test func parsesOutputURLs() throws {
        #expect(try StreamOutputTarget.parse("rtp://127.0.0.1:5004") == .rtp(host: "127.0.0.1", port: 5004))
        #expect(
            try StreamOutputTarget.parse("srt://127.0.0.1:7001")
                == .srt(host: "127.0.0.1", port: 7001, mode: .listener, latencyMilliseconds: 120)
        )
        #expect(
            try StreamOutputTarget.parse("srt://10.0.0.2:7001?mode=caller&latency=300")
                == .srt(host: "10.0.0.2", port: 7001, mode: .caller, latencyMilliseconds: 300)
        )
        for (text, why) in [
            ("rtp://127.0.0.1", "no port"), ("http://127.0.0.1:80", "unknown scheme http"),
            ("srt://127.0.0.1:7001?mode=rendezvous", "mode must be listener or caller"),
            ("srt://127.0.0.1:7001?latency=5", "latency must be 20...8000 ms"),
            ("rtp://127.0.0.1:5004?ttl=3", "rtp outputs take no parameters"), ("rtp://:5004", "no host"),
        ] {
            let error = #expect(throws: CameraError.self) { try StreamOutputTarget.parse(text) }
            #expect(error?.description.contains(why) == true, "\(text): \(String(describing: error))")
        }
    }

    @Test func rtpOutputDeliversDecodableFramesAtTheLiveResolution() async throws {
        let camera = CameraPipeline(
            configuration: CameraConfiguration(source: .simulated(pattern: .ball, mode: Self.mode))
        )
        try await camera.start()
        let receiver = try StreamReceiver(for: .rtp(host: "127.0.0.1", port: 0))
        try receiver.start()
        let port = try #require(receiver.port)
        #expect(port > 0)
        let relay = StreamOutputRelay(targets: [.rtp(host: "127.0.0.1", port: port)])
        try await relay.start(camera: camera)
        let received = await receiver.receive(frames: 20, timeout: .seconds(15))
        let sent = await relay.sent
        await relay.stop()
        receiver.release()
        await camera.close()
        #expect(received.frames >= 20)
        #expect(received.width == 640 && received.height == 360)
        #expect(sent.first?.chunks ?? 0 >= 20)
        print("rtp output: \(received.frames) frames \(received.width)x\(received.height), sent \(sent)")
    }

    @Test func srtOutputDeliversDecodableFramesToACaller() async throws {
        let camera = CameraPipeline(
            configuration: CameraConfiguration(source: .simulated(pattern: .ball, mode: Self.mode))
        )
        try await camera.start()
        let port = Int.random(in: 20000...60000)
        let target = StreamOutputTarget.srt(host: "127.0.0.1", port: port, mode: .listener, latencyMilliseconds: 80)
        let relay = StreamOutputRelay(targets: [target])
        try await relay.start(camera: camera)
        let receiver = try StreamReceiver(for: target)
        try receiver.start()
        let received = await receiver.receive(frames: 20, timeout: .seconds(20))
        await relay.stop()
        receiver.release()
        await camera.close()
        #expect(received.frames >= 20)
        #expect(received.width == 640 && received.height == 360)
        print("srt output: \(received.frames) frames \(received.width)x\(received.height)")
    }

    @Test func aMissingPluginNamesTheDebianPackage() async throws {
        await StreamOutputElements.withoutFactory("srtsink") {
            let error = #expect(throws: CameraError.self) {
                try StreamOutput(target: .srt(host: "127.0.0.1", port: 7001, mode: .listener, latencyMilliseconds: 120))
            }
            #expect(error == .missingElement("srtsink", package: "gstreamer1.0-plugins-bad"))
            #expect(
                error?.description
                    == "GStreamer element 'srtsink' is missing: install the Debian package gstreamer1.0-plugins-bad"
            )
        }
        // Restored: the element builds again.
        let output = try StreamOutput(
            target: .srt(host: "127.0.0.1", port: 7001, mode: .listener, latencyMilliseconds: 120)
        )
        output.release()
    }
}
