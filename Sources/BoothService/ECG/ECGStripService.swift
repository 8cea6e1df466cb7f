import BoothCore
import BoothRender
import Foundation
import Logging
import Synchronization

/// What a strip recording produced.
public struct ECGStripOutcome: Sendable {
    public var artifactID: String
    public var recording: ECGRecording
    /// nil when the strip has the requested length; otherwise why it stopped early.
    public var incompleteReason: String?
    public var metadata: [String: String]
}

/// Strips on command (`ecg.strip`): records N seconds (default 30) of the live ECG a device is streaming into the
/// `WaveformFeed`, renders the standard strip (PDF of every page, PNG of page 1, with the recording JSON beside them)
/// and stores it as an `ecg-strip` artifact with measurement durability; the outbox announces it as an `artifact`
/// event. The command answers at once with the artifact id; the strip follows when recorded.
///
/// A device that disconnects mid-strip, or stops sending, ends the strip early: what was received is kept and stored
/// with `complete: false` and the reason in its metadata. Measured facts only: mean heart rate from the RR intervals
/// the device reported, no interpretation.
public final class ECGStripService: DeviceCommandHandler {
    /// Commands this handler carries out: `ecg.strip` (and `measurement.start` on an ECG device, the same thing).
    public static let commands: Set<String> = ["ecg.strip", "measurement.start"]
    public static let defaultSeconds = 30.0
    public static let allowedSeconds = 5.0...300.0

    let feed: WaveformFeed
    let store: @Sendable (NewArtifact) async throws -> Void
    let logger: Logger
    let now: @Sendable () -> Int64
    private let devices: Mutex<[String: DeviceIdentity]>
    /// Devices with a strip being recorded (at most one per device).
    private let busy = Mutex<Set<String>>([])
    /// The latest strip task per device (tests and shutdown wait on it).
    private let active = Mutex<[String: Task<ECGStripOutcome, Never>]>([:])
    /// How long after the requested duration a strip waits for data before it is cut short.
    let grace: Duration

    /// Strips of `devices` stored in `outbox`.
    public convenience init(
        feed: WaveformFeed,
        outbox: Outbox,
        devices: [DeviceIdentity],
        logger: Logger,
        now: @escaping @Sendable () -> Int64 = { Outbox.currentMicros() }
    ) {
        self.init(
            feed: feed,
            devices: devices,
            logger: logger,
            now: now,
            store: { artifact in try await outbox.recordArtifact(artifact) }
        )
    }

