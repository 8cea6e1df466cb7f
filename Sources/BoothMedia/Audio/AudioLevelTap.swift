import BoothCore
import Synchronization

/// Hands what the pipeline produces (level readings, live Opus packets) to any number of listeners (the session
/// API's level meter, a recording's monitor, the live WebRTC audio), each through its own small buffer: a listener
/// that does not keep up loses the oldest elements, never the pipeline's time. `events` and `opusPackets` stay the
/// pipeline's single-consumer streams; these are the shared ones.
final class BroadcastTap<Element: Sendable>: Sendable {
    private struct State {
        var listeners: [Int: AsyncStream<Element>.Continuation] = [:]
        var next = 0
        var finished = false
    }

    private let state = Mutex(State())

    /// A new listener's stream: readings from now on, ending when the pipeline stops.
    func listen(buffer: Int) -> AsyncStream<Element> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: Element.self,
            bufferingPolicy: .bufferingNewest(max(buffer, 1))
        )
        let key = state.withLock { state -> Int? in
            guard !state.finished else { return nil }
            state.next += 1
            state.listeners[state.next] = continuation
            return state.next
        }
        guard let key else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.listeners.removeValue(forKey: key) }
        }
        return stream
    }

    func publish(_ element: Element) {
        let listeners = state.withLock { Array($0.listeners.values) }
        for listener in listeners { listener.yield(element) }
    }

    func finish() {
        let listeners = state.withLock { state in
            state.finished = true
            defer { state.listeners = [:] }
            return Array(state.listeners.values)
        }
        for listener in listeners { listener.finish() }
    }

    var listenerCount: Int { state.withLock { $0.listeners.count } }
}

typealias AudioLevelTap = BroadcastTap<AudioLevel>
