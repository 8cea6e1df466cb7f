import BoothCore

/// The one owner of a stethoscope's capture: live WebRTC audio, recordings and the level meter all borrow the same
/// running `StethoscopePipeline` (an ALSA capture device opens once; a second `alsasrc` on it would get
/// `device_busy`). The first `acquire` opens the device, the last lease's `release` closes it.
///
/// One filter mode runs at a time. A recording holds the mode it was asked for while it runs (the live audio
/// follows it, so the doctor hears what is recorded); `setMode` during a recording is kept and applied when the
/// last recording ends.
///
/// A pipeline that failed (unplug, device error) is not handed out again: the next `acquire` opens a new one; the
/// leases of the failed one only end (their streams have finished).
public actor StethoscopeCaptureOwner {
    public nonisolated let configuration: StethoscopeConfiguration
    /// Makes the pipeline for a configuration (a test may stand a different source in for `alsasrc`).
    private let makePipeline: @Sendable (StethoscopeConfiguration) -> StethoscopePipeline
    /// The device's filter mode (the live audio's and the meter's).
    private var mode: StethoscopeMode
    /// Modes held by the recordings in progress, by lease, oldest first: the newest one is in force.
    private var holds: [(lease: Int, mode: StethoscopeMode)] = []
    private var run: Run?
    /// The open in progress, which concurrent acquirers wait for instead of opening the device again.
    private var opening: Opening?
    private var nextID = 0
    /// How many times the device was opened (tests check that borrowers share one capture).
    public private(set) var opens = 0

    private typealias Opening = (generation: Int, task: Task<Result<Run, StethoscopeError>, Never>)

    private struct Run {
        let generation: Int
        let pipeline: StethoscopePipeline
        let info: AudioStreamInfo
        var leases: Set<Int> = []
    }

    public init(
        configuration: StethoscopeConfiguration,
        makePipeline: @escaping @Sendable (StethoscopeConfiguration) -> StethoscopePipeline = {
            StethoscopePipeline(configuration: $0)
        }
    ) {
        self.configuration = configuration
        self.makePipeline = makePipeline
        self.mode = configuration.mode
    }

    /// The mode in force (a recording's while one runs, else the device's).
    public var modeInForce: StethoscopeMode { holds.last?.mode ?? mode }

    /// How many leases hold the running pipeline (0 when the device is closed).
    public var leaseCount: Int { run?.leases.count ?? 0 }

    /// Borrows the running capture, opening the device if nobody holds it. `mode` becomes the device's mode, or,
    /// with `holdingMode` (a recording), the mode in force until this lease is released.
    public func acquire(
        mode: StethoscopeMode,
        holdingMode: Bool = false
    ) async throws(StethoscopeError)
        -> StethoscopeLease
    {
        nextID += 1
        let id = nextID
        if holdingMode {
            holds.append((id, mode))
        } else {
            self.mode = mode
        }
        let current: Run
        switch await running() {
        case .success(let run): current = run
        case .failure(let error):
            holds.removeAll { $0.lease == id }
            throw error
        }
        if run?.generation == current.generation { run?.leases.insert(id) }
        await current.pipeline.setMode(modeInForce)
        return StethoscopeLease(id: id, generation: current.generation, pipeline: current.pipeline, info: current.info)
    }

    /// Ends a lease; the device closes with the last one. A recording's mode stops holding.
    public func release(_ lease: StethoscopeLease) async {
        let held = holds.contains { $0.lease == lease.id }
        holds.removeAll { $0.lease == lease.id }
        guard var current = run, current.generation == lease.generation else { return }
        current.leases.remove(lease.id)
        if current.leases.isEmpty {
            run = nil
            await current.pipeline.stop()
            return
        }
        run = current
        if held { await current.pipeline.setMode(modeInForce) }
    }

    /// Sets the device's mode. Returns whether a running pipeline applied it now (false when nothing runs, or a
    /// recording holds its own mode until it ends).
    @discardableResult
    public func setMode(_ mode: StethoscopeMode) async -> Bool {
        self.mode = mode
        guard holds.isEmpty, let run, !run.pipeline.hasEnded else { return false }
        await run.pipeline.setMode(mode)
        return true
    }

    /// The running pipeline, opened when there is none or the last one failed.
    private func running() async -> Result<Run, StethoscopeError> {
        if let run, !run.pipeline.hasEnded { return .success(run) }
        if let opening { return await settle(opening) }
        let stale = run
        run = nil
        var configuration = self.configuration
        configuration.mode = modeInForce
        opens += 1
        let generation = opens
        let pipeline = makePipeline(configuration)
        let task = Task { () -> Result<Run, StethoscopeError> in
            // The failed pipeline lets go of the device before the new one opens it.
            await stale?.pipeline.stop()
            do throws(StethoscopeError) {
                let info = try await pipeline.start()
                return .success(Run(generation: generation, pipeline: pipeline, info: info))
            } catch {
                return .failure(error)
            }
        }
        let pending = (generation, task)
        opening = pending
        return await settle(pending)
    }

    /// Waits for an open; whoever resumes first (the opener or a concurrent borrower) makes it the running one.
    private func settle(_ pending: Opening) async -> Result<Run, StethoscopeError> {
        let result = await pending.task.value
        if opening?.generation == pending.generation {
            opening = nil
            if case .success(let opened) = result { run = opened }
        }
        return result
    }
}

/// A borrowed capture (`StethoscopeCaptureOwner.acquire`): read its pipeline's level readings, live packets or
/// record from it; give it back with `release` on the owner.
public struct StethoscopeLease: Sendable {
    let id: Int
    let generation: Int
    public let pipeline: StethoscopePipeline
    public let info: AudioStreamInfo
}
