import BoothCore
import Synchronization

/// An in-memory GATT peripheral: the simulator's stand-in for a BLE device, behind the same `GATTLink`
/// protocol BlueZ implements, so the real driver and decoder code runs on simulated bytes.
public final class SimulatedGATTPeripheral: GATTLink {
    /// A characteristic that notifies: every `interval`, `produce` is asked for the next value.
    public struct Emitter: Sendable {
        public var interval: Duration
        /// Delay before the first value (a device measures soon after it connects).
        public var firstAfter: Duration
        public var produce: @Sendable () -> [UInt8]

        public init(interval: Duration, firstAfter: Duration? = nil, produce: @escaping @Sendable () -> [UInt8]) {
            self.interval = interval
            self.firstAfter = firstAfter ?? interval
            self.produce = produce
        }
    }

    private let readable: [GATTUUID: [UInt8]]
    private let emitters: [GATTUUID: Emitter]
    private let writes = Mutex<[(GATTUUID, [UInt8])]>([])
    /// `measurement.start` rings it (read now); `measurement.stop` pauses the periodic readings.
    private let doorbell = Doorbell()
    private let paused = Mutex(false)

    public init(readable: [GATTUUID: [UInt8]], emitters: [GATTUUID: Emitter]) {
        self.readable = readable
        self.emitters = emitters
    }

    public func read(_ characteristic: GATTUUID) async throws -> [UInt8] {
        guard let value = readable[characteristic] else {
            throw SimulatedLinkError.noSuchCharacteristic(characteristic)
        }
        return value
    }

    public func write(_ characteristic: GATTUUID, _ value: [UInt8], withResponse: Bool) async throws {
        writes.withLock { $0.append((characteristic, value)) }
    }

    /// What drivers wrote, in order (tests check the Current Time write, RACP requests ...).
    public var writtenValues: [(GATTUUID, [UInt8])] {
        writes.withLock { $0 }
    }

    public func notifications(_ characteristic: GATTUUID) async throws -> AsyncThrowingStream<[UInt8], any Error> {
        guard let emitter = emitters[characteristic] else {
            throw SimulatedLinkError.notNotifiable(characteristic)
        }
        return AsyncThrowingStream { continuation in
            let task = Task { [doorbell] in
                var delay = emitter.firstAfter
                while !Task.isCancelled {
                    let rung = await doorbell.wait(upTo: delay)
                    if Task.isCancelled { break }
                    delay = emitter.interval
                    if rung || !self.isPaused {
                        continuation.yield(emitter.produce())
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

extension SimulatedGATTPeripheral: MeasurementControl {
    /// Takes a reading now and resumes the periodic ones.
    public func startMeasurement() async throws {
        paused.withLock { $0 = false }
        doorbell.ring()
    }

    var isPaused: Bool { paused.withLock { $0 } }

    /// Pauses the periodic readings until the next start.
    public func stopMeasurement() async throws {
        paused.withLock { $0 = true }
    }
}

/// Wakes one waiter early; a ring with nobody waiting is kept for the next wait.
final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var waiter: CheckedContinuation<Bool, Never>?
        /// Counts waits, so that a late timer cannot wake a later wait.
        var generation = 0
        /// The generation whose time ran out before it started waiting.
        var expired = 0
    }
    private let state = Mutex(State())

    func ring() {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            guard let waiter = state.waiter else {
                state.rung = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: true)
    }

    /// Waits until rung (true) or until `duration` has passed or the task is cancelled (false).
    func wait(upTo duration: Duration) async -> Bool {
        let generation = state.withLock { state in
            state.generation += 1
            return state.generation
        }
        let timer = Task { [weak self] in
            try? await Task.sleep(for: duration)
            self?.wake(generation: generation)
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let immediate = state.withLock { state -> Bool? in
                    if state.rung {
                        state.rung = false
                        return true
                    }
                    if Task.isCancelled || state.expired == generation { return false }
                    state.waiter = continuation
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            wake(generation: generation)
        }
    }

    private func wake(generation: Int) {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            guard state.generation == generation else { return nil }
            guard let waiter = state.waiter else {
                state.expired = generation
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: false)
    }
}

public enum SimulatedLinkError: Error, Equatable, CustomStringConvertible {
    case noSuchCharacteristic(GATTUUID)
    case notNotifiable(GATTUUID)
    case notWritable(GATTUUID)
    /// The simulated device dropped the link.
    case disconnected

    public var description: String {
        switch self {
        case .noSuchCharacteristic(let uuid): "simulated device has no characteristic \(uuid)"
        case .notNotifiable(let uuid): "simulated characteristic \(uuid) does not notify"
        case .notWritable(let uuid): "simulated characteristic \(uuid) is not writable"
        case .disconnected: "simulated device disconnected"
        }
    }
}
