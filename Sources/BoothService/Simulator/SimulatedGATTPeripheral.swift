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
            let task = Task {
                var delay = emitter.firstAfter
                while !Task.isCancelled {
                    do {
                        try await Task.sleep(for: delay)
                    } catch {
                        break
                    }
                    delay = emitter.interval
                    continuation.yield(emitter.produce())
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
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
