import BoothCore
import BoothMedia
import Foundation

/// Opens a stethoscope's capture for one recording (an ALSA device, or the simulator's synthetic heart sound).
public protocol StethoscopeCaptureSource: Sendable {
    /// The device's default filter mode (from its profile).
    var defaultMode: StethoscopeMode { get }
    /// Starts a capture pipeline in `mode`; audio flows when this returns.
    func open(mode: StethoscopeMode) async throws(StethoscopeError) -> StethoscopeCapture
    /// Opens the capture for a recording, which keeps `mode` while it runs (`open` unless the source is shared).
    func openForRecording(mode: StethoscopeMode) async throws(StethoscopeError) -> StethoscopeCapture
    /// Whether every `open` borrows one shared capture (then nobody has to let go of the device for another).
    var sharesCapture: Bool { get }
}

extension StethoscopeCaptureSource {
    public func openForRecording(mode: StethoscopeMode) async throws(StethoscopeError) -> StethoscopeCapture {
        try await open(mode: mode)
    }

    public var sharesCapture: Bool { false }
}

/// A running capture: its pipeline, and how to end it (stops any feeder, then the pipeline).
public struct StethoscopeCapture: Sendable {
    public var pipeline: StethoscopePipeline
    public var info: AudioStreamInfo
    public var close: @Sendable () async -> Void

    public init(pipeline: StethoscopePipeline, info: AudioStreamInfo, close: @escaping @Sendable () async -> Void) {
        self.pipeline = pipeline
        self.info = info
        self.close = close
    }
}

/// An ALSA capture device through `alsasrc`, at the profile's rate and channels.
public struct AlsaStethoscopeSource: StethoscopeCaptureSource {
    public var device: String
    public var sampleRate: Int?
    public var channels: Int?
    public var defaultMode: StethoscopeMode

    public init(device: String, sampleRate: Int? = nil, channels: Int? = nil, defaultMode: StethoscopeMode = .bell) {
        self.device = device
        self.sampleRate = sampleRate
        self.channels = channels
        self.defaultMode = defaultMode
    }

    public func open(mode: StethoscopeMode) async throws(StethoscopeError) -> StethoscopeCapture {
        let pipeline = StethoscopePipeline(
            configuration: StethoscopeConfiguration(
                source: .alsa(device: device),
                sampleRate: sampleRate,
                channels: channels,
                mode: mode
            )
        )
        let info = try await pipeline.start()
        return StethoscopeCapture(pipeline: pipeline, info: info) { await pipeline.stop() }
    }
}

/// A device whose capture one `StethoscopeCaptureOwner` shares: the level meter, recordings and the live WebRTC
/// audio (`StethoscopeLiveSource(owner:)`) borrow the same running pipeline, so none of them gets `device_busy`
/// because another holds the device. Each `open` is a lease; its `close` gives it back.
public struct SharedStethoscopeSource: StethoscopeCaptureSource {
    public let owner: StethoscopeCaptureOwner
    public var defaultMode: StethoscopeMode { owner.configuration.mode }
    public var sharesCapture: Bool { true }

    public init(owner: StethoscopeCaptureOwner) {
        self.owner = owner
    }

    /// A real ALSA device through `alsasrc` at the profile's rate and channels, shared.
    public init(alsa: AlsaStethoscopeSource) {
        self.owner = StethoscopeCaptureOwner(
            configuration: StethoscopeConfiguration(
                source: .alsa(device: alsa.device),
                sampleRate: alsa.sampleRate,
                channels: alsa.channels,
                mode: alsa.defaultMode
            )
        )
    }

    public func open(mode: StethoscopeMode) async throws(StethoscopeError) -> StethoscopeCapture {
        try await borrow(mode: mode, holdingMode: false)
    }

    public func openForRecording(mode: StethoscopeMode) async throws(StethoscopeError) -> StethoscopeCapture {
        try await borrow(mode: mode, holdingMode: true)
    }

    private func borrow(
        mode: StethoscopeMode,
        holdingMode: Bool
    ) async throws(StethoscopeError)
        -> StethoscopeCapture
    {
        let owner = self.owner
        let lease = try await owner.acquire(mode: mode, holdingMode: holdingMode)
        return StethoscopeCapture(pipeline: lease.pipeline, info: lease.info) { await owner.release(lease) }
    }
}

/// The simulator's stethoscope: a synthetic heart sound (S1/S2 bursts at a steady rate over faint noise) pushed
/// in real time into the same pipeline a real device uses.
public struct SimulatedStethoscopeSource: StethoscopeCaptureSource {
    public var sampleRate: Int
    public var beatsPerMinute: Double
    public var defaultMode: StethoscopeMode { .bell }

    public init(sampleRate: Int = 48000, beatsPerMinute: Double = 72) {
        self.sampleRate = sampleRate
        self.beatsPerMinute = beatsPerMinute
    }

    public func open(mode: StethoscopeMode) async throws(StethoscopeError) -> StethoscopeCapture {
        let pipeline = StethoscopePipeline(
            configuration: StethoscopeConfiguration(source: .pushed, sampleRate: sampleRate, channels: 1, mode: mode)
        )
        let info = try await pipeline.start()
        let rate = sampleRate
        let bpm = beatsPerMinute
        let feeder = Task {
            var sound = SimulatedHeartSound(sampleRate: rate, beatsPerMinute: bpm)
            let block = rate / 20  // 50 ms
            let clock = ContinuousClock()
            var next = clock.now
            while !Task.isCancelled {
                do {
                    try await pipeline.push(sound.next(block))
                } catch {
                    return
                }
                next += .milliseconds(50)
                try? await clock.sleep(until: next)
            }
        }
        return StethoscopeCapture(pipeline: pipeline, info: info) {
            feeder.cancel()
            _ = await feeder.value
            await pipeline.stop()
        }
    }
}

/// A continuous synthetic phonocardiogram: S1 (~45 Hz, 90 ms) then S2 (~75 Hz, 60 ms) each beat, the systolic
/// interval shortening with the rate as in a real heart, over faint deterministic noise.
struct SimulatedHeartSound {
    let sampleRate: Int
    let beatsPerMinute: Double
    var position = 0
    var noiseState: UInt64 = 0x5EED_1234_ABCD_0001

    init(sampleRate: Int, beatsPerMinute: Double) {
        self.sampleRate = sampleRate
        self.beatsPerMinute = beatsPerMinute
    }

    mutating func next(_ count: Int) -> [Float] {
        let period = 60 / beatsPerMinute
        let systole = 0.1 + 0.25 * period
        var output = [Float](repeating: 0, count: count)
        for index in 0..<count {
            let time = Double(position + index) / Double(sampleRate)
            let phase = time.truncatingRemainder(dividingBy: period)
            var value = Self.burst(phase, duration: 0.09, frequency: 45) * 0.3
            value += Self.burst(phase - systole, duration: 0.06, frequency: 75) * 0.21
            noiseState ^= noiseState << 13
            noiseState ^= noiseState >> 7
            noiseState ^= noiseState << 17
            value += 0.004 * (Double(noiseState % 2001) / 1000 - 1)
            output[index] = Float(value)
        }
        position += count
        return output
    }

    /// A Hann-windowed tone burst starting at offset 0.
    static func burst(_ offset: Double, duration: Double, frequency: Double) -> Double {
        guard offset >= 0, offset < duration else { return 0 }
        let window = 0.5 - 0.5 * cos(2 * Double.pi * offset / duration)
        return window * sin(2 * Double.pi * frequency * offset)
    }
}
