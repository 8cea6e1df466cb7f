import BoothCore

/// One change of the device list, as the session API forwards it.
public enum DeviceChange: Sendable, Hashable {
    case updated(DeviceStatus)
    case removed(id: String)
}

/// The live list of devices. The device supervisor writes it; the session API reads a snapshot on connect
/// and then follows `changes()`.
public actor DeviceRegistry {
    private var devices: [String: DeviceStatus] = [:]
    private var subscribers: [Int: AsyncStream<DeviceChange>.Continuation] = [:]
    private var nextSubscriber = 0
    /// Changes buffered per subscriber; a subscriber that falls further behind loses the oldest changes
    /// (device state is a "latest value" feed: it re-reads `snapshot()` when it needs the whole list).
    private let bufferPerSubscriber: Int

    public init(bufferPerSubscriber: Int = 256) {
        self.bufferPerSubscriber = bufferPerSubscriber
    }

    /// Adds or replaces a device's status. Identical statuses are not re-broadcast.
    public func update(_ status: DeviceStatus) {
        guard devices[status.id] != status else { return }
        devices[status.id] = status
        broadcast(.updated(status))
    }

    /// Forgets a device.
    public func remove(id: String) {
        guard devices.removeValue(forKey: id) != nil else { return }
        broadcast(.removed(id: id))
    }

    /// Every known device, sorted by id.
    public func snapshot() -> [DeviceStatus] {
        devices.values.sorted { $0.id < $1.id }
    }

    public func status(id: String) -> DeviceStatus? {
        devices[id]
    }

    /// A stream of every later change; it ends when the caller stops iterating.
    public func changes() -> AsyncStream<DeviceChange> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: DeviceChange.self,
            bufferingPolicy: .bufferingNewest(bufferPerSubscriber)
        )
        let key = nextSubscriber
        nextSubscriber += 1
        subscribers[key] = continuation
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            Task { await self.unsubscribe(key) }
        }
        return stream
    }

    private func unsubscribe(_ key: Int) {
        subscribers.removeValue(forKey: key)
    }

    private func broadcast(_ change: DeviceChange) {
        for continuation in subscribers.values { continuation.yield(change) }
    }
}
