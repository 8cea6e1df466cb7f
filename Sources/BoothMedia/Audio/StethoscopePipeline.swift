import BoothCore
import CBoothShim
import CGStreamer
import Foundation
import Synchronization

/// Something the pipeline reports while it runs.
public enum StethoscopeEvent: Sendable {
    /// A level-meter reading (input and filtered, each every `levelIntervalMilliseconds`).
    case level(AudioLevel)
    /// The input's condition changed (clipping, no signal, back to ok): a device-state warning.
    case signal(SignalCondition)
    /// A non-fatal warning from an element.
    case warning(String)
    /// The pipeline failed (unplug, device error); it has stopped. Create a new pipeline to resume.
    case failed(StethoscopeError)
    /// The source ended (finite test source, pushed source ended).
    case ended
}

/// The stethoscope capture pipeline, one per device, built element by element:
///
///     source → [caps: profile rate/channels] → audioconvert → F32 → level(input)
///         → audiocheblimit(high-pass) → audiocheblimit(low-pass) → tee
///     tee → queue → level(filtered) → appsink(pcm)            recordings (FLAC), analysis
///     tee → queue(leaky) → audioresample → 48 kHz → audioconvert → opusenc → appsink(opus)     live track
///
/// Nothing in the path adjusts gain, suppresses noise, cancels echo or high-passes above 20 Hz. The bus and the
/// two appsinks are serviced by dedicated threads; events and Opus packets come out as AsyncStreams. One run per
/// instance: after `stop()` or a failure, create a new pipeline (e.g. on re-plug).
public actor StethoscopePipeline {
    public let configuration: StethoscopeConfiguration
    /// Level readings, signal warnings, failures. Single consumer.
    public nonisolated let events: AsyncStream<StethoscopeEvent>
    /// Encoded live audio. Single consumer; when nobody reads, the oldest packets are dropped.
    public nonisolated let opusPackets: AsyncStream<OpusPacket>

    private let eventSink: AsyncStream<StethoscopeEvent>.Continuation
    private let opusSink: AsyncStream<OpusPacket>.Continuation
    private let hub: CaptureHub
    private nonisolated let levelTap = AudioLevelTap()
    private nonisolated let opusTap = BroadcastTap<OpusPacket>()
    private var graph: Graph?
    private var workers: [AudioWorkerThread] = []
    private var mode: StethoscopeMode
    private var pushedFrames: UInt64 = 0
    private var stopped = false

    struct Graph: Sendable {
        let pipeline: AudioElementPointer
        let source: AudioElementPointer
        let highPass: AudioElementPointer
        let lowPass: AudioElementPointer
        let encoder: AudioElementPointer
        let pcmSink: AudioElementPointer
        let opusSink: AudioElementPointer
    }

    public init(configuration: StethoscopeConfiguration) {
        self.configuration = configuration
        self.mode = configuration.mode
        (events, eventSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(256))
        (opusPackets, opusSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(200))
        hub = CaptureHub()
    }

    /// Level readings (input and filtered) for one more listener, besides `events`; any number may listen. Each
    /// keeps at most `buffer` readings when it falls behind (the oldest are dropped). Ends when the pipeline stops.
    public nonisolated func levelReadings(buffer: Int = 16) -> AsyncStream<AudioLevel> {
        levelTap.listen(buffer: buffer)
    }

    /// Encoded live audio for one more listener (each live WebRTC source that borrows this pipeline), besides
    /// `opusPackets`; any number may listen, each keeping at most `buffer` packets (oldest dropped). Ends when the
    /// pipeline stops or fails.
    public nonisolated func livePackets(buffer: Int = 50) -> AsyncStream<OpusPacket> {
        opusTap.listen(buffer: buffer)
    }

    /// Whether the stream is over (stopped, failed, ended): a new capture needs a new pipeline.
    public nonisolated var hasEnded: Bool { hub.isEnded }

    /// The current filter mode.
    public var currentMode: StethoscopeMode { mode }

    /// Builds and starts the pipeline. For device and test sources, returns once audio flows (or throws the
    /// device's error, e.g. busy); for a pushed source, returns at once with the configured format.
    @discardableResult
    public func start(timeoutSeconds: Double = 5) async throws(StethoscopeError) -> AudioStreamInfo {
        guard graph == nil, !stopped else { throw .notRunning }
        try configuration.validate()
        let graph = try build()
        self.graph = graph
        let hub = self.hub
        let events = eventSink
        let tap = levelTap
        let liveTap = opusTap
        let device: String? = if case .alsa(let name) = configuration.source { name } else { nil }
        let monitor = Mutex(SignalMonitor(thresholds: configuration.thresholds))
        guard let bus = gst_element_get_bus(graph.pipeline.pointer) else { throw .notRunning }
        let busPointer = GstPointer(bus)
        let busThread = AudioWorkerThread(name: "steth-bus") {
            let types = GstMessageType(
                GST_MESSAGE_EOS.rawValue | GST_MESSAGE_ERROR.rawValue | GST_MESSAGE_WARNING.rawValue
                    | GST_MESSAGE_ELEMENT.rawValue
            )
            guard let message = gst_bus_timed_pop_filtered(busPointer.pointer, 100_000_000, types) else { return true }
            defer { gst_message_unref(message) }
            switch AudioBusMessage.parse(message) {
            case .level(let element, let endTime, let rms, let peak):
                let level = AudioLevel(
                    stage: element == "level-input" ? .input : .filtered,
                    time: Double(endTime) / 1e9,
                    rmsDB: rms.map(AudioLevel.floored),
                    peakDB: peak.map(AudioLevel.floored)
                )
                events.yield(.level(level))
                tap.publish(level)
                if level.stage == .input, let change = monitor.withLock({ $0.update(level) }) {
                    events.yield(.signal(change))
                }
                return true
            case .warning(let element, let text):
                events.yield(.warning("\(element): \(text)"))
                return true
            case .error(let element, let text, let debug):
                let error = Self.translate(element: element, message: text, debug: debug, device: device)
                hub.fail(error)
                tap.finish()
                liveTap.finish()
                events.yield(.failed(error))
                return false
            case .endOfStream:
                hub.end()
                tap.finish()
                liveTap.finish()
                events.yield(.ended)
                return false
            case nil:
                return true
            }
        }
        let pcmThread = AudioWorkerThread(name: "steth-pcm") {
            switch AppSinkPull.pull(graph.pcmSink, timeout: 100_000_000) {
            case .sample(let pts, _, let bytes, let rate, let channels):
                hub.deliver(
                    AudioChunk(pts: pts, sampleRate: rate, channels: channels, samples: AppSinkPull.floats(bytes))
                )
                return true
            case .timeout: return true
            case .endOfStream: return false
            }
        }
        let opus = opusSink
        let opusThread = AudioWorkerThread(name: "steth-opus") {
            switch AppSinkPull.pull(graph.opusSink, timeout: 100_000_000) {
            case .sample(let pts, let duration, let bytes, _, _):
                let now = AudioGst.runningTime(graph.pipeline)
                let latency = now.flatMap { $0 >= pts ? $0 - pts : nil }
                let packet = OpusPacket(pts: pts, duration: duration, data: bytes, captureToEncodedNanoseconds: latency)
                opus.yield(packet)
                liveTap.publish(packet)
                return true
            case .timeout: return true
            case .endOfStream: return false
            }
        }
        workers = [busThread, pcmThread, opusThread]

        _ = StethoscopeRateFallback.apply(pipeline: graph.pipeline, configuration: configuration)
        if gst_element_set_state(graph.pipeline.pointer, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE {
            // The element posts its reason on the bus; give the bus thread a moment to pick it up.
            let error = await hub.waitForFailure(seconds: 1)
            await stop()
            throw error ?? .pipelineError(element: "pipeline", message: "could not start", debug: "")
        }
        if configuration.source == .pushed {
            return AudioStreamInfo(sampleRate: configuration.sampleRate ?? 48000, channels: configuration.channels ?? 1)
        }
        switch await hub.waitForStream(seconds: timeoutSeconds) {
        case .success(let info):
            applyMode(sampleRate: info.sampleRate)
            return info
        case .failure(let error):
            await stop()
            throw error
        }
    }

    /// Switches the filter mode live (the filters' cutoffs change in place; no gap in the audio).
    public func setMode(_ mode: StethoscopeMode) {
        self.mode = mode
        applyMode(sampleRate: hub.streamInfo?.sampleRate ?? configuration.sampleRate ?? 48000)
    }

    /// Changes the live Opus bitrate (the bandwidth manager calls this when the video's share changes).
    public func setOpusBitrate(_ bitsPerSecond: Int) throws(StethoscopeError) {
        try StethoscopeConfiguration.validateBitrate(bitsPerSecond)
        guard let graph else { throw .notRunning }
        booth_g_object_set_int(graph.encoder.raw, "bitrate", Int32(bitsPerSecond))
    }

    /// Starts recording the next `seconds` of filtered audio to a FLAC file at the capture rate (and a
    /// phonocardiogram PNG when `picturePath` is given). Returns at once; await `job.result()`.
    public func beginRecording(
        seconds: Double = 20,
        flacPath: String,
        picturePath: String? = nil
    ) throws(StethoscopeError) -> RecordingJob {
        guard seconds > 0, seconds <= 600 else {
            throw .invalidArgument(name: "recording duration", reason: "\(seconds) s is outside 0–600")
        }
        guard graph != nil, !stopped else { throw .notRunning }
        let job = RecordingJob(flacPath: flacPath, picturePath: picturePath, seconds: seconds, mode: mode)
        try hub.add(job)
        return job
    }

    /// Records `seconds` of audio and returns the finished recording.
    public func record(
        seconds: Double = 20,
        flacPath: String,
        picturePath: String? = nil
    ) async throws(StethoscopeError) -> StethoscopeRecording {
        try await beginRecording(seconds: seconds, flacPath: flacPath, picturePath: picturePath).result()
    }

    /// Feeds samples (interleaved float, the configured rate and channels) into a `.pushed` source.
    public func push(_ samples: [Float]) throws(StethoscopeError) {
        guard configuration.source == .pushed else { throw .notPushSource }
        guard let graph, !stopped else { throw .notRunning }
        let rate = UInt64(configuration.sampleRate ?? 48000)
        let channels = UInt64(configuration.channels ?? 1)
        let pts = pushedFrames * 1_000_000_000 / rate
        pushedFrames += UInt64(samples.count) / channels
        let end = pushedFrames * 1_000_000_000 / rate
        guard AppSrcPush.push(graph.source, samples: samples, pts: pts, duration: end - pts) else { throw .notRunning }
    }

    /// Ends a `.pushed` stream: recordings in progress finish with what they have, then `.ended` is reported.
    public func endOfStream() throws(StethoscopeError) {
        guard configuration.source == .pushed else { throw .notPushSource }
        guard let graph else { throw .notRunning }
        _ = booth_audio_app_src_end_of_stream(graph.source.pointer)
    }

    /// Stops the pipeline and releases the device; recordings in progress are finished with what they have.
    public func stop() async {
        guard !stopped else { return }
        stopped = true
        for worker in workers { await worker.stop() }
        workers = []
        if let graph {
            gst_element_set_state(graph.pipeline.pointer, GST_STATE_NULL)
            gst_object_unref(graph.pipeline.raw)
        }
        graph = nil
        hub.end()
        levelTap.finish()
        opusTap.finish()
        eventSink.finish()
        opusSink.finish()
    }

    private func applyMode(sampleRate: Int) {
        guard let graph else { return }
        let band = mode.band(sampleRate: sampleRate)
        booth_g_object_set_double(graph.highPass.raw, "cutoff", band.low)
        booth_g_object_set_double(graph.lowPass.raw, "cutoff", band.high)
    }

    private func build() throws(StethoscopeError) -> Graph {
        MediaRuntime.initialize()
        guard let pipelinePointer = gst_pipeline_new("stethoscope") else { throw .notRunning }
        let pipeline = AudioElementPointer(pipelinePointer)
        do {
            return try assemble(pipeline)
        } catch {
            gst_object_unref(pipeline.raw)
            throw error
        }
    }

    private func assemble(_ pipeline: AudioElementPointer) throws(StethoscopeError) -> Graph {
        let config = configuration
        var deviceCaps = "audio/x-raw"
        if let rate = config.sampleRate {
            if case .pushed = config.source {
                deviceCaps += ",rate=\(rate)"
            } else {
                // A preference list, not a fixed rate: an unsupported rate falls back to the nearest one offered.
                let rates = StethoscopeConfiguration.preferredRates(for: rate).map(String.init).joined(separator: ", ")
                deviceCaps += ",rate=(int){\(rates)}"
            }
        }
        if let channels = config.channels { deviceCaps += ",channels=\(channels)" }
        let source: AudioElementPointer
        switch config.source {
        case .alsa(let device):
            source = try AudioGst.make("alsasrc", "source")
            booth_g_object_set_string(source.raw, "device", device)
            // 10 ms periods: capture latency stays low; the ring buffer keeps 200 ms against scheduling hiccups.
            booth_audio_set_int64(source.raw, "latency-time", 10_000)
            booth_audio_set_int64(source.raw, "buffer-time", 200_000)
        case .testTone(let frequency, let volume, let live, let seconds):
            source = try AudioGst.make("audiotestsrc", "source")
            booth_g_object_set_double(source.raw, "freq", frequency)
            booth_g_object_set_double(source.raw, "volume", volume)
            booth_g_object_set_bool(source.raw, "is-live", live ? 1 : 0)
            let rate = config.sampleRate ?? 48000
            booth_g_object_set_int(source.raw, "samplesperbuffer", Int32(rate / 100))
            if let seconds { booth_g_object_set_int(source.raw, "num-buffers", Int32((seconds * 100).rounded(.up))) }
        case .pushed:
            let rate = config.sampleRate ?? 48000
            let channels = config.channels ?? 1
            source = try AudioGst.appSource(
                "source",
                caps: "audio/x-raw,format=F32LE,layout=interleaved,rate=\(rate),channels=\(channels)"
            )
            // Bounded queue inside appsrc: push blocks instead of growing memory without limit.
            booth_audio_set_uint64(source.raw, "max-bytes", guint64(rate * channels * 4))
            booth_g_object_set_bool(source.raw, "block", 1)
        }
        var emulated: [AudioElementPointer] = []
        if case .testTone = config.source, let rates = config.emulatedDeviceRates, !rates.isEmpty {
            let list = rates.map(String.init).joined(separator: ", ")
            emulated = [try AudioGst.capsFilter("emulated-device", "audio/x-raw,rate=(int){\(list)}")]
        }
        let deviceFormat = try AudioGst.capsFilter("device-caps", deviceCaps)
        let convert = try AudioGst.make("audioconvert", "convert")
        let float = try AudioGst.capsFilter("float", "audio/x-raw,format=F32LE,layout=interleaved")
        let inputLevel = try level("level-input")
        let band = mode.band(sampleRate: config.sampleRate ?? 48000)
        let highPass = try filter("high-pass", mode: "high-pass", cutoff: band.low)
        let lowPass = try filter("low-pass", mode: "low-pass", cutoff: band.high)
        let tee = try AudioGst.make("tee", "split")
        try AudioGst.addAndLink(
            pipeline,
            [source] + emulated + [deviceFormat, convert, float, inputLevel, highPass, lowPass, tee]
        )

        let pcmQueue = try AudioGst.make("queue", "pcm-queue")
        let filteredLevel = try level("level-filtered")
        let pcmSink = try AudioGst.make("appsink", "pcm")
        // Not leaky and unbounded in buffers: recordings never lose samples; the pull thread keeps it drained.
        booth_g_object_set_bool(pcmSink.raw, "sync", 0)
        booth_g_object_set_bool(pcmSink.raw, "async", 0)
        try AudioGst.addAndLink(pipeline, [pcmQueue, filteredLevel, pcmSink])

        let opusQueue = try AudioGst.make("queue", "opus-queue")
        // The live branch prefers dropping old audio to building delay.
        booth_gst_util_set_object_arg(opusQueue.raw, "leaky", "downstream")
        booth_audio_set_uint64(opusQueue.raw, "max-size-time", guint64(200_000_000))
        booth_g_object_set_uint(opusQueue.raw, "max-size-buffers", 0)
        booth_g_object_set_uint(opusQueue.raw, "max-size-bytes", 0)
        let resample = try AudioGst.make("audioresample", "resample")
        let opusRate = try AudioGst.capsFilter("opus-rate", "audio/x-raw,rate=48000")
        let opusFormat = try AudioGst.make("audioconvert", "opus-format")
        let encoder = try AudioGst.make("opusenc", "opus")
        // Fullband, constant bitrate, no DTX (DTX would cut the quiet gaps between heart sounds), CELT-only
        // restricted-lowdelay: libopus applies its speech high-pass only in the VoIP application.
        booth_gst_util_set_object_arg(encoder.raw, "audio-type", "restricted-lowdelay")
        booth_gst_util_set_object_arg(encoder.raw, "bandwidth", "fullband")
        booth_gst_util_set_object_arg(encoder.raw, "bitrate-type", "cbr")
        booth_gst_util_set_object_arg(encoder.raw, "frame-size", "\(config.opusFrameMilliseconds)")
        booth_g_object_set_bool(encoder.raw, "dtx", 0)
        booth_g_object_set_int(encoder.raw, "bitrate", Int32(config.opusBitrate))
        let opusSink = try AudioGst.make("appsink", "opus-sink")
        booth_g_object_set_bool(opusSink.raw, "sync", 0)
        booth_g_object_set_bool(opusSink.raw, "async", 0)
        booth_g_object_set_bool(opusSink.raw, "drop", 1)
        booth_g_object_set_uint(opusSink.raw, "max-buffers", 100)
        try AudioGst.addAndLink(pipeline, [opusQueue, resample, opusRate, opusFormat, encoder, opusSink])
        try AudioGst.link([tee, pcmQueue])
        try AudioGst.link([tee, opusQueue])
        return Graph(
            pipeline: pipeline,
            source: source,
            highPass: highPass,
            lowPass: lowPass,
            encoder: encoder,
            pcmSink: pcmSink,
            opusSink: opusSink
        )
    }

    private func level(_ name: String) throws(StethoscopeError) -> AudioElementPointer {
        let element = try AudioGst.make("level", name)
        booth_audio_set_uint64(element.raw, "interval", guint64(configuration.levelIntervalMilliseconds) * 1_000_000)
        booth_g_object_set_bool(element.raw, "post-messages", 1)
        return element
    }

    private func filter(_ name: String, mode: String, cutoff: Double) throws(StethoscopeError) -> AudioElementPointer {
        let element = try AudioGst.make("audiocheblimit", name)
        booth_gst_util_set_object_arg(element.raw, "mode", mode)
        booth_g_object_set_int(element.raw, "poles", 4)
        booth_g_object_set_int(element.raw, "type", 1)
        booth_g_object_set_double(element.raw, "cutoff", cutoff)
        return element
    }

    /// Names the device's holder when ALSA reports it busy.
    static func translate(element: String, message: String, debug: String, device: String?) -> StethoscopeError {
        let text = (message + " " + debug).lowercased()
        if let device, element == "source" {
            if text.contains("busy") || text.contains("being used by another") {
                return .deviceBusy(device: device, holder: AlsaDevices.holder(of: device))
            }
            if text.contains("could not open") || text.contains("no such") {
                return .deviceUnavailable(device: device, detail: message)
            }
        }
        return .pipelineError(element: element, message: message, debug: debug)
    }
}

/// State shared by the capture threads and the actor: negotiated format, recordings, failure.
final class CaptureHub: Sendable {
    private struct State {
        var info: AudioStreamInfo?
        var failure: StethoscopeError?
        var ended = false
        var jobs: [RecordingJob] = []
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    var streamInfo: AudioStreamInfo? { state.withLock { $0.info } }
    var isEnded: Bool { state.withLock { $0.ended } }

    func add(_ job: RecordingJob) throws(StethoscopeError) {
        let failure = state.withLock { state -> StethoscopeError? in
            if let failure = state.failure { return failure }
            if state.ended { return .notRunning }
            state.jobs.append(job)
            return nil
        }
        if let failure { throw failure }
    }

    func deliver(_ chunk: AudioChunk) {
        let (jobs, waiters) = state.withLock { state in
            var waiters: [CheckedContinuation<Void, Never>] = []
            if state.info == nil {
                state.info = AudioStreamInfo(sampleRate: chunk.sampleRate, channels: chunk.channels)
                waiters = state.waiters
                state.waiters = []
            }
            return (state.jobs, waiters)
        }
        for waiter in waiters { waiter.resume() }
        var done: [RecordingJob] = []
        for job in jobs where job.append(chunk) { done.append(job) }
        guard !done.isEmpty else { return }
        state.withLock { state in state.jobs.removeAll { job in done.contains { $0 === job } } }
        for job in done { job.finish() }
    }

    func fail(_ error: StethoscopeError) {
        state.withLock { $0.failure = $0.failure ?? error }
        end()
    }

    /// The stream is over: finish recordings with what they captured, release waiters.
    func end() {
        let (jobs, waiters) = state.withLock { state in
            state.ended = true
            defer {
                state.jobs = []
                state.waiters = []
            }
            return (state.jobs, state.waiters)
        }
        for waiter in waiters { waiter.resume() }
        for job in jobs { job.finish() }
    }

    /// Waits until audio flows (first chunk) or the pipeline fails.
    func waitForStream(seconds: Double) async -> Result<AudioStreamInfo, StethoscopeError> {
        await waitUntilSettled(seconds: seconds)
        return state.withLock { state in
            if let info = state.info { return .success(info) }
            if let failure = state.failure { return .failure(failure) }
            if state.ended { return .failure(.notRunning) }
            return .failure(.timedOut(what: "first audio from the stethoscope", seconds: seconds))
        }
    }

    func waitForFailure(seconds: Double) async -> StethoscopeError? {
        await waitUntilSettled(seconds: seconds)
        return state.withLock { $0.failure }
    }

    private func waitUntilSettled(seconds: Double) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let settled = state.withLock { state in
                if state.info != nil || state.ended { return true }
                state.waiters.append(continuation)
                return false
            }
            if settled {
                continuation.resume()
                return
            }
            // The timeout: resume once, whichever comes first (guarded by removing the waiter under the lock).
            Thread.detachNewThread { [self] in
                Thread.sleep(forTimeInterval: seconds)
                let removed = state.withLock { state -> CheckedContinuation<Void, Never>? in
                    guard !state.waiters.isEmpty else { return nil }
                    return state.waiters.removeFirst()
                }
                removed?.resume()
            }
        }
    }
}