    /// `store` must return only once the artifact is durable (tests pass their own).
    public init(
        feed: WaveformFeed,
        devices: [DeviceIdentity],
        logger: Logger,
        now: @escaping @Sendable () -> Int64 = { Outbox.currentMicros() },
        grace: Duration = .seconds(10),
        store: @escaping @Sendable (NewArtifact) async throws -> Void
    ) {
        self.feed = feed
        self.store = store
        self.logger = logger
        self.now = now
        self.grace = grace
        self.devices = Mutex(Dictionary(devices.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first }))
    }

    /// Adds an ECG device found later (BLE discovery).
    public func register(_ device: DeviceIdentity) {
        devices.withLock { $0[device.id] = device }
    }

    public func perform(_ command: DeviceCommand) async throws(DeviceCommandError) -> [String: String] {
        guard Self.commands.contains(command.name) else {
            throw DeviceCommandError(code: "not_supported", message: "\(command.name) is not an ECG command")
        }
        // Devices known at start, or any device whose driver streams ECG into the feed (BLE discovery).
        guard let identity = devices.withLock({ $0[command.deviceID] }) ?? feed.identity(deviceID: command.deviceID)
        else {
            throw DeviceCommandError(
                code: "unknown_device",
                message:
                    "\(command.deviceID.prefix(128)) is not an ECG device (known: \(devices.withLock { $0.keys.sorted() }.joined(separator: ", ")))"
            )
        }
        var seconds = Self.defaultSeconds
        if let text = command.arguments["seconds"] {
            guard let value = Double(text), Self.allowedSeconds.contains(value) else {
                throw DeviceCommandError(
                    code: "invalid_params",
                    message:
                        "\(command.name) \"seconds\" must be a number from \(Int(Self.allowedSeconds.lowerBound)) to \(Int(Self.allowedSeconds.upperBound)) (got \(text.prefix(32)))"
                )
            }
            seconds = value
        }
        guard let latest = feed.latest(deviceID: identity.id), !latest.chunk.end else {
            throw DeviceCommandError(
                code: "device_error",
                message: "\(identity.id) is not streaming ECG now (not connected, or the sensor refused ECG)"
            )
        }
        let artifactID = "ecg-" + UUID().uuidString.lowercased()
        let takenAt = now()
        let takenBoot = BootClock.now()
        let duration = seconds
        let reserved = busy.withLock { $0.insert(identity.id).inserted }
        guard reserved else {
            throw DeviceCommandError(
                code: "device_busy",
                message: "a strip is already being recorded on \(identity.id)"
            )
        }
        let task = Task {
            let outcome = await self.strip(
                identity: identity,
                seconds: duration,
                artifactID: artifactID,
                takenAtMicros: takenAt,
                takenBoot: takenBoot
            )
            _ = self.busy.withLock { $0.remove(identity.id) }
            return outcome
        }
        active.withLock { $0[identity.id] = task }
        logger.info(
            "ECG strip started",
            metadata: ["device": "\(identity.id)", "seconds": "\(seconds)", "artifact": "\(artifactID)"]
        )
        return [
            "artifactId": artifactID, "deviceId": identity.id, "seconds": Self.format(seconds, digits: 0),
            "state": "recording",
        ]
    }

    /// Waits for the strip being recorded on `deviceID`, if any (tests, shutdown).
    public func waitForStrip(deviceID: String) async -> ECGStripOutcome? {
        guard let task = active.withLock({ $0[deviceID] }) else { return nil }
        return await task.value
    }

    /// Records, renders and stores one strip; never throws: a failure to store is retried until it succeeds.
    func strip(
        identity: DeviceIdentity,
        seconds: Double,
        artifactID: String,
        takenAtMicros: Int64,
        takenBoot: BootInstant? = nil
    ) async
        -> ECGStripOutcome
    {
        let (recording, reason) = await capture(deviceID: identity.id, identity: identity, seconds: seconds)
        var metadata = Self.metadata(recording, requestedSeconds: seconds, incompleteReason: reason)
        var parts: [ArtifactPart] = []
        do {
            let rendered = try await Self.renderOffPool(recording)
            parts = rendered.parts
            metadata["pages"] = "\(rendered.pages)"
        } catch {
            // The samples are still kept (recording.json); the strip says it could not be drawn.
            logger.error("ECG strip rendering failed", metadata: ["error": "\(error)"])
            metadata["renderError"] = "\(error)"
            parts = [Self.recordingPart(recording)].compactMap { $0 }
        }
        let artifact = NewArtifact(
            id: artifactID,
            kind: "ecg-strip",
            deviceID: identity.id,
            takenAtMicros: takenAtMicros,
            complete: reason == nil,
            metadata: metadata,
            parts: parts,
            takenBoot: takenBoot
        )
        var attempt = 0
        while true {
            do {
                try await store(artifact)
                break
            } catch {
                attempt += 1
                logger.error(
                    "cannot store the ECG strip yet; retrying",
                    metadata: ["artifact": "\(artifactID)", "attempt": "\(attempt)", "error": "\(error)"]
                )
                do {
                    try await Task.sleep(for: .milliseconds(min(5000, 100 * attempt * attempt)))
                } catch {
                    break
                }
            }
        }
        logger.info(
            "ECG strip stored",
            metadata: [
                "artifact": "\(artifactID)", "complete": "\(reason == nil)",
                "samples": "\(recording.leads.first?.samples.count ?? 0)",
            ]
        )
        return ECGStripOutcome(
            artifactID: artifactID,
            recording: recording,
            incompleteReason: reason,
            metadata: metadata
        )
    }

    /// Collects `seconds` of timeline (gaps included) from the chunks published after this call.
    func capture(deviceID: String, identity: DeviceIdentity, seconds: Double) async -> (ECGRecording, String?) {
        let (wakeups, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let key = feed.addListener { continuation.yield() }
        let limit = Duration.seconds(seconds) + grace
        let timer = Task {
            try? await Task.sleep(for: limit)
            continuation.finish()
        }
        defer {
            feed.removeListener(key)
            timer.cancel()
        }
        var builder = StripBuilder(seconds: seconds)
        var cursor = feed.lastSeq(deviceID: deviceID)
        var reason: String?
        loop: for await _ in wakeups {
            let (items, _) = feed.items(deviceID: deviceID, after: cursor)
            for item in items {
                cursor = item.seq
                if let stop = builder.add(item.chunk) {
                    reason = stop
                    break loop
                }
                if builder.isFull { break loop }
            }
        }
        if reason == nil, !builder.isFull {
            reason = Task.isCancelled ? "boothd stopped" : "the device stopped sending ECG data"
        }
        let waveform = builder.waveform ?? .ecg(lead: .unspecified, sampleRateHz: Double(PolarPMD.h10ECGSampleRate))
        var lead = waveform
        lead.incomplete = reason != nil
        return (ECGRecording(device: identity, leads: [lead], rrIntervals1024: builder.rrIntervals), reason)
    }

    static func metadata(
        _ recording: ECGRecording,
        requestedSeconds: Double,
        incompleteReason: String?
    )
        -> [String: String]
    {
        var metadata: [String: String] = [
            "device": recording.device.id,
            "requestedSeconds": format(requestedSeconds, digits: 0),
            "paperSpeed": "25 mm/s",
            "gain": "10 mm/mV",
            "rrIntervals": "\(recording.rrIntervals1024.filter { $0 > 0 }.count)",
        ]
        if let model = recording.device.model { metadata["deviceModel"] = model }
        if let lead = recording.leads.first {
            metadata["lead"] = lead.label
            metadata["leadCode"] = "\(lead.code.value)"
            metadata["sampleRateHz"] = format(lead.sampleRateHz, digits: 0)
            metadata["unit"] = lead.unit.code
            metadata["samples"] = "\(lead.samples.count)"
            metadata["missingSamples"] = "\(lead.missingCount)"
            metadata["gaps"] = "\(lead.gaps.count)"
            metadata["durationSeconds"] = format(lead.durationSeconds, digits: 2)
            metadata["startMicros"] = "\(lead.startMicros)"
        }
        if let mean = recording.meanHeartRateFromRR { metadata["meanHeartRate"] = format(mean, digits: 1) }
        if let incompleteReason { metadata["incompleteReason"] = incompleteReason }
        return metadata
    }

    static func format(_ value: Double, digits: Int) -> String {
        String(format: "%.\(digits)f", value)
    }

    static func recordingPart(_ recording: ECGRecording) -> ArtifactPart? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(recording) else { return nil }
        return ArtifactPart(name: "recording.json", mediaType: "application/json", bytes: Array(data))
    }

    /// The samples as a FHIR R4 Observation with one `SampledData` component per lead (`preliminary` when
    /// incomplete), for the teleconsultation record.
    static func observationPart(_ recording: ECGRecording) -> ArtifactPart? {
        let start = Double(recording.leads.first?.startMicros ?? 0) / 1e6
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let observation = FHIRWaveformObservation(
            id: UUID().uuidString.lowercased(),
            recording: recording,
            effectiveDateTime: formatter.string(from: Date(timeIntervalSince1970: start))
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(observation) else { return nil }
        return ArtifactPart(name: "observation.fhir.json", mediaType: "application/fhir+json", bytes: Array(data))
    }

    /// The strip's files: `strip.pdf` (every page), `strip.png` (page 1), `recording.json` (the samples) and
    /// `observation.fhir.json` (FHIR Observation with SampledData).
    public static func render(_ recording: ECGRecording) throws -> (parts: [ArtifactPart], pages: Int) {
        let strip = ECGStrip(recording: recording)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("boothd-strip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let pdf = folder.appendingPathComponent("strip.pdf").path
        let png = folder.appendingPathComponent("strip.png").path
        try strip.writePDF(to: pdf)
        try strip.writePNG(to: png)
        var parts = [
            ArtifactPart(
                name: "strip.pdf",
                mediaType: "application/pdf",
                bytes: Array(try Data(contentsOf: URL(fileURLWithPath: pdf)))
            ),
            ArtifactPart(
                name: "strip.png",
                mediaType: "image/png",
                bytes: Array(try Data(contentsOf: URL(fileURLWithPath: png)))
            ),
        ]
        if let json = recordingPart(recording) { parts.append(json) }
        if let fhir = observationPart(recording) { parts.append(fhir) }
        return (parts, strip.pageCount)
    }

    /// Cairo work is CPU-bound: it runs on its own thread, not on the two-thread cooperative pool.
    static func renderOffPool(_ recording: ECGRecording) async throws -> (parts: [ArtifactPart], pages: Int) {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try render(recording) })
            }
            thread.name = "boothd-ecg-strip"
            thread.start()
        }
    }
}

