import BoothCore
import BoothMedia
import Foundation
import Logging
import Testing

@testable import BoothService

@Suite("Media device commands")
struct MediaCommandsTests {
    @Test("control values are checked against range and step; errors name them")
    func controlValidation() throws {
        let zoom = CameraControlInfo(name: "zoom", minimum: 100, maximum: 500, step: 10, defaultValue: 100, value: 100)
        try zoom.validate(100)
        try zoom.validate(500)
        try zoom.validate(250)
        #expect(throws: DeviceCommandError(code: "invalid_argument", message: "zoom 501 is outside its range 100…500"))
        {
            try zoom.validate(501)
        }
        #expect(
            throws: DeviceCommandError(
                code: "invalid_argument",
                message: "zoom 215 is not on its step: 100…500 step 10"
            )
        ) {
            try zoom.validate(215)
        }
    }

    @Test("the synthetic heart sound has the heart rate it was made with")
    func syntheticHeartSound() {
        var sound = SimulatedHeartSound(sampleRate: 8000, beatsPerMinute: 72)
        var samples: [Float] = []
        for _ in 0..<100 { samples += sound.next(800) }  // 10 s in 100 ms blocks: continuous across blocks
        #expect(samples.count == 80000)
        #expect(samples.map(abs).max() ?? 0 > 0.2)
        let estimate = HeartRateEstimator.estimate(samples: samples, sampleRate: 8000)
        #expect(abs((estimate?.beatsPerMinute ?? 0) - 72) < 3)
    }

    @Test("snapshot.take on a real videotestsrc pipeline stores a full-resolution JPEG artifact before replying")
    func snapshotIntoOutbox() async throws {
        try await MediaTestbed.withMedia { media, registry, outbox, _ in
            let camera = SimulatedCamera.make(mode: VideoMode(width: 320, height: 240, framesPerSecond: 15))
            try await camera.start()
            await media.register(
                camera: CameraEndpoint(
                    deviceID: "sim:camera",
                    role: .otoscope,
                    model: "test",
                    transport: "simulated",
                    pipeline: camera,
                    controls: SimulatedCameraControls(pipeline: camera)
                )
            )
            #expect(await registry.status(id: "sim:camera")?.state == .ready)
            let reply = try await media.perform(DeviceCommand(name: "snapshot.take", deviceID: "sim:camera"))
            let id = try #require(reply["artifactId"])
            #expect(reply["width"] == "320" && reply["height"] == "240")
            let stored = try #require(try await outbox.storedArtifact(id: id))
            #expect(stored.info.kind == "snapshot")
            #expect(stored.binding == .unassigned)
            #expect(stored.info.metadata["width"] == "320")
            let file = try await outbox.artifactFile(id: id, part: "snapshot.jpg")
            let bytes = try #require(FileManager.default.contents(atPath: file.path))
            #expect(Array(bytes.prefix(3)) == [0xFF, 0xD8, 0xFF])
            let size = try JPEGProbe.decode(Array(bytes))
            #expect(size.width == 320 && size.height == 240)

            let brighter = try await media.perform(
                DeviceCommand(
                    name: "camera.control",
                    deviceID: "sim:camera",
                    arguments: ["control": "brightness", "value": "50"]
                )
            )
            #expect(brighter["value"] == "50")
            do throws(DeviceCommandError) {
                _ = try await media.perform(
                    DeviceCommand(
                        name: "camera.control",
                        deviceID: "sim:camera",
                        arguments: ["control": "focus", "value": "1"]
                    )
                )
                Issue.record("an unsupported control was accepted")
            } catch {
                #expect(error.code == "not_supported")
                #expect(error.message.contains("brightness -100…100 step 1"))
            }
            await media.unregister(deviceID: "sim:camera")
            #expect(await registry.status(id: "sim:camera")?.state == .gone)
            await camera.close()
        }
    }

    @Test("a stethoscope recording becomes a FLAC + PNG artifact with its metadata")
    func recordingIntoOutbox() async throws {
        try await MediaTestbed.withMedia { media, registry, outbox, directory in
            await media.register(
                stethoscope: StethoscopeEndpoint(
                    deviceID: "sim:stethoscope",
                    model: "test",
                    transport: "simulated",
                    source: SimulatedStethoscopeSource(sampleRate: 16000)
                )
            )
            let events = outbox.subscribe()
            let reply = try await media.perform(
                DeviceCommand(
                    name: "measurement.start",
                    deviceID: "sim:stethoscope",
                    arguments: ["seconds": "2", "mode": "diaphragm"]
                )
            )
            let id = try #require(reply["artifactId"])
            #expect(reply["sampleRate"] == "16000")
            #expect(await registry.status(id: "sim:stethoscope")?.state == .measuring)
            var announced = false
            for await event in events where event.type == "artifact" && event.payload.contains(id) {
                announced = true
                break
            }
            #expect(announced)
            let stored = try #require(try await outbox.storedArtifact(id: id))
            #expect(stored.info.kind == "recording")
            #expect(stored.info.complete)
            #expect(stored.info.metadata["mode"] == "diaphragm")
            #expect(stored.info.metadata["sampleRate"] == "16000")
            #expect(stored.info.metadata["durationSeconds"] == "2.000")
            #expect(stored.info.parts.map(\.name) == ["recording.flac", "phonocardiogram.png"])
            let flac = try await outbox.artifactFile(id: id, part: "recording.flac")
            let decoded = try FLACFileReader.read(path: flac.path)
            #expect(decoded.sampleRate == 16000 && decoded.frames == 32000)
            // The scratch copy is gone once the outbox holds it.
            let scratch = (try? FileManager.default.contentsOfDirectory(atPath: directory + "/scratch")) ?? []
            #expect(scratch.isEmpty)
        }
    }
    @Test("unplug during a recording: the capture is torn down and the partial recording is kept, marked")
    func unplugDuringRecording() async throws {
        try await MediaTestbed.withMedia { media, registry, outbox, _ in
            let endpoint = StethoscopeEndpoint(
                deviceID: "sim:stethoscope",
                model: "test",
                transport: "simulated",
                source: SimulatedStethoscopeSource(sampleRate: 16000)
            )
            await media.register(stethoscope: endpoint)
            let events = outbox.subscribe()
            let first = try await media.perform(
                DeviceCommand(name: "measurement.start", deviceID: "sim:stethoscope", arguments: ["seconds": "30"])
            )
            // Unplug once the recording has really captured audio: the level meter reads the recording's own
            // pipeline (a fixed sleep was too short while the whole suite starts GStreamer pipelines at once).
            let meter = try await media.levels.subscribe(deviceID: "sim:stethoscope")
            var readings = 0
            for await _ in meter.readings {
                readings += 1
                if readings == 4 { break }
            }
            #expect(readings == 4)
            try await Task.sleep(for: .milliseconds(500))
            await media.levels.unsubscribe(deviceID: "sim:stethoscope", key: meter.key)
            await media.unregister(deviceID: "sim:stethoscope")
            #expect(await registry.status(id: "sim:stethoscope")?.state == .gone)
            let firstID = try #require(first["artifactId"])
            var stored: StoredArtifact?
            for await event in events where event.type == "artifact" {
                stored = try await outbox.storedArtifact(id: firstID)
                break
            }
            let artifact = try #require(stored)
            #expect(!artifact.info.complete)
            #expect(artifact.info.metadata["truncatedBy"] == "device")
            let seconds = Double(artifact.info.metadata["durationSeconds"] ?? "") ?? 0
            // At least the audio behind the 4 level readings (0.4 s), and far from the 30 s asked for.
            #expect(seconds >= 0.3 && seconds < 10)
            // The device stays gone (the finished recording does not mark it ready again).
            #expect(await registry.status(id: "sim:stethoscope")?.state == .gone)
            // Re-plugged: it records again; measurement.stop ends it early, kept as partial.
            await media.register(stethoscope: endpoint)
            let second = try await media.perform(
                DeviceCommand(name: "measurement.start", deviceID: "sim:stethoscope", arguments: ["seconds": "30"])
            )
            try await Task.sleep(for: .milliseconds(500))
            let stopping = try await media.perform(DeviceCommand(name: "measurement.stop", deviceID: "sim:stethoscope"))
            #expect(stopping["artifactId"] == second["artifactId"])
            for await event in events
            where event.type == "artifact" && event.payload.contains(stopping["artifactId"] ?? "?") {
                break
            }
            let secondID = try #require(second["artifactId"])
            let partial = try #require(try await outbox.storedArtifact(id: secondID))
            #expect(!partial.info.complete && partial.info.metadata["truncatedBy"] == "stop")
        }
    }
}
