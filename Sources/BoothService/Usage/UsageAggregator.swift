import BoothCore
import Foundation
import Logging
import ServiceLifecycle

/// Keeps the usage statistics up to date: follows the outbox's durable event stream from the statistics' own
/// cursor (catching up on what it missed while boothd was stopped or while it lagged), and counts device
/// failures and connections from the device registry (a device entering the error state; a device becoming
/// ready from not connected).
public struct UsageAggregator: Service {
    let statistics: UsageStatistics
    let outbox: Outbox
    let registry: DeviceRegistry
    let logger: Logger
    let now: @Sendable () -> Int64

    public init(
        statistics: UsageStatistics,
        outbox: Outbox,
        registry: DeviceRegistry,
        logger: Logger,
        now: @escaping @Sendable () -> Int64 = Outbox.currentMicros
    ) {
        self.statistics = statistics
        self.outbox = outbox
        self.registry = registry
        self.logger = logger
        self.now = now
    }

    public func run() async throws {
        guard statistics.unavailableReason == nil else {
            // A service that returns stops boothd's whole service group: without statistics boothd still serves.
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await followEvents() }
                group.addTask { await followDevices() }
            }
        }
    }

    /// Counts every stored event after the cursor; returns when the outbox has nothing newer.
    public func catchUp() async {
        while !Task.isCancelled {
            do {
                let page = try await outbox.events(after: statistics.cursor, limit: 256)
                if page.isEmpty { return }
                try statistics.apply(page)
                if page.count < 256 { return }
            } catch {
                logger.warning("usage statistics cannot read the outbox yet", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(5))
                return
            }
        }
    }

    func followEvents() async {
        // Subscribe first so that nothing committed during the catch-up is missed.
        let live = outbox.subscribe()
        await catchUp()
        for await event in live where event.id > statistics.cursor {
            if event.id == statistics.cursor + 1 {
                do {
                    try statistics.apply([event])
                    continue
                } catch {
                    logger.warning("usage statistics not updated", metadata: ["error": "\(error)"])
                }
            }
            // A gap (this subscriber fell behind, or a write failed): read the rest back from the outbox.
            await catchUp()
        }
    }

    func followDevices() async {
        let changes = await registry.changes()
        var states: [String: DeviceState] = [:]
        for status in await registry.snapshot() {
            statistics.noteDevice(id: status.id, role: status.role, model: status.model)
            states[status.id] = status.state
            // Connected before the statistics started following (boothd's own start): a connection all the same.
            if Self.isConnected(status.state) { count(.connection, status) }
        }
        for await change in changes {
            guard case .updated(let status) = change else { continue }
            statistics.noteDevice(id: status.id, role: status.role, model: status.model)
            let previous = states.updateValue(status.state, forKey: status.id)
            if case .error = status.state {
                if case .error = previous { continue }
                count(.failure, status)
            } else if Self.isConnected(status.state) && !(previous.map(Self.isConnected) ?? false) {
                count(.connection, status)
            }
        }
    }

    /// Ready or measuring: the device is connected and usable.
    static func isConnected(_ state: DeviceState) -> Bool {
        switch state {
        case .ready, .measuring: true
        default: false
        }
    }

    private enum Counted { case failure, connection }

    private func count(_ what: Counted, _ status: DeviceStatus) {
        do {
            switch what {
            case .failure:
                try statistics.recordFailure(
                    deviceID: status.id,
                    role: status.role,
                    model: status.model,
                    atMicros: now()
                )
            case .connection:
                try statistics.recordConnection(
                    deviceID: status.id,
                    role: status.role,
                    model: status.model,
                    atMicros: now()
                )
            }
        } catch {
            logger.warning("usage statistics: \(what) not counted", metadata: ["error": "\(error)"])
        }
    }
}
