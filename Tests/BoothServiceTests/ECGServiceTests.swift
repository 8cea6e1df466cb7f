import BoothCore
import Foundation
import Logging
import Synchronization
import Testing

@testable import BoothService

/// Keeps what the supervisor stores.
private final class Measurements: MeasurementSink {
    let stored = Mutex<[BoothCore.Measurement]>([])
    func record(_ measurement: BoothCore.Measurement) async throws {
        stored.withLock { $0.append(measurement) }
    }
}

/// The links the simulated strap opened (the test drops contact or disconnects through them).
private final class Links: Sendable {
    let all = Mutex<[SimulatedPolarH10]>([])
    var last: SimulatedPolarH10? { all.withLock { $0.last } }
}

/// The simulator's ECG strap under the device supervisor, time running 10× faster, with everything it produces.
private struct Rig {
    let feed = WaveformFeed()
    let registry = DeviceRegistry()
    let sink = Measurements()
    let links = Links()
    let task: Task<Void, Never>

    init(speed: Double = 10) {
        let links = self.links
        let supervisor = DeviceSupervisor(
            devices: [Simulator.ecgDevice(speed: speed) { link in links.all.withLock { $0.append(link) } }],
            sink: sink,
            registry: registry,
            logger: Logger(label: "test.ecg"),
            backoff: ReconnectBackoff(initial: .milliseconds(50), jitter: 0),
            waveforms: feed
        )
        task = Task { await supervisor.runDevices() }
    }

