import BoothCore
import Foundation
import Synchronization

/// An in-memory Polar-H10-like chest strap behind `GATTLink`: Heart Rate Measurement (0x2A37) notifications with
/// RR intervals, and the PMD service (control point + ECG data frames) streaming a synthetic ECG at a known heart
/// rate, all as the real bytes (`HeartRateMeasurement.encoded()`, `PolarPMDECGFrame.encoded()`), so boothd's driver,
/// decoders, chunker and strip recorder run exactly as on the strap.
///
/// Frames carry `samplesPerFrame` samples (33 at 130 Hz ≈ 254 ms), paced by the wall clock (`speed` × faster for
/// tests) and stamped on the Polar clock (ns since 2000-01-01, the last sample of the frame).
public final class SimulatedPolarH10: GATTLink {
    public let ecg: SyntheticECG
    public let samplesPerFrame: Int
    /// Seconds between two heart-rate notifications (device time).
    public let heartRateInterval: Double
    /// Time runs `speed` × faster than the wall clock (tests); 1 in boothd.
    public let speed: Double

    private struct State {
        var contact = true
        var flat = false
        var dropFrames: Set<Int> = []
        var streaming = false
        var generator: Task<Void, Never>?
        var heartRateTask: Task<Void, Never>?
        var control: [AsyncThrowingStream<[UInt8], any Error>.Continuation] = []
        var data: [AsyncThrowingStream<[UInt8], any Error>.Continuation] = []
        var heartRate: [AsyncThrowingStream<[UInt8], any Error>.Continuation] = []
        var writes: [(GATTUUID, [UInt8])] = []
        var framesSent = 0
        var disconnected = false
    }

    private let state = Mutex(State())
    private let readable: [GATTUUID: [UInt8]]

    public init(
        heartRate: Double = 72,
        samplesPerFrame: Int = 33,
        heartRateInterval: Double = 1,
        speed: Double = 1,
        model: String = "Simulated Polar H10"
    ) {
        ecg = SyntheticECG(heartRate: heartRate, sampleRateHz: Double(PolarPMD.h10ECGSampleRate))
        self.samplesPerFrame = max(1, samplesPerFrame)
        self.heartRateInterval = heartRateInterval
        self.speed = max(0.01, speed)
        readable = [
            GATTUUID(0x2A19): [88],
            GATTUUID(0x2A24): Array(model.utf8),
            GATTUUID(0x2A25): Array("SIM-ECG-1".utf8),
            GATTUUID(0x2A26): Array("sim-1.0".utf8),
            BodySensorLocation.characteristic: [BodySensorLocation.chest.rawValue],
        ]
    }

    deinit {
        state.withLock { state in
            state.generator?.cancel()
            state.heartRateTask?.cancel()
        }
    }

    // MARK: test and simulator controls

    /// Skin contact as the strap reports it in 0x2A37 (off: contact-lost flags, and a flat ECG).
    public func setContact(_ contact: Bool) {
        state.withLock { $0.contact = contact }
    }

    /// A flat ECG signal while the strap keeps saying it is in contact (a saturated or shorted input).
    public func setFlat(_ flat: Bool) {
        state.withLock { $0.flat = flat }
    }

    /// Frames (0-based index since the ECG start) that are generated but never notified, to exercise gap marking.
    public func dropFrames(_ indices: Set<Int>) {
        state.withLock { $0.dropFrames = indices }
    }

    /// Drops the link: every notification stream ends with an error, as when the strap goes out of range.
    public func disconnect() {
        let continuations = state.withLock { state in
            state.disconnected = true
            state.generator?.cancel()
            state.heartRateTask?.cancel()
            return state.control + state.data + state.heartRate
        }
        for continuation in continuations { continuation.finish(throwing: SimulatedLinkError.disconnected) }
    }

    /// ECG frames notified so far.
    public var framesSent: Int { state.withLock { $0.framesSent } }

    /// What the driver wrote, in order.
    public var writtenValues: [(GATTUUID, [UInt8])] { state.withLock { $0.writes } }

    // MARK: GATTLink

    public func read(_ characteristic: GATTUUID) async throws -> [UInt8] {
        guard let value = readable[characteristic] else {
            throw SimulatedLinkError.noSuchCharacteristic(characteristic)
        }
        return value
    }

    public func write(_ characteristic: GATTUUID, _ value: [UInt8], withResponse: Bool) async throws {
        let (control, start, stop) = try state.withLock { state in
            if state.disconnected { throw SimulatedLinkError.disconnected }
            state.writes.append((characteristic, value))
            guard characteristic == PolarPMD.controlPoint, value.count >= 2 else {
                return ([AsyncThrowingStream<[UInt8], any Error>.Continuation](), false, false)
            }
            let isStart = value[0] == PolarPMD.OpCode.startMeasurement.rawValue
            let isStop = value[0] == PolarPMD.OpCode.stopMeasurement.rawValue
            return (state.control, isStart && !state.streaming, isStop && state.streaming)
        }
        guard characteristic == PolarPMD.controlPoint, value.count >= 2 else {
            throw SimulatedLinkError.notWritable(characteristic)
        }
        var error: UInt8 = 0
        if value[0] == PolarPMD.OpCode.startMeasurement.rawValue {
            // Only ECG at the native rate is offered, as on the H10.
            if value[1] != PolarPMD.MeasurementType.ecg.rawValue {
                error = 3
            } else if value != PolarPMD.startECG() {
                error = 5
            } else if !start {
                error = 6
            }
        }
        if value[0] == PolarPMD.OpCode.stopMeasurement.rawValue, !stop { error = 6 }
        let answer: [UInt8] = [0xF0, value[0], value[1], error, 0]
        for continuation in control { continuation.yield(answer) }
        if error == 0, start { startStreaming() }
        if error == 0, stop {
            state.withLock { state in
                state.streaming = false
                state.generator?.cancel()
                state.generator = nil
            }
        }
    }

