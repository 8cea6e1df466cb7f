import BoothCore
import BoothMedia
import Foundation
import Logging
import Synchronization
import Testing

@testable import BoothService

/// One owner of a (hotplugged ALSA) stethoscope's capture: the live WebRTC audio, recordings and the level meter
/// borrow the same real GStreamer pipeline. `audiotestsrc` (live, real time) stands in for `alsasrc`; the capture
/// ending (`num-buffers`) stands in for an unplug. The same code runs on snd-aloop in the lab
/// (scripts/test.d/92-stethoscope-lab.sh).
@Suite("Shared stethoscope capture", .serialized)
struct SharedStethoscopeTests {
    static func tone(seconds: Double? = nil) -> StethoscopeConfiguration {
        StethoscopeConfiguration(
            source: .testTone(frequency: 100, volume: 0.5, live: true, seconds: seconds),
            sampleRate: 48000,
            channels: 1,
            mode: .bell,
            levelIntervalMilliseconds: 100
        )
    }

    static func endpoint(_ id: String, _ owner: StethoscopeCaptureOwner) -> StethoscopeEndpoint {
        StethoscopeEndpoint(
            deviceID: id,
            model: "test",
            transport: "alsa",
            source: SharedStethoscopeSource(owner: owner)
        )
    }

    /// The live packets' timestamps, collected until cancelled.
    final class PacketTimes: Sendable {
        let pts = Mutex<[UInt64]>([])
        var all: [UInt64] { pts.withLock { $0 } }
    }

    static func record(_ packets: AsyncStream<OpusPacket>) -> (Task<Void, Never>, PacketTimes) {
        let times = PacketTimes()
        let task = Task {
            for await packet in packets { times.pts.withLock { $0.append(packet.pts) } }
        }
        return (task, times)
    }

    /// The stored artifact once the outbox announces it.
    static func artifact(
        _ events: AsyncStream<StoredEvent>,
        _ outbox: Outbox,
        id: String
    ) async throws
        -> StoredArtifact?
    {
        for await event in events where event.type == "artifact" && event.payload.contains(id) {
            return try await outbox.storedArtifact(id: id)
        }
        return nil
    }