    func until(_ what: String, _ done: @Sendable () async -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while !(await done()) {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting for \(what)")
                return
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    func stop() async {
        task.cancel()
        await task.value
    }
}

@Suite(.timeLimit(.minutes(1)), .serialized) struct ECGServiceTests {
    @Test func simulatedStrapGivesHeartRateMeasurementsAndContiguousChunks() async throws {
        let rig = Rig()
        try await rig.until("chunks and heart rate") {
            rig.feed.lastSeq(deviceID: "sim:ecg") >= 20 && rig.sink.stored.withLock { $0.count } >= 2
        }
        let items = rig.feed.items(deviceID: "sim:ecg", after: 0).items
        #expect(items.map(\.seq) == Array(1...UInt64(items.count)))
        #expect(items.first?.chunk.restart == true)
        #expect(items.allSatisfy { $0.chunk.sampleRateHz == 130 && $0.chunk.gaps.isEmpty })
        // Bounded rate: every chunk covers at least 250 ms.
        #expect(items.allSatisfy { $0.chunk.end || Double($0.chunk.timelineCount) / 130 >= 0.25 })
        let heartRates = rig.sink.stored.withLock { $0 }
        #expect(heartRates.allSatisfy { $0.kind == .heartRate && $0.device.id == "sim:ecg" })
        #expect(heartRates.first?.value(.heartRate)?.number == DecimalNumber(72))
        // The raw bytes are real 0x2A37 values.
        let firstHeartRate = try #require(heartRates.first)
        let again = try #require(try DecoderRegistry.decode("2A37", firstHeartRate.raw))
        #expect(again.values.first?.number == DecimalNumber(72))
        let status = await rig.registry.status(id: "sim:ecg")
        #expect(status?.role == .ecg && status?.state == .ready && status?.warning == nil)
        await rig.stop()
    }

    @Test func contactLostIsADeviceWarningAndNoMeasurement() async throws {
        let rig = Rig()
        try await rig.until("first heart rate") { rig.sink.stored.withLock { $0.count } >= 1 }
        rig.links.last?.setContact(false)
        try await rig.until("warning") {
            await rig.registry.status(id: "sim:ecg")?.warning == PolarECGDriver.contactLostWarning
        }
        let before = rig.sink.stored.withLock { $0.count }
        try await Task.sleep(for: .milliseconds(400))  // ~4 notifications without contact
        #expect(rig.sink.stored.withLock { $0.count } <= before + 1)  // at most one that was in flight
        #expect(rig.sink.stored.withLock { $0 }.allSatisfy { $0.status.contains("sensorContact") })
        rig.links.last?.setContact(true)
        try await rig.until("warning cleared") { await rig.registry.status(id: "sim:ecg")?.warning == nil }
        try await rig.until("heart rate again") { rig.sink.stored.withLock { $0.count } > before + 1 }
        await rig.stop()
    }

    @Test func stripOnCommandIsStoredAsAnArtifactWithMeanHeartRate() async throws {
        let rig = Rig()
        let directory = NSTemporaryDirectory() + "boothd-ecg-\(UUID().uuidString)"
        let outbox = Outbox.open(directory: directory, logger: Logger(label: "test.outbox"))
        let events = outbox.subscribe()
        let strips = ECGStripService(
            feed: rig.feed,
            outbox: outbox,
            devices: [Simulator.ecgIdentity],
            logger: Logger(label: "test.strip")
        )
        try await rig.until("streaming") { rig.feed.lastSeq(deviceID: "sim:ecg") >= 2 }
        let reply = try await strips.perform(
            DeviceCommand(name: "ecg.strip", deviceID: "sim:ecg", arguments: ["seconds": "10"])
        )
        #expect(reply["state"] == "recording" && reply["seconds"] == "10")
        let artifactID = try #require(reply["artifactId"])
        await #expect(throws: DeviceCommandError.self) {
            try await strips.perform(DeviceCommand(name: "ecg.strip", deviceID: "sim:ecg"))
        }
        let outcome = try #require(await strips.waitForStrip(deviceID: "sim:ecg"))
        #expect(outcome.incompleteReason == nil)
        let lead = try #require(outcome.recording.leads.first)
        #expect(lead.samples.count == 1300 && lead.gaps.isEmpty && !lead.incomplete)
        let mean = try #require(outcome.recording.meanHeartRateFromRR)
        #expect(abs(mean - Simulator.ecgHeartRate) < 0.5)

        let stored = try #require(try await outbox.storedArtifact(id: artifactID))
        #expect(stored.info.kind == "ecg-strip" && stored.info.complete && stored.info.deviceId == "sim:ecg")
        #expect(
            stored.info.parts.map(\.name) == ["strip.pdf", "strip.png", "recording.json", "observation.fhir.json"]
        )
        let fhir = try await outbox.artifactFile(id: artifactID, part: "observation.fhir.json")
        let observation = try #require(
            FileManager.default.contents(atPath: fhir.path).map { String(decoding: $0, as: UTF8.self) }
        )
        #expect(observation.contains("\"valueSampledData\"") && observation.contains("\"status\":\"final\""))
        #expect(stored.info.metadata["samples"] == "1300")
        #expect(stored.info.metadata["sampleRateHz"] == "130")
        #expect(stored.info.metadata["lead"] == "single lead")
        #expect(stored.info.metadata["durationSeconds"] == "10.00")
        #expect(stored.info.metadata["pages"] == "1")
        #expect(Double(stored.info.metadata["meanHeartRate"] ?? "") == (mean * 10).rounded() / 10)
        let pdf = try await outbox.artifactFile(id: artifactID, part: "strip.pdf")
        #expect(FileManager.default.contents(atPath: pdf.path)?.prefix(5) == Data("%PDF-".utf8))
        let png = try await outbox.artifactFile(id: artifactID, part: "strip.png")
        #expect(FileManager.default.contents(atPath: png.path)?.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]))
        var announced: StoredEvent?
        for await event in events where event.type == "artifact" {
            announced = event
            break
        }
        #expect(announced?.payload.contains("\"id\":\"\(artifactID)\"") == true)
        await rig.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test func disconnectMidStripKeepsThePartialStripMarkedIncomplete() async throws {
        let rig = Rig()
        let stored = Mutex<[NewArtifact]>([])
        let strips = ECGStripService(
            feed: rig.feed,
            devices: [Simulator.ecgIdentity],
            logger: Logger(label: "test.strip")
        ) { artifact in stored.withLock { $0.append(artifact) } }
        try await rig.until("streaming") { rig.feed.lastSeq(deviceID: "sim:ecg") >= 2 }
        _ = try await strips.perform(
            DeviceCommand(name: "ecg.strip", deviceID: "sim:ecg", arguments: ["seconds": "30"])
        )
        try await Task.sleep(for: .milliseconds(500))  // ~5 s of strap time
        rig.links.last?.disconnect()
        let outcome = try #require(await strips.waitForStrip(deviceID: "sim:ecg"))
        #expect(outcome.incompleteReason == "the device disconnected mid-strip")
        let artifact = try #require(stored.withLock { $0.first })
        #expect(!artifact.complete)
        #expect(artifact.metadata["incompleteReason"] == "the device disconnected mid-strip")
        let samples = try #require(Int(artifact.metadata["samples"] ?? ""))
        #expect(samples > 130 && samples < 3900)
        #expect(outcome.recording.leads.first?.incomplete == true)
        #expect(artifact.parts.first.map { Array($0.bytes.prefix(5)) } == [0x25, 0x50, 0x44, 0x46, 0x2D])
        await rig.stop()
    }