    public func notifications(_ characteristic: GATTUUID) async throws -> AsyncThrowingStream<[UInt8], any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: [UInt8].self, throwing: (any Error).self)
        let startHeartRate = try state.withLock { state -> Bool in
            if state.disconnected { throw SimulatedLinkError.disconnected }
            switch characteristic {
            case PolarPMD.controlPoint: state.control.append(continuation)
            case PolarPMD.data: state.data.append(continuation)
            case HeartRateMeasurement.characteristic:
                state.heartRate.append(continuation)
                return state.heartRateTask == nil
            default: throw SimulatedLinkError.notNotifiable(characteristic)
            }
            return false
        }
        if startHeartRate { startHeartRateNotifications() }
        return stream
    }

    // MARK: generators

    private func startStreaming() {
        let origin = Date().timeIntervalSince1970
        let task = Task { [weak self, ecg, samplesPerFrame, speed] in
            let clock = ContinuousClock()
            let started = clock.now
            // Polar clock: ns since 2000-01-01 of the first sample.
            let firstNanos = Int64(((origin - Double(PolarPMD.epochOffsetSeconds)) * 1e9).rounded())
            let rate = ecg.sampleRateHz
            var frame = 0
            while !Task.isCancelled {
                let firstSample = frame * samplesPerFrame
                let due = started + .seconds(Double(firstSample + samplesPerFrame) / rate / speed)
                do { try await clock.sleep(until: due) } catch { return }
                guard let self else { return }
                let (flat, contact, drop, sinks) = self.state.withLock {
                    ($0.flat, $0.contact, $0.dropFrames.contains(frame), $0.data)
                }
                let samples: [Int32] =
                    flat || !contact
                    ? Array(repeating: 3, count: samplesPerFrame)
                    : ecg.samples(from: firstSample, count: samplesPerFrame)
                let lastNanos = firstNanos + Int64((Double(firstSample + samplesPerFrame - 1) * 1e9 / rate).rounded())
                let bytes = PolarPMDECGFrame(timestampNanos: UInt64(lastNanos), microvolts: samples).encoded()
                if !drop {
                    for sink in sinks { sink.yield(bytes) }
                    self.state.withLock { $0.framesSent += 1 }
                }
                frame += 1
            }
        }
        state.withLock { state in
            state.streaming = true
            state.generator = task
        }
    }

    private func startHeartRateNotifications() {
        let task = Task { [weak self, ecg, heartRateInterval, speed] in
            let clock = ContinuousClock()
            let started = clock.now
            var tick = 1
            var lastTime = 0.0
            while !Task.isCancelled {
                let now = Double(tick) * heartRateInterval
                do { try await clock.sleep(until: started + .seconds(now / speed)) } catch { return }
                guard let self else { return }
                let (contact, sinks) = self.state.withLock { ($0.contact, $0.heartRate) }
                // One RR interval per R peak in (lastTime, now], as a strap reports beats since its last notification.
                let beats = ecg.rPeakTimes(duration: now).filter { $0 > lastTime && $0 > ecg.beatPeriod / 2 }.count
                let value = HeartRateMeasurement(
                    heartRate: Int(ecg.heartRate.rounded()),
                    sensorContact: contact ? .detected : .notDetected,
                    rrIntervals1024: contact ? Array(repeating: ecg.rrInterval1024, count: beats) : []
                )
                for sink in sinks { sink.yield(value.encoded()) }
                lastTime = now
                tick += 1
            }
        }
        state.withLock { $0.heartRateTask = task }
    }
}

extension Simulator {
    /// The simulated ECG strap's heart rate (beats per minute): strips recorded from it show this mean heart rate.
    public static let ecgHeartRate = 72.0

    /// The heart-rate driver description of the simulated strap (its `customDriver` does the ECG).
    public static let heartRateDriver = GATTMeasurementDriver(
        id: "ble.hrs",
        role: .ecg,
        measurement: HeartRateMeasurement.characteristic,
        decoderKind: "2A37"
    )

    /// A Polar-H10-like strap (`sim:ecg`): heart rate + RR as measurements, a live ECG, strips on command.
    /// `onConnect` sees every new link (tests drop contact or disconnect through it).
    public static func ecgDevice(
        heartRate: Double = ecgHeartRate,
        speed: Double = 1,
        chunkSeconds: Double = 0.25,
        onConnect: (@Sendable (SimulatedPolarH10) -> Void)? = nil
    ) -> ManagedDevice {
        ManagedDevice.polarECG(identity: ecgIdentity, chunkSeconds: chunkSeconds) {
            let link = SimulatedPolarH10(heartRate: heartRate, speed: speed)
            onConnect?(link)
            return link
        }
    }

    public static let ecgIdentity = DeviceIdentity(
        id: "sim:ecg",
        transport: "simulated",
        model: "Simulated Polar H10",
        manufacturer: "boothd simulator",
        profile: "polar.h10"
    )
}
