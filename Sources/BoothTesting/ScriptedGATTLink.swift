import BoothCore
import Synchronization

/// A GATT peer for driver tests: fixed read values, a script answering each write with notifications (byte-exact
/// conversations such as RACP), every write recorded in order, and `end()` to drop the link.
public final class ScriptedGATTLink: GATTLink {
    public typealias Notification = (characteristic: GATTUUID, bytes: [UInt8])

    private struct State {
        var writes: [Notification] = []
        var reads: [GATTUUID] = []
        var streams: [GATTUUID: AsyncThrowingStream<[UInt8], any Error>.Continuation] = [:]
        /// Notifications for a characteristic nobody subscribed to: a test failure the test can see.
        var unsubscribed: [Notification] = []
        /// After `end()`: the device is gone, so nothing answers a write any more (a driver's poll timer may still
        /// fire once before it sees the streams end).
        var ended = false
    }

    private let readable: [GATTUUID: [UInt8]]
    private let absent: Set<GATTUUID>
    private let script: @Sendable (GATTUUID, [UInt8]) -> [Notification]
    private let state = Mutex(State())

    /// - Parameters:
    ///   - absent: characteristics the device does not have: subscribing to them throws, as over BlueZ.
    ///   - script: answers a write with the notifications the device sends back, in order.
    public init(
        readable: [GATTUUID: [UInt8]] = [:],
        absent: Set<GATTUUID> = [],
        script: @escaping @Sendable (GATTUUID, [UInt8]) -> [Notification] = { _, _ in [] }
    ) {
        self.readable = readable
        self.absent = absent
        self.script = script
    }

    public var writes: [Notification] { state.withLock { $0.writes } }
    public var reads: [GATTUUID] { state.withLock { $0.reads } }
    public var unsubscribed: [Notification] { state.withLock { $0.unsubscribed } }

    public func read(_ characteristic: GATTUUID) async throws -> [UInt8] {
        state.withLock { $0.reads.append(characteristic) }
        guard let value = readable[characteristic] else { throw ScriptedLinkError.noSuchCharacteristic(characteristic) }
        return value
    }

    public func write(_ characteristic: GATTUUID, _ value: [UInt8], withResponse: Bool) async throws {
        let ended = state.withLock { state in
            state.writes.append((characteristic, value))
            return state.ended
        }
        if !ended { send(script(characteristic, value)) }
    }

    public func notifications(_ characteristic: GATTUUID) async throws -> AsyncThrowingStream<[UInt8], any Error> {
        if absent.contains(characteristic) { throw ScriptedLinkError.noSuchCharacteristic(characteristic) }
        let (stream, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        state.withLock { $0.streams[characteristic] = continuation }
        return stream
    }

    /// Sends notifications now (a live reading).
    public func send(_ notifications: [Notification]) {
        for notification in notifications {
            let continuation = state.withLock { state in
                let continuation = state.streams[notification.characteristic]
                if continuation == nil { state.unsubscribed.append(notification) }
                return continuation
            }
            continuation?.yield(notification.bytes)
        }
    }

    /// The device goes away: every stream ends.
    public func end() {
        let all = state.withLock { state in
            state.ended = true
            defer { state.streams = [:] }
            return Array(state.streams.values)
        }
        for continuation in all { continuation.finish() }
    }
}

public enum ScriptedLinkError: Error, Equatable {
    case noSuchCharacteristic(GATTUUID)
}
