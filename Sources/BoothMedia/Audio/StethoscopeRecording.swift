import BoothCore
import Foundation
import Synchronization

/// A finished auscultation recording: a FLAC file at the device's rate, optionally a phonocardiogram PNG.
public struct StethoscopeRecording: Sendable {
    public var flacPath: String
    public var picturePath: String?
    public var mode: StethoscopeMode
    public var sampleRate: Int
    public var channels: Int
    public var frames: Int
    public var requestedSeconds: Double
    public var startedAt: Date
    public var peakDB: Double
    public var rmsDB: Double
    /// Estimated from the envelope; meaningful for heart sounds (bell or wide mode).
    public var heartRate: HeartRateEstimate?
    /// The recording mixed to mono (full scale ±1), for pictures and analysis.
    public var monoSamples: [Float]

    public var duration: Double { Double(frames) / Double(sampleRate) }
    /// True when the stream ended (stop, unplug, error) before the requested duration.
    public var truncated: Bool { duration + 0.5 / Double(sampleRate) < requestedSeconds }
}

/// One recording in progress. The capture thread appends chunks; when the requested number of frames is
/// reached (or the stream ends) the file is finished on its own thread and `result()` returns.
public final class RecordingJob: Sendable {
    public let flacPath: String
    public let picturePath: String?
    public let seconds: Double
    public let mode: StethoscopeMode

    private struct State {
        var writer: FLACFileWriter?
        var targetFrames: Int?
        var frames = 0
        var channels = 0
        var sampleRate = 0
        var mono: [Float] = []
        var peak: Float = 0
        var sumSquares: Double = 0
        var startedAt: Date?
        var finishing = false
        var finishStarted = false
        var result: Result<StethoscopeRecording, StethoscopeError>?
        var waiters: [CheckedContinuation<Result<StethoscopeRecording, StethoscopeError>, Never>] = []
    }

    private let state = Mutex(State())

    init(flacPath: String, picturePath: String?, seconds: Double, mode: StethoscopeMode) {
        self.flacPath = flacPath
        self.picturePath = picturePath
        self.seconds = seconds
        self.mode = mode
    }

    /// Waits for the recording to complete.
    public func result() async throws(StethoscopeError) -> StethoscopeRecording {
        let outcome = await withCheckedContinuation {
            (continuation: CheckedContinuation<Result<StethoscopeRecording, StethoscopeError>, Never>) in
            let ready = state.withLock { state -> Result<StethoscopeRecording, StethoscopeError>? in
                if let result = state.result { return result }
                state.waiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
        return try outcome.get()
    }

    /// Appends a captured chunk; returns true when the job has all its frames (the caller then finishes it).
    func append(_ chunk: AudioChunk) -> Bool {
        state.withLock { state in
            guard !state.finishing, chunk.channels > 0, chunk.sampleRate > 0 else { return state.finishing }
            if state.writer == nil {
                do throws(StethoscopeError) {
                    state.writer = try FLACFileWriter(
                        path: flacPath,
                        sampleRate: chunk.sampleRate,
                        channels: chunk.channels
                    )
                } catch {
                    state.result = .failure(error)
                    state.finishing = true
                    return true
                }
                state.channels = chunk.channels
                state.sampleRate = chunk.sampleRate
                state.targetFrames = Int((seconds * Double(chunk.sampleRate)).rounded())
                state.startedAt = Date()
                state.mono.reserveCapacity(state.targetFrames ?? 0)
            }
            let target = state.targetFrames ?? 0
            let take = min(chunk.frames, target - state.frames)
            guard take > 0 else { return true }
            let samples = take == chunk.frames ? chunk.samples : Array(chunk.samples.prefix(take * chunk.channels))
            state.writer?.write(samples)
            let channels = chunk.channels
            for frame in 0..<take {
                var mixed: Float = 0
                for channel in 0..<channels {
                    let sample = samples[frame * channels + channel]
                    state.peak = max(state.peak, abs(sample))
                    state.sumSquares += Double(sample * sample)
                    mixed += sample
                }
                state.mono.append(mixed / Float(channels))
            }
            state.frames += take
            return state.frames >= target
        }
    }

    /// Finishes the file and resolves waiters, on a dedicated thread (the FLAC writer blocks until EOS).
    /// Called when the job has its frames, or early when the stream ends; only the first call acts.
    func finish() {
        let first = state.withLock { state in
            defer { state.finishStarted = true }
            state.finishing = true
            return !state.finishStarted
        }
        guard first else { return }
        Thread.detachNewThread { [self] in
            let outcome = self.state.withLock { $0.result } ?? self.complete()
            self.state.withLock { $0.result = outcome }
            self.resolve()
        }
    }

    private func complete() -> Result<StethoscopeRecording, StethoscopeError> {
        let snapshot = state.withLock { state in
            defer { state.writer = nil }
            return (state.writer, state.frames, state.channels, state.sampleRate, state.peak, state.sumSquares)
        }
        let (writer, frames, channels, sampleRate, peak, sumSquares) = snapshot
        guard let writer, frames > 0 else { return .failure(.emptyRecording(path: flacPath)) }
        do {
            try writer.finish()
        } catch {
            return .failure(error)
        }
        let mono = state.withLock { $0.mono }
        var recording = StethoscopeRecording(
            flacPath: flacPath,
            picturePath: nil,
            mode: mode,
            sampleRate: sampleRate,
            channels: channels,
            frames: frames,
            requestedSeconds: seconds,
            startedAt: state.withLock { $0.startedAt } ?? Date(),
            peakDB: 20 * log10(Double(max(peak, 1e-10))),
            rmsDB: 10 * log10(max(sumSquares / Double(frames * channels), 1e-20)),
            heartRate: HeartRateEstimator.estimate(samples: mono, sampleRate: sampleRate),
            monoSamples: mono
        )
        if let picturePath {
            do {
                try PhonocardiogramPicture.render(recording, to: picturePath)
                recording.picturePath = picturePath
            } catch {
                return .failure(error)
            }
        }
        return .success(recording)
    }

    private func resolve() {
        let (result, waiters) = state.withLock { state in
            defer { if state.result != nil { state.waiters = [] } }
            return (state.result, state.result != nil ? state.waiters : [])
        }
        guard let result else { return }
        for waiter in waiters { waiter.resume(returning: result) }
    }
}
