import BoothCore
import CBoothShim
import CGStreamer
import Foundation
import Logging
import Synchronization

/// One camera's GStreamer pipeline and its single owner.
///
/// `source → (jpegdec|videoconvert) → tee →` (a) live H.264 under the bit-rate budget, (b) JPEG preview frames,
/// (c) full-resolution JPEG stills on command. Appsink pulls and the bus run on dedicated threads and reach
/// async code through `AsyncStream`s; a fault (source gone, stream error, stall) is reported as an event and
/// the pipeline is rebuilt with a short backoff until `stop()`.
///
/// With `idleStopDelay` set the camera is on demand: `start()` checks that it streams and makes it available,
/// but its pipeline (elements, threads, encoder) only runs while someone holds a lease — every preview or
/// live-stream subscriber holds one, a snapshot takes one for its frame, others call `acquire`. Two users share
/// one pipeline; the delay after the last release lets a quick next use (a preview reload, a snapshot right after
/// the live view) find it still running.
public actor CameraPipeline {
    public nonisolated let configuration: CameraConfiguration
    private let logger: Logger
    private let previews = Broadcaster<JPEGFrame>(bufferingNewest: 2)
    private let chunks = Broadcaster<EncodedVideoChunk>(bufferingNewest: 300)
    private let eventBroadcaster = Broadcaster<CameraEvent>(bufferingNewest: 64)
    private let stills = StillRequests()
    private var running: RunningPipeline?
    private var generation = 0
    private var wantRunning = false
    private var budgetKbps: Int
    private var recovery: Task<Void, Never>?
    private var pictureAdjustments: [PictureAdjustment: Double] = [:]
    private var recoveryHook: (@Sendable (CameraFault) async -> Bool)?
    private let demand = CameraDemand()
    /// A launch is in progress (an on-demand start must not launch a second pipeline meanwhile).
    private var launching = false
    /// An idle stop's teardown in progress: the next launch waits for it (a V4L2 device opens once).
    private var halting: Task<Void, Never>?
    private var idleTimer: Task<Void, Never>?
    private var idleToken = 0
    /// The ladder rung the live stream currently uses.
    public private(set) var rung: VideoRung

    public init(configuration: CameraConfiguration, logger: Logger = Logger(label: "boothd.camera")) {
        self.configuration = configuration
        self.logger = logger
        self.budgetKbps = configuration.maximumBitrateKbps
        self.rung = configuration.ladder.rung(
            budgetKbps: configuration.maximumBitrateKbps,
            source: configuration.source.mode
        )
    }

    // MARK: streams

    /// Preview JPEG frames (newest kept when the consumer is slow), for an MJPEG-over-HTTP endpoint.
    /// An on-demand camera runs while the stream is consumed (the subscription holds a lease).
    public nonisolated func previewFrames() -> AsyncStream<JPEGFrame> { leased(previews, purpose: "preview") }

    /// H.264 access units of the live stream (Annex B), for WebRTC/RTP packetizers.
    /// An on-demand camera runs while the stream is consumed (the subscription holds a lease).
    public nonisolated func encodedVideo() -> AsyncStream<EncodedVideoChunk> { leased(chunks, purpose: "live") }

    /// Starts, faults, restarts, rung changes and stop.
    public nonisolated func events() -> AsyncStream<CameraEvent> { eventBroadcaster.subscribe() }

    // MARK: lifecycle

    public var isRunning: Bool { running != nil }

    /// Whether the camera was started and not stopped: available to users, running or (on demand) idle.
    public var isAvailable: Bool { wantRunning }

    /// What the current leases are for (`preview`, `live`, `snapshot`, or an `acquire` purpose).
    public nonisolated var leaseHolders: [String] { demand.purposes }

    /// Builds and starts the pipeline; throws if an element is missing or the source cannot start.
    /// After a successful start, faults restart the pipeline automatically until `stop()`. An on-demand camera
    /// then stops after its idle delay unless someone holds a lease; one that does not `launchesAtStart` only
    /// checks its elements here and runs at its first lease.
    public func start() async throws(CameraError) {
        guard !wantRunning else { return }
        wantRunning = true
        do {
            if configuration.idleStopDelay != nil, !configuration.launchesAtStart {
                try PipelineGraph.checkElements(configuration)
                logger.info("camera available on demand", metadata: ["source": "\(configuration.source)"])
            } else {
                try await launchOnce()
            }
        } catch {
            wantRunning = false
            throw error
        }
        await reconcile()
    }

    /// Declares a use of the camera: an on-demand pipeline starts now if it is not running and keeps running
    /// until every lease is released (then for `idleStopDelay`). Does nothing to an always-on pipeline.
    public nonisolated func acquire(_ purpose: String) -> CameraLease {
        let demand = self.demand
        let id = demand.add(purpose)
        let lease = CameraLease(purpose: purpose) { [weak self] in
            guard demand.remove(id), let self else { return }
            Task { await self.reconcile() }
        }
        Task { await self.reconcile() }
        return lease
    }

    /// Stops the pipeline and joins its threads; every element is released when this returns.
    public func stop() async {
        wantRunning = false
        recovery?.cancel()
        recovery = nil
        idleTimer?.cancel()
        idleTimer = nil
        if let halting { await halting.value }
        if let running {
            self.running = nil
            await teardown(running)
        }
        stills.failAll(.notRunning)
        eventBroadcaster.yield(.stopped)
    }

    /// Stops and ends every stream (subscribers see the end of their sequence).
    public func close() async {
        await stop()
        previews.finish()
        chunks.finish()
        eventBroadcaster.finish()
    }

    // MARK: commands

    /// Takes a full-resolution JPEG from the next frame. An idle on-demand camera is started for it (and stops
    /// again after its idle delay); `latency` then includes the start.
    public func snapshot(timeout: Duration = .seconds(3)) async throws(CameraError) -> Snapshot {
        let started = ContinuousClock.now
        guard configuration.idleStopDelay != nil else { return try await still(since: started, timeout: timeout) }
        guard wantRunning else { throw .notRunning }
        let lease = acquire("snapshot")
        defer { lease.release() }
        await reconcile()
        // Starting now, or restarting after a fault (its recovery retries while the lease is held): a slow camera
        // gets its start timeout, then the frame gets `timeout`.
        let startLimit = configuration.startTimeout
        while running == nil {
            guard wantRunning else { throw .notRunning }
            guard ContinuousClock.now - started < startLimit else { throw .startTimedOut(seconds: startLimit.seconds) }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return try await still(since: started, timeout: timeout)
    }

    private func still(
        since started: ContinuousClock.Instant,
        timeout: Duration
    ) async throws(CameraError)
        -> Snapshot
    {
        guard let running else { throw .notRunning }
        let id = stills.reserve()
        let stills = self.stills
        let timer = Task {
            try? await Task.sleep(for: timeout)
            if !Task.isCancelled { stills.complete(id, with: .failure(.snapshotTimedOut(seconds: timeout.seconds))) }
        }
        let result = await withCheckedContinuation { (continuation: StillRequests.Waiter) in
            stills.register(id, continuation)
            running.graph.setStillValveOpen(true)
        }
        timer.cancel()
        let sample = try result.get()
        return Snapshot(
            jpeg: sample.bytes,
            width: sample.width,
            height: sample.height,
            device: configuration.source.deviceName,
            capturedAtUnixSeconds: Date().timeIntervalSince1970,
            latency: ContinuousClock.now - started
        )
    }

    /// Sets a picture adjustment of the simulated camera (kept across restarts); a V4L2 camera adjusts in the
    /// device instead (its controls), so this does nothing there.
    public func setPictureAdjustment(_ adjustment: PictureAdjustment, _ value: Double) {
        pictureAdjustments[adjustment] = value
        running?.graph.setPictureAdjustment(adjustment, value)
    }

    /// Adapts the live stream to the available bandwidth (kbit/s, configured or measured by the transport);
    /// `nil` returns to the configured maximum. The budget never exceeds `maximumBitrateKbps`.
    public func setAvailableBandwidth(kbps: Int?) throws(CameraError) {
        let budget = min(configuration.maximumBitrateKbps, kbps ?? configuration.maximumBitrateKbps)
        guard budget > 0 else { throw .invalidConfiguration("available bandwidth must be > 0 kbit/s, got \(budget)") }
        budgetKbps = budget
        let next = configuration.ladder.rung(budgetKbps: budget, source: configuration.source.mode)
        if let running {
            try running.graph.apply(
                rung: next,
                encoderKbps: configuration.ladder.encoderKbps(budgetKbps: budget)
            )
            running.rung.withLock { $0 = next }
        }
        if next != rung {
            rung = next
            eventBroadcaster.yield(.rungChanged(next))
        }
    }

    /// Asks the live encoder for a keyframe now: a WebRTC receiver that just connected cannot decode before one.
    public func requestKeyframe() {
        running?.graph.requestKeyframe()
    }

    /// The encoder's current target (kbit/s).
    public var encoderTargetKbps: Int { configuration.ladder.encoderKbps(budgetKbps: budgetKbps) }

    /// Bit rate of the live stream over the last 5 s of presentation time.
    public var measuredLiveKbps: Double? { running?.meter.withLock { $0.kbps } }
    /// Frames per second the live encoder delivered over the last 5 s (one H.264 access unit per sample).
    public var measuredLiveFPS: Double? { running?.meter.withLock { $0.samplesPerSecond } }

    /// Sets what runs after a faulted pipeline is torn down and before it restarts: the wedged-camera watchdog
    /// resets the camera's USB device there. Returning false stops the pipeline instead of restarting it (the
    /// watchdog gave up); `start()` may be called again later.
    public func setRecoveryHook(_ hook: (@Sendable (CameraFault) async -> Bool)?) {
        recoveryHook = hook
    }

    // MARK: internals

    /// Pauses the running source without an error, as a wedged camera that stops sending frames does (tests the
    /// stall watchdog).
    func injectStall() {
        running?.graph.pauseSource()
    }

    /// Cuts the running source off from the pipeline (the fault a pulled camera causes); for tests.
    func injectSourceDisconnect() {
        running?.graph.disconnectSource()
    }

    /// `launch`, never two at once, and never before an idle stop has released the previous pipeline.
    private func launchOnce() async throws(CameraError) {
        // A recovery and a lease may both want it: the second finds it launched.
        while launching { try? await Task.sleep(for: .milliseconds(10)) }
        guard running == nil else { return }
        launching = true
        defer { launching = false }
        if let halting { await halting.value }
        try await launch()
        // Its users may all have left while it started.
        if configuration.idleStopDelay != nil, demand.count == 0 { armIdleStop() }
    }

    /// Whether a fault should be recovered from: always while started, on demand only while leased.
    private var shouldRun: Bool { wantRunning && (configuration.idleStopDelay == nil || demand.count > 0) }

    /// Brings an on-demand pipeline in line with its leases: starts it for the first, and arms the idle stop
    /// after the last.
    private func reconcile() async {
        guard configuration.idleStopDelay != nil, wantRunning else { return }
        if demand.count > 0 {
            idleTimer?.cancel()
            idleTimer = nil
            guard running == nil, recovery == nil, !launching else { return }
            do {
                try await launchOnce()
            } catch {
                logger.warning("camera start on demand failed", metadata: ["error": "\(error)"])
                if case .startFailed(let fault) = error { eventBroadcaster.yield(.fault(fault)) }
                if shouldRun, recovery == nil { recovery = Task { await self.recover() } }
                return
            }
        } else if running != nil || launching || recovery != nil {
            armIdleStop()
        }
    }

    private func armIdleStop() {
        guard let delay = configuration.idleStopDelay, idleTimer == nil else { return }
        idleToken += 1
        let token = idleToken
        idleTimer = Task { [weak self] in
            try? await Task.sleep(for: delay)
            guard !Task.isCancelled else { return }
            await self?.idleStop(token: token)
        }
    }

    /// Stops an unused on-demand pipeline: elements, threads and encoder buffers go, and the allocator gives
    /// the freed memory back to the system; the camera stays available.
    private func idleStop(token: Int) async {
        guard token == idleToken, wantRunning, demand.count == 0 else { return }
        idleTimer = nil
        // A recovery in progress ends by itself (nobody needs the camera) or finds a new lease.
        guard let running else { return }
        self.running = nil
        let halting = Task { await self.teardown(running) }
        self.halting = halting
        await halting.value
        if self.halting == halting { self.halting = nil }
        let resident = await runBlocking(name: "booth-media-trim") { MediaMemory.trim() }
        logger.info(
            "camera pipeline idle",
            metadata: [
                "generation": "\(running.generation)", "rss_before_kib": "\(resident.before / 1024)",
                "rss_after_kib": "\(resident.after / 1024)",
            ]
        )
        eventBroadcaster.yield(.idle)
        // A lease taken while it stopped starts it again.
        await reconcile()
    }

    /// A subscription that holds a lease on an on-demand camera until it ends.
    private nonisolated func leased<Element>(
        _ broadcaster: Broadcaster<Element>,
        purpose: String
    )
        -> AsyncStream<Element>
    {
        guard configuration.idleStopDelay != nil else { return broadcaster.subscribe() }
        let lease = acquire(purpose)
        return broadcaster.subscribe { lease.release() }
    }

    private func launch() async throws(CameraError) {
        generation += 1
        let generation = generation
        let graph = try PipelineGraph(
            configuration: configuration,
            rung: rung,
            encoderKbps: configuration.ladder.encoderKbps(budgetKbps: budgetKbps)
        )
        let timeout = configuration.startTimeout
        let started = await runBlocking(name: "booth-media-start") { graph.play(timeout: timeout) }
        if case .failure(let error) = started {
            await runBlocking(name: "booth-media-stop") { graph.halt() }
            throw error
        }
        let running = RunningPipeline(graph: graph, generation: generation, rung: rung)
        guard wantRunning else {
            await teardown(running)
            throw .notRunning
        }
        self.running = running
        for (adjustment, value) in pictureAdjustments { running.graph.setPictureAdjustment(adjustment, value) }
        spawnThreads(running)
        logger.info(
            "camera pipeline playing",
            metadata: [
                "source": "\(configuration.source)", "rung": "\(rung)", "generation": "\(generation)",
                "encoder": "\(graph.encoderSpec.element)",
            ]
        )
        eventBroadcaster.yield(.started(generation: generation))
    }

    private func teardown(_ running: RunningPipeline) async {
        running.stopping.store(true, ordering: .releasing)
        let graph = running.graph
        await runBlocking(name: "booth-media-stop") { graph.halt() }
        await running.threads.join()
    }

    private func handleFault(_ fault: CameraFault, generation: Int) async {
        guard let running, running.generation == generation else { return }
        logger.warning("camera pipeline fault", metadata: ["fault": "\(fault)", "generation": "\(generation)"])
        eventBroadcaster.yield(.fault(fault))
        self.running = nil
        await teardown(running)
        if let recoveryHook, shouldRun, !(await recoveryHook(fault)) {
            wantRunning = false
            stills.failAll(.notRunning)
            return
        }
        guard shouldRun, recovery == nil else { return }
        recovery = Task { await self.recover() }
    }

    private func recover() async {
        defer { recovery = nil }
        var attempt = 0
        while shouldRun, running == nil, !Task.isCancelled {
            attempt += 1
            // Short backoff: a re-plugged camera must stream again within 2 s.
            let delay = Duration.milliseconds(min(1000, 250 << min(attempt - 1, 2)))
            try? await Task.sleep(for: delay)
            guard shouldRun, running == nil, !Task.isCancelled else { return }
            do {
                try await launchOnce()
                eventBroadcaster.yield(.restarted(generation: generation, attempt: attempt))
                return
            } catch {
                logger.warning("camera restart failed", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                if case .startFailed(let fault) = error { eventBroadcaster.yield(.fault(fault)) }
            }
        }
    }

    private func spawnThreads(_ running: RunningPipeline) {
        let graph = running.graph
        let generation = running.generation
        let stallTimeout = configuration.stallTimeout
        let report: @Sendable (CameraFault) -> Void = { [weak self] fault in
            guard let self else { return }
            Task { await self.handleFault(fault, generation: generation) }
        }
        running.threads.spawn(name: "booth-media-bus") {
            BusWatcher.run(running: running, stallTimeout: stallTimeout, report: report)
        }
        let previews = self.previews
        running.threads.spawn(name: "booth-media-prev") {
            var sequence = 0
            running.pull(graph.previewSink) { sample in
                sequence += 1
                previews.yield(
                    JPEGFrame(
                        jpeg: sample.bytes,
                        width: sample.width,
                        height: sample.height,
                        presentationTime: sample.presentationTime,
                        sequence: sequence
                    )
                )
            }
        }
        let chunks = self.chunks
        running.threads.spawn(name: "booth-media-live") {
            running.pull(graph.liveSink) { sample in
                if let time = sample.presentationTime {
                    running.meter.withLock { $0.add(bytes: sample.bytes.count, at: time) }
                }
                chunks.yield(
                    EncodedVideoChunk(
                        data: sample.bytes,
                        width: sample.width,
                        height: sample.height,
                        presentationTime: sample.presentationTime,
                        isKeyframe: sample.isKeyframe,
                        rung: running.rung.withLock { $0 }
                    )
                )
            }
        }
        let stills = self.stills
        running.threads.spawn(name: "booth-media-still") {
            running.pull(graph.stillSink) { sample in
                graph.setStillValveOpen(false)
                stills.completeAll(with: .success(sample))
            }
        }
    }
}

/// The simulator's camera: a live `videotestsrc` through the same pipeline as a real camera.
public enum SimulatedCamera {
    /// 1280x720 at 30 fps, SMPTE bars.
    public static let defaultMode = VideoMode(width: 1280, height: 720, framesPerSecond: 30)

    public static func configuration(
        pattern: TestPattern = .smpte,
        mode: VideoMode = defaultMode,
        maximumBitrateKbps: Int = 1000,
        encoder: H264EncoderPreference = .auto
    ) -> CameraConfiguration {
        var configuration = CameraConfiguration(
            source: .simulated(pattern: pattern, mode: mode),
            maximumBitrateKbps: maximumBitrateKbps
        )
        configuration.encoder = encoder
        return configuration
    }

    /// A pipeline for the simulated camera (not started: call `start()`); on demand when `idleStopDelay` is set.
    /// `launchesAtStart: false` (boothd's simulator) makes that `start()` check the elements without running the
    /// pipeline: videotestsrc always streams, and a run at start would only leave GStreamer's state behind.
    public static func make(
        pattern: TestPattern = .smpte,
        mode: VideoMode = defaultMode,
        idleStopDelay: Duration? = nil,
        launchesAtStart: Bool = true,
        encoder: H264EncoderPreference = .auto,
        logger: Logger = Logger(label: "boothd.camera.simulated")
    ) -> CameraPipeline {
        var configuration = configuration(pattern: pattern, mode: mode, encoder: encoder)
        configuration.idleStopDelay = idleStopDelay
        configuration.launchesAtStart = launchesAtStart
        return CameraPipeline(configuration: configuration, logger: logger)
    }
}

/// A decoded appsink sample.
struct SampleData: Sendable {
    var bytes: [UInt8]
    var width: Int
    var height: Int
    var presentationTime: Duration?
    var isKeyframe: Bool

    init?(_ sample: OpaquePointer) {
        guard let buffer = gst_sample_get_buffer(sample) else { return nil }
        var map = GstMapInfo()
        guard gst_buffer_map(buffer, &map, GST_MAP_READ) != 0 else { return nil }
        bytes = map.data.map { Array(UnsafeBufferPointer(start: $0, count: Int(map.size))) } ?? []
        gst_buffer_unmap(buffer, &map)
        var width: gint = 0
        var height: gint = 0
        if let caps = gst_sample_get_caps(sample), let structure = gst_caps_get_structure(caps, 0) {
            _ = gst_structure_get_int(structure, "width", &width)
            _ = gst_structure_get_int(structure, "height", &height)
        }
        self.width = Int(width)
        self.height = Int(height)
        let pts = booth_gst_buffer_pts(buffer)
        presentationTime = pts == UInt64.max ? nil : .nanoseconds(Int64(pts))
        isKeyframe = booth_gst_buffer_flags(buffer) & GST_BUFFER_FLAG_DELTA_UNIT.rawValue == 0
    }
}

/// A started pipeline and the threads that serve it.
final class RunningPipeline: Sendable {
    let graph: PipelineGraph
    let generation: Int
    let threads = ThreadGroup()
    let stopping = Atomic<Bool>(false)
    /// Monotonic nanoseconds of the last frame any appsink delivered (stall detection).
    let lastFrameNanos = Atomic<Int64>(0)
    let rung: Mutex<VideoRung>
    let meter = Mutex(BitrateMeter(window: .seconds(5)))

    init(graph: PipelineGraph, generation: Int, rung: VideoRung) {
        self.graph = graph
        self.generation = generation
        self.rung = Mutex(rung)
        lastFrameNanos.store(Self.now(), ordering: .relaxed)
    }

    static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    /// Pulls samples until stopped; the 100 ms timeout bounds how long a stop waits for this thread.
    func pull(_ sink: ElementPointer, _ handle: (SampleData) -> Void) {
        let appSink = booth_gst_app_sink(sink)
        while !stopping.load(ordering: .acquiring) {
            guard let sample = gst_app_sink_try_pull_sample(appSink, 100_000_000) else {
                // EOS or a stopped pipeline returns at once: do not spin.
                if gst_app_sink_is_eos(appSink) != 0 { usleep(20_000) }
                continue
            }
            lastFrameNanos.store(Self.now(), ordering: .relaxed)
            let data = SampleData(sample)
            gst_mini_object_unref(UnsafeMutableRawPointer(sample).assumingMemoryBound(to: GstMiniObject.self))
            if let data { handle(data) }
        }
    }
}

/// Snapshot requests waiting for the still branch's next JPEG.
final class StillRequests: Sendable {
    typealias Waiter = CheckedContinuation<Result<SampleData, CameraError>, Never>
    private struct State {
        var nextID = 0
        var waiters: [Int: Waiter] = [:]
        var early: [Int: Result<SampleData, CameraError>] = [:]
    }
    private let state = Mutex(State())

    func reserve() -> Int {
        state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
    }

    func register(_ id: Int, _ waiter: Waiter) {
        let early: Result<SampleData, CameraError>? = state.withLock { state in
            if let result = state.early.removeValue(forKey: id) { return result }
            state.waiters[id] = waiter
            return nil
        }
        if let early { waiter.resume(returning: early) }
    }

    func complete(_ id: Int, with result: Result<SampleData, CameraError>) {
        let waiter: Waiter? = state.withLock { state in
            guard let waiter = state.waiters.removeValue(forKey: id) else {
                state.early[id] = result
                return nil
            }
            return waiter
        }
        waiter?.resume(returning: result)
    }

    func completeAll(with result: Result<SampleData, CameraError>) {
        let waiters = state.withLock { state in
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: result) }
    }

    func failAll(_ error: CameraError) { completeAll(with: .failure(error)) }
}

/// Watches a pipeline's bus (errors, end of stream) and its frame clock (stalls) on a dedicated thread.
enum BusWatcher {
    static func run(running: RunningPipeline, stallTimeout: Duration, report: @Sendable (CameraFault) -> Void) {
        let bus = running.graph.bus
        let mask = GstMessageType(rawValue: GST_MESSAGE_ERROR.rawValue | GST_MESSAGE_EOS.rawValue)
        let stallNanos = stallTimeout.nanoseconds
        while !running.stopping.load(ordering: .acquiring) {
            if let message = gst_bus_timed_pop_filtered(bus, 100_000_000, mask) {
                let fault = Self.fault(from: message)
                gst_mini_object_unref(UnsafeMutableRawPointer(message).assumingMemoryBound(to: GstMiniObject.self))
                if let fault {
                    report(fault)
                    return
                }
            }
            let silent = RunningPipeline.now() - running.lastFrameNanos.load(ordering: .relaxed)
            if silent > stallNanos {
                report(.stalled(seconds: Double(silent) / 1e9))
                return
            }
        }
    }

    /// The typed fault for an ERROR or EOS message; nil for other messages.
    static func fault(from message: UnsafeMutablePointer<GstMessage>) -> CameraFault? {
        let type = booth_gst_message_type(message)
        if type == GST_MESSAGE_EOS { return .endOfStream }
        guard type == GST_MESSAGE_ERROR else { return nil }
        var error: UnsafeMutablePointer<GError>?
        var debug: UnsafeMutablePointer<gchar>?
        gst_message_parse_error(message, &error, &debug)
        defer {
            if let error { g_error_free(error) }
            g_free(debug)
        }
        let element = elementName(booth_gst_message_src(message))
        guard let error else {
            return .streamFailed(element: element, domain: "?", code: 0, message: "unknown error")
        }
        let domain = g_quark_to_string(error.pointee.domain).map { String(cString: $0) } ?? "?"
        let text = error.pointee.message.map { String(cString: $0) } ?? ""
        let details = debug.map { String(cString: $0) } ?? ""
        if error.pointee.domain == gst_resource_error_quark() {
            return .sourceUnavailable(element: element, message: text)
        }
        if details.contains("not-negotiated")
            || error.pointee.domain == gst_core_error_quark()
                && error.pointee.code == GST_CORE_ERROR_NEGOTIATION.rawValue
        {
            return .negotiationFailed(element: element, message: text)
        }
        let reason = details.split(separator: "\n").last.map { " (\($0))" } ?? ""
        return .streamFailed(element: element, domain: domain, code: Int(error.pointee.code), message: text + reason)
    }
}

extension PipelineGraph {
    /// Sets PLAYING and waits (bounded) for it; returns the bus's error as a typed fault on failure.
    func play(timeout: Duration) -> Result<Void, CameraError> {
        let change = gst_element_set_state(pipeline, GST_STATE_PLAYING)
        if change == GST_STATE_CHANGE_FAILURE {
            return .failure(
                .startFailed(
                    pendingFault()
                        ?? .streamFailed(
                            element: "pipeline",
                            domain: "",
                            code: 0,
                            message: "state change to PLAYING failed"
                        )
                )
            )
        }
        var state = GST_STATE_NULL
        var pending = GST_STATE_NULL
        let result = gst_element_get_state(pipeline, &state, &pending, GstClockTime(timeout.nanoseconds))
        if let fault = pendingFault() { return .failure(.startFailed(fault)) }
        switch result {
        case GST_STATE_CHANGE_FAILURE:
            return .failure(
                .startFailed(
                    .streamFailed(element: "pipeline", domain: "", code: 0, message: "state change to PLAYING failed")
                )
            )
        case GST_STATE_CHANGE_ASYNC:
            return .failure(.startTimedOut(seconds: timeout.seconds))
        default:
            return .success(())
        }
    }

    /// Stops all streaming threads (blocking until they have left the elements).
    func halt() {
        gst_element_set_state(pipeline, GST_STATE_NULL)
    }

    /// An ERROR/EOS already on the bus, without waiting.
    private func pendingFault() -> CameraFault? {
        let mask = GstMessageType(rawValue: GST_MESSAGE_ERROR.rawValue | GST_MESSAGE_EOS.rawValue)
        guard let message = gst_bus_pop_filtered(bus, mask) else { return nil }
        defer { gst_mini_object_unref(UnsafeMutableRawPointer(message).assumingMemoryBound(to: GstMiniObject.self)) }
        return BusWatcher.fault(from: message)
    }
}