/// Assembles a strip from live chunks: the first chunk's leading gap is dropped (the strip starts at a sample), later
/// losses become gaps (from the chunks' own gaps, or from their start times when chunks went missing), and the
/// timeline is cut at exactly the requested length.
struct StripBuilder {
    let seconds: Double
    private(set) var waveform: Waveform?
    private(set) var rrIntervals: [UInt16] = []
    private var target = 0

    init(seconds: Double) {
        self.seconds = seconds
    }

    var isFull: Bool { waveform.map { $0.timelineCount >= target } ?? false }

    /// Adds a chunk; returns why the strip must stop early, or nil.
    mutating func add(_ chunk: WaveformChunk) -> String? {
        if chunk.end {
            return waveform == nil
                ? "the device disconnected before the strip started" : "the device disconnected mid-strip"
        }
        guard !isFull else { return nil }
        var missingBefore = 0
        var skipLeading = false
        if let current = waveform {
            if chunk.restart { return "the device reconnected mid-strip" }
            // Chunks that never reached the recorder still took time: their periods become a gap.
            let period = 1e6 / current.sampleRateHz
            let expected = Double(current.startMicros) + Double(current.timelineCount) * period
            missingBefore = max(0, Int(((Double(chunk.startMicros) - expected) / period).rounded()))
        } else {
            guard !chunk.samples.isEmpty else { return nil }
            var wave = Waveform(
                code: chunk.code,
                label: chunk.label,
                sampleRateHz: chunk.sampleRateHz,
                unit: chunk.unit,
                scale: chunk.scale,
                origin: chunk.origin
            )
            let leading = chunk.gaps.filter { $0.beforeSample == 0 }.reduce(0) { $0 + $1.missing }
            wave.startMicros = chunk.startMicros + Int64((Double(leading) * 1e6 / chunk.sampleRateHz).rounded())
            waveform = wave
            target = Int((seconds * chunk.sampleRateHz).rounded())
            skipLeading = true
        }
        rrIntervals.append(contentsOf: chunk.rrIntervals1024)
        // Split the chunk at its gaps: (missing periods, samples that follow).
        var pieces: [(Int, ArraySlice<Int32>)] = []
        var index = 0
        var pending = missingBefore
        for gap in chunk.gaps.sorted(by: { $0.beforeSample < $1.beforeSample }) {
            let at = min(max(gap.beforeSample, index), chunk.samples.count)
            if at > index {
                pieces.append((pending, chunk.samples[index..<at]))
                pending = 0
                index = at
            }
            if !(skipLeading && gap.beforeSample == 0) { pending += gap.missing }
        }
        pieces.append((pending, chunk.samples[index...]))
        for (missing, samples) in pieces {
            guard var current = waveform else { break }
            let room = target - current.timelineCount
            guard room > 0 else { break }
            let gap = min(missing, room)
            let take = min(samples.count, room - gap)
            if gap > 0 || take > 0 { current.append(Array(samples.prefix(take)), missingBefore: gap) }
            waveform = current
        }
        return nil
    }
}
