/// Backoff and timeouts for keeping one device connected.
public struct ReconnectPolicy: Sendable, Hashable {
    /// Delay before the first retry, seconds.
    public var initialDelay: Double
    public var maximumDelay: Double
    public var multiplier: Double
    /// Connect() plus service resolution, seconds.
    public var connectTimeout: Double

    public init(
        initialDelay: Double = 1,
        maximumDelay: Double = 30,
        multiplier: Double = 2,
        connectTimeout: Double = 20
    ) {
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.multiplier = multiplier
        self.connectTimeout = connectTimeout
    }

    /// The wait before retry number `attempt` (1-based).
    public func delay(attempt: Int) -> Double {
        var delay = initialDelay
        for _ in 1..<max(1, attempt) {
            delay *= multiplier
            if delay >= maximumDelay { return maximumDelay }
        }
        return min(delay, maximumDelay)
    }
}

/// The reconnect logic for one device, free of I/O: events in, actions out. The BlueZ session runs the actions
/// and feeds back what happened; tests drive it directly.
public struct ReconnectMachine: Sendable {
    public enum State: Sendable, Equatable {
        case idle
        /// bluetoothd is not on the bus.
        case waitingForBlueZ
        /// BlueZ has no object for the device: scanning until it advertises.
        case waitingForDevice
        case connecting(attempt: Int)
        case connected(generation: Int)
        case backingOff(attempt: Int)
        case stopped
    }

    public enum Event: Sendable, Equatable {
        case start(bluezPresent: Bool, deviceKnown: Bool)
        case deviceAppeared
        case deviceRemoved
        case connectSucceeded
        case connectFailed
        /// Scanning could not start (adapter not there yet, bluetoothd busy).
        case scanFailed
        case disconnected
        case retryTimerFired
        case bluezVanished
        case bluezAppeared(deviceKnown: Bool)
        case stop
    }

    public enum Action: Sendable, Equatable {
        case connect
        /// Scan until the device's object appears.
        case scan
        case stopScan
        case scheduleRetry(seconds: Double)
        /// A new connection is usable: hand out a link tagged with this generation.
        case publishConnected(generation: Int)
        /// The connection of this generation is gone: every stream and callback tied to it must end.
        case publishDisconnected(generation: Int)
        case disconnect
    }

    public let policy: ReconnectPolicy
    public private(set) var state: State = .idle
    public private(set) var generation = 0
    private var deviceKnown = false

    public init(policy: ReconnectPolicy = ReconnectPolicy()) {
        self.policy = policy
    }

    public mutating func handle(_ event: Event) -> [Action] {
        if state == .stopped { return [] }
        switch (event, state) {
        case (.start(let bluezPresent, let known), .idle):
            deviceKnown = known
            if !bluezPresent {
                state = .waitingForBlueZ
                return []
            }
            return attempt(1)
        case (.stop, _):
            let wasLinked: Bool
            switch state {
            case .connected, .connecting: wasLinked = true
            default: wasLinked = false
            }
            var actions = lose()
            if wasLinked { actions.append(.disconnect) }
            if state == .waitingForDevice { actions.append(.stopScan) }
            state = .stopped
            return actions
        case (.bluezVanished, _):
            deviceKnown = false
            let actions = lose()
            state = .waitingForBlueZ
            return actions
        case (.bluezAppeared(let known), .waitingForBlueZ):
            deviceKnown = known
            return attempt(1)
        case (.deviceAppeared, .waitingForDevice):
            deviceKnown = true
            return [.stopScan] + attempt(1)
        case (.deviceAppeared, _):
            deviceKnown = true
            return []
        case (.deviceRemoved, .connected), (.deviceRemoved, .connecting):
            deviceKnown = false
            return lose() + backOff(1)
        case (.deviceRemoved, _):
            deviceKnown = false
            return []
        case (.connectSucceeded, .connecting):
            generation += 1
            state = .connected(generation: generation)
            return [.publishConnected(generation: generation)]
        case (.connectFailed, .connecting(let number)):
            return backOff(number)
        case (.scanFailed, .waitingForDevice):
            return backOff(1)
        case (.disconnected, .connected):
            return lose() + backOff(1)
        case (.retryTimerFired, .backingOff(let number)):
            return attempt(number + 1)
        default:
            // Late results of an abandoned attempt, timers of a past state: nothing to do.
            return []
        }
    }

    private mutating func attempt(_ number: Int) -> [Action] {
        if deviceKnown {
            state = .connecting(attempt: number)
            return [.connect]
        }
        state = .waitingForDevice
        return [.scan]
    }

    private mutating func backOff(_ number: Int) -> [Action] {
        state = .backingOff(attempt: number)
        return [.scheduleRetry(seconds: policy.delay(attempt: number))]
    }

    /// Ends the current connection, if any.
    private mutating func lose() -> [Action] {
        if case .connected(let current) = state {
            state = .idle
            return [.publishDisconnected(generation: current)]
        }
        return []
    }
}