    @Test("live audio, a recording and the level meter borrow one capture: the device opens once, nobody is busy")
    func oneCaptureForEveryone() async throws {
        try await MediaTestbed.withMedia { media, _, outbox, _ in
            let owner = StethoscopeCaptureOwner(configuration: Self.tone())
            await media.register(stethoscope: Self.endpoint("alsa:test", owner))
            let live = StethoscopeLiveSource(owner: owner)
            await media.levels.setLiveSource(live, deviceID: "alsa:test")

            let meter = try await media.levels.subscribe(deviceID: "alsa:test")
            let collect = StethoscopeLevelsTests.collect
            #expect(await collect(meter.readings, 2, 5) { $0.source == "monitor" }.count == 2)
            let (consumer, times) = Self.record(try await live.startLive())
            #expect(await collect(meter.readings, 2, 5) { $0.source == "live" }.count == 2)
            // The meter now reads the live pipeline and gave its own lease back: one capture, one lease.
            #expect(await owner.leaseCount == 1)

            // A recording during the live session borrows the same pipeline (no device_busy), in its own mode.
            let events = outbox.subscribe()
            let reply = try await media.perform(
                DeviceCommand(
                    name: "measurement.start",
                    deviceID: "alsa:test",
                    arguments: ["seconds": "1", "mode": "diaphragm"]
                )
            )
            #expect(reply["sampleRate"] == "48000")
            let recorded = await collect(meter.readings, 2, 5) { $0.source == "recording" }
            #expect(recorded.count == 2 && recorded.allSatisfy { $0.mode == .diaphragm })
            // The doctor's mode change waits for the recording's end (the recording keeps what it was asked for).
            let changed = try await media.levels.setMode(deviceID: "alsa:test", mode: "wide")
            #expect(!changed.live)
            #expect(await owner.modeInForce == .diaphragm)
            let id = try #require(reply["artifactId"])
            let stored = try #require(try await Self.artifact(events, outbox, id: id))
            #expect(stored.info.complete && stored.info.metadata["mode"] == "diaphragm")
            let flac = try await outbox.artifactFile(id: id, part: "recording.flac")
            let decoded = try FLACFileReader.read(path: flac.path)
            #expect(decoded.sampleRate == 48000 && decoded.frames == 48000)
            // Back to the live audio, now in the doctor's mode.
            #expect(await collect(meter.readings, 1, 5) { $0.source == "live" && $0.mode == .wide }.count == 1)
            #expect(await owner.modeInForce == .wide)

            // The live audio never paused or restarted (a reopened device would start its timestamps again): Opus
            // packets every 10 ms of capture time throughout (the live queue may drop a few under heavy load).
            let pts = times.all.map { Int64($0) }
            let gaps = zip(pts.dropFirst(), pts).map { $0 - $1 }
            #expect(pts.count > 100, "\(pts.count) packets")
            #expect(
                gaps.allSatisfy { $0 >= 10_000_000 && $0 <= 50_000_000 },
                "gaps \(gaps.min() ?? 0)…\(gaps.max() ?? 0) ns"
            )
            #expect(gaps.filter { $0 == 10_000_000 }.count * 10 >= gaps.count * 9)

            // Live stops: the meter keeps reading from its own lease on the still open device.
            consumer.cancel()
            await live.stopLive()
            #expect(await collect(meter.readings, 2, 5) { $0.source == "monitor" }.count == 2)
            #expect(await owner.opens == 1)
            await media.levels.unsubscribe(deviceID: "alsa:test", key: meter.key)
            #expect(await owner.leaseCount == 0)
        }
    }

    @Test("concurrent borrowers open the device once; the last release closes it; a dead capture is reopened")
    func leases() async throws {
        let owner = StethoscopeCaptureOwner(configuration: Self.tone(seconds: 0.5))
        async let first = owner.acquire(mode: .bell)
        async let second = owner.acquire(mode: .bell)
        let (one, two) = try await (first, second)
        #expect(one.pipeline === two.pipeline)
        #expect(await owner.opens == 1)
        #expect(await owner.leaseCount == 2)
        // The capture ends (an unplug): borrowers' streams end, the next borrower gets a new capture.
        var packets = 0
        for await _ in one.pipeline.livePackets() { packets += 1 }
        #expect(one.pipeline.hasEnded && packets > 0)
        let third = try await owner.acquire(mode: .wide)
        #expect(third.pipeline !== one.pipeline && !third.pipeline.hasEnded)
        #expect(await owner.opens == 2)
        #expect(await owner.leaseCount == 1)
        #expect(await third.pipeline.currentMode == .wide)
        // Releasing the dead capture's leases does not touch the new one.
        await owner.release(one)
        await owner.release(two)
        #expect(await owner.leaseCount == 1)
        #expect(!third.pipeline.hasEnded)
        await owner.release(third)
        #expect(await owner.leaseCount == 0)
        #expect(third.pipeline.hasEnded)
    }

    @Test("unplug during live audio and a recording: torn down, recording kept partial; re-plug is live within 2 s")
    func unplugAndReplug() async throws {
        try await MediaTestbed.withMedia { media, registry, outbox, _ in
            // The first device delivers 2 s, then its capture ends as an unplugged one does.
            let first = StethoscopeCaptureOwner(configuration: Self.tone(seconds: 2))
            await media.register(stethoscope: Self.endpoint("alsa:test", first))
            let live = LiveMedia(camera: nil, audio: StethoscopeLiveSource(owner: first))
            let (peer, offer) = try await live.openPeer(tracks: WebRTCTracks(video: false, audio: true))
            #expect(offer.contains("m=audio"))
            let events = outbox.subscribe()
            let reply = try await media.perform(
                DeviceCommand(name: "measurement.start", deviceID: "alsa:test", arguments: ["seconds": "10"])
            )
            #expect(await first.opens == 1)
            let id = try #require(reply["artifactId"])
            let partial = try #require(try await Self.artifact(events, outbox, id: id))
            #expect(!partial.info.complete && partial.info.metadata["truncatedBy"] == "device")
            let seconds = Double(partial.info.metadata["durationSeconds"] ?? "") ?? 0
            #expect(seconds > 0.2 && seconds < 2.1, "\(seconds) s")
            #expect(peer.sentBytes.audio > 0)

            // udev `remove` (MediaHotplug): the device goes, the live audio has no source; the peer stays.
            await live.setAudioSource(nil)
            await media.unregister(deviceID: "alsa:test")
            #expect(await registry.status(id: "alsa:test")?.state == .gone)
            #expect(!live.available.audio)
            #expect(await live.peerCount == 1)
            #expect(await first.leaseCount == 0)

            // udev `add`: a new owner; the connected peer gets its audio again.
            let plugged = ContinuousClock.now
            let second = StethoscopeCaptureOwner(configuration: Self.tone())
            await media.register(stethoscope: Self.endpoint("alsa:test", second))
            let before = peer.sentBytes.audio
            await live.setAudioSource(StethoscopeLiveSource(owner: second))
            while peer.sentBytes.audio == before, ContinuousClock.now - plugged < .seconds(5) {
                try await Task.sleep(for: .milliseconds(10))
            }
            let resumed = ContinuousClock.now - plugged
            #expect(peer.sentBytes.audio > before)
            #expect(resumed < .seconds(2), "audio resumed after \(resumed)")
            #expect(await registry.status(id: "alsa:test")?.state == .ready)
            // And a recording during that live session shares the capture again.
            let again = try await media.perform(
                DeviceCommand(name: "measurement.start", deviceID: "alsa:test", arguments: ["seconds": "1"])
            )
            let stored = try #require(try await Self.artifact(events, outbox, id: again["artifactId"] ?? "?"))
            #expect(stored.info.complete)
            #expect(await second.opens == 1)
            await live.close()
            #expect(await second.leaseCount == 0)
        }
    }
}
