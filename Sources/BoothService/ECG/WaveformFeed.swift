import BoothCore
import Foundation
import Synchronization

/// One published chunk: which device, its place in the device's sequence, and the chunk.
public struct WaveformItem: Sendable, Hashable {
    public var deviceID: String
    /// 1, 2, 3 … per device for the life of this boothd process (`WaveformFeed.streamID`); contiguous.
    public var seq: UInt64
    public var chunk: WaveformChunk

    public init(deviceID: String, seq: UInt64, chunk: WaveformChunk) {
        self.deviceID = deviceID
        self.seq = seq
        self.chunk = chunk
    }
}

/// Live waveforms (ECG) from the device drivers to the session API and the strip recorder.
///
/// Waveform chunks are live display data, not records: they are kept in memory only, in a ring per device
/// (`capacity` chunks, about a minute), numbered `seq` 1, 2, 3 … within `streamID` (new at every boothd start).
/// A client resumes after a reconnect by asking for the chunks after the last `seq` it saw; what the ring no longer
/// holds is reported as skipped, never invented. What is clinically kept — heart rate, RR intervals and strips — goes
/// through the durable outbox (docs/ecg.md explains the choice).
public final class WaveformFeed: Sendable {
    /// Identifies this feed's numbering: a client holding a `seq` from another stream (boothd restarted) starts live.
    public let streamID: String
    public let capacity: Int

    private struct DeviceRing {
        var items: [WaveformItem] = []
        var nextSeq: UInt64 = 1
        /// Who the device is (for strips of devices found at run time).
        var identity: DeviceIdentity?
    }

    private struct State {
        var rings: [String: DeviceRing] = [:]
        var listeners: [Int: @Sendable () -> Void] = [:]
        var nextListener = 0
    }

    private let state = Mutex(State())

    public init(capacity: Int = 256, streamID: String = String(UUID().uuidString.prefix(8)).lowercased()) {
        self.capacity = max(1, capacity)
        self.streamID = streamID
    }

    /// Publishes one chunk for `deviceID` and wakes every listener; returns it with its sequence number.
    @discardableResult
    public func publish(deviceID: String, _ chunk: WaveformChunk, device: DeviceIdentity? = nil) -> WaveformItem {
        let (item, listeners) = state.withLock { state -> (WaveformItem, [@Sendable () -> Void]) in
            var ring = state.rings[deviceID] ?? DeviceRing()
            if let device { ring.identity = device }
            let item = WaveformItem(deviceID: deviceID, seq: ring.nextSeq, chunk: chunk)
            ring.nextSeq += 1
            ring.items.append(item)
            if ring.items.count > capacity { ring.items.removeFirst(ring.items.count - capacity) }
            state.rings[deviceID] = ring
            return (item, Array(state.listeners.values))
        }
        for listener in listeners { listener() }
        return item
    }

    /// Devices that have published, sorted.
    public var deviceIDs: [String] { state.withLock { $0.rings.keys.sorted() } }

    /// The last sequence number published for a device (0: none yet).
    public func lastSeq(deviceID: String) -> UInt64 {
        state.withLock { ($0.rings[deviceID]?.nextSeq ?? 1) - 1 }
    }

    /// The identity the supervisor published a device's chunks with, if any.
    public func identity(deviceID: String) -> DeviceIdentity? {
        state.withLock { $0.rings[deviceID]?.identity }
    }

    /// The newest chunk of a device, if any.
    public func latest(deviceID: String) -> WaveformItem? {
        state.withLock { $0.rings[deviceID]?.items.last }
    }

    /// Chunks of a device after `seq`, oldest first, at most `limit`; `firstAvailable` is the oldest seq the ring
    /// still holds (a client that asks for older ones skipped `firstAvailable − seq − 1` chunks).
    public func items(
        deviceID: String,
        after seq: UInt64,
        limit: Int = .max
    )
        -> (items: [WaveformItem], firstAvailable: UInt64?)
    {
        state.withLock { state in
            guard let ring = state.rings[deviceID] else { return ([], nil) }
            let first = ring.items.first?.seq
            guard let first else { return ([], nil) }
            let start = seq >= first ? Int(seq - first + 1) : 0
            guard start < ring.items.count else { return ([], first) }
            return (Array(ring.items[start..<(start + min(max(0, limit), ring.items.count - start))]), first)
        }
    }

    /// Calls `wake` after every publish (from the publishing task: it must only signal, never block).
    public func addListener(_ wake: @escaping @Sendable () -> Void) -> Int {
        state.withLock { state in
            let key = state.nextListener
            state.nextListener += 1
            state.listeners[key] = wake
            return key
        }
    }

    public func removeListener(_ key: Int) {
        _ = state.withLock { $0.listeners.removeValue(forKey: key) }
    }

    /// A stream that yields (coalesced) whenever something is published; it ends when the caller stops iterating.
    public func wakeups() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let key = addListener { continuation.yield() }
        continuation.onTermination = { [weak self] _ in self?.removeListener(key) }
        return stream
    }
}