    @Test func badStripCommandsAreTypedErrors() async throws {
        let feed = WaveformFeed()
        let strips = ECGStripService(feed: feed, devices: [Simulator.ecgIdentity], logger: Logger(label: "t")) { _ in }
        func code(_ command: DeviceCommand) async -> String? {
            do {
                _ = try await strips.perform(command)
                return nil
            } catch {
                return error.code
            }
        }
        #expect(await code(DeviceCommand(name: "ecg.strip", deviceID: "sim:cuff")) == "unknown_device")
        #expect(
            await code(DeviceCommand(name: "ecg.strip", deviceID: "sim:ecg", arguments: ["seconds": "2"]))
                == "invalid_params"
        )
        #expect(
            await code(DeviceCommand(name: "ecg.strip", deviceID: "sim:ecg", arguments: ["seconds": "x"]))
                == "invalid_params"
        )
        // Known, but not streaming.
        #expect(await code(DeviceCommand(name: "ecg.strip", deviceID: "sim:ecg")) == "device_error")
        #expect(await code(DeviceCommand(name: "camera.control", deviceID: "sim:ecg")) == "not_supported")
    }

    @Test func aStrapFoundByBLEDiscoveryGetsTheECGDriverAndStrips() async throws {
        let profile = DeviceProfile(
            id: "polar.h10",
            name: "Polar H10",
            role: .ecg,
            transport: .ble,
            driver: ManagedDevice.polarECGDriverID,
            match: [.ble(BLEMatch(services: [PolarPMD.service]))]
        )
        let driver = try #require(BLEDeviceMatcher.driver(for: profile))
        #expect(driver.decoderKind == "2A37" && driver.role == .ecg)
        // A strap the booth did not know at start: its identity comes with its chunks, so strips work for it.
        let feed = WaveformFeed()
        let strap = DeviceIdentity(id: "ble:A0:9E:1A:00:00:01", transport: "ble", model: "Polar H10")
        let strips = ECGStripService(feed: feed, devices: [], logger: Logger(label: "t"), grace: .zero) { _ in }
        feed.publish(
            deviceID: strap.id,
            WaveformChunk(
                code: ECGLead.unspecified.potentialCode,
                label: "single lead",
                sampleRateHz: 130,
                unit: .microvolt,
                startMicros: 0,
                samples: [1],
                receivedAtMicros: 0
            ),
            device: strap
        )
        let reply = try await strips.perform(
            DeviceCommand(name: "ecg.strip", deviceID: strap.id, arguments: ["seconds": "5"])
        )
        #expect(reply["deviceId"] == strap.id && reply["seconds"] == "5")
        // Nothing more arrives: the strip ends incomplete, with the strap's identity.
        let outcome = try #require(await strips.waitForStrip(deviceID: strap.id))
        #expect(outcome.recording.device == strap && outcome.incompleteReason != nil)
    }

    @Test func routerPassesADeviceAHandlerDoesNotKnowToTheNext() async throws {
        struct Fixed: DeviceCommandHandler {
            let device: String
            let answer: String
            func perform(_ command: DeviceCommand) async throws(DeviceCommandError) -> [String: String] {
                guard command.deviceID == device else {
                    throw DeviceCommandError(code: "not_available", message: "not mine")
                }
                return ["by": answer]
            }
        }
        let router = DeviceCommandRouter([
            .init(commands: ["measurement.start", "snapshot.take"], handler: Fixed(device: "steth", answer: "media")),
            .init(commands: ["measurement.start", "ecg.strip"], handler: Fixed(device: "sim:ecg", answer: "ecg")),
        ])
        #expect(
            try await router.perform(DeviceCommand(name: "measurement.start", deviceID: "steth")) == ["by": "media"]
        )
        #expect(
            try await router.perform(DeviceCommand(name: "measurement.start", deviceID: "sim:ecg")) == ["by": "ecg"]
        )
        #expect(try await router.perform(DeviceCommand(name: "ecg.strip", deviceID: "sim:ecg")) == ["by": "ecg"])
        await #expect(throws: DeviceCommandError(code: "not_available", message: "not mine")) {
            try await router.perform(DeviceCommand(name: "snapshot.take", deviceID: "sim:ecg"))
        }
        await #expect(throws: DeviceCommandError.self) {
            try await router.perform(DeviceCommand(name: "device.forget", deviceID: "x"))
        }
    }

    @Test func stripBuilderDropsTheLeadingGapKeepsLaterOnesAndCutsAtTheLength() {
        func chunk(start: Int64, _ count: Int, gaps: [WaveformGap] = [], rr: [UInt16] = []) -> WaveformChunk {
            WaveformChunk(
                code: ECGLead.unspecified.potentialCode,
                label: "single lead",
                sampleRateHz: 100,
                unit: .microvolt,
                startMicros: start,
                samples: Array(repeating: 5, count: count),
                gaps: gaps,
                rrIntervals1024: rr,
                receivedAtMicros: 0
            )
        }
        var builder = StripBuilder(seconds: 1)  // 100 periods at 100 Hz
        #expect(builder.add(chunk(start: 1_000_000, 30, gaps: [.init(beforeSample: 0, missing: 7)], rr: [1024])) == nil)
        #expect(builder.waveform?.startMicros == 1_070_000)
        // A whole chunk (10 periods) never reached the recorder: its time is a gap.
        #expect(builder.add(chunk(start: 1_470_000, 30, gaps: [.init(beforeSample: 10, missing: 5)])) == nil)
        #expect(builder.add(chunk(start: 1_820_000, 40)) == nil)
        #expect(builder.isFull)
        let wave = builder.waveform
        #expect(wave?.timelineCount == 100)
        #expect(wave?.gaps == [.init(beforeSample: 30, missing: 10), .init(beforeSample: 40, missing: 5)])
        #expect(wave?.samples.count == 85)
        #expect(builder.rrIntervals == [1024])
        var ended = StripBuilder(seconds: 1)
        _ = ended.add(chunk(start: 0, 10))
        var end = chunk(start: 100_000, 0)
        end.end = true
        #expect(ended.add(end) == "the device disconnected mid-strip")
    }
}
