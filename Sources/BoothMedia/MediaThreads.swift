import Foundation
import Synchronization

/// Counters that let tests check teardown leaves nothing behind.
enum MediaDiagnostics {
    /// GStreamer elements created by boothd and not yet finalized (tracked with GObject weak references).
    static let liveElements = Atomic<Int>(0)
    /// Dedicated threads started by BoothMedia that have not exited.
    static let liveThreads = Atomic<Int>(0)
    /// When set (tests), elements and threads created in this task are also counted here, so a leak check
    /// is not disturbed by pipelines that other tests run at the same time in the same process.
    @TaskLocal static var tally: MediaTally?
}

/// Elements and threads of one scope (see `MediaDiagnostics.tally`).
final class MediaTally: Sendable {
    let elements = Atomic<Int>(0)
    let threads = Atomic<Int>(0)
}

/// Fans values out to any number of AsyncStream subscribers; a slow subscriber only loses its own oldest values.
final class Broadcaster<Element: Sendable>: Sendable {
    private struct State {
        var nextID = 0
        var subscribers: [Int: AsyncStream<Element>.Continuation] = [:]
        var finished = false
    }
    private let state = Mutex(State())
    private let buffering: Int

    init(bufferingNewest buffering: Int) {
        self.buffering = buffering
    }

    /// A new subscriber's stream; `onEnd` runs once when it ends (consumer gone, cancelled or `finish()`).
    func subscribe(onEnd: (@Sendable () -> Void)? = nil) -> AsyncStream<Element> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: Element.self,
            bufferingPolicy: .bufferingNewest(buffering)
        )
        let id: Int? = state.withLock { state in
            guard !state.finished else { return nil }
            let id = state.nextID
            state.nextID += 1
            state.subscribers[id] = continuation
            return id
        }
        guard let id else {
            continuation.finish()
            onEnd?()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
            onEnd?()
        }
        return stream
    }

    var hasSubscribers: Bool { state.withLock { !$0.subscribers.isEmpty } }

    func yield(_ element: Element) {
        let subscribers = state.withLock { Array($0.subscribers.values) }
        for subscriber in subscribers { subscriber.yield(element) }
    }

    func finish() {
        let subscribers = state.withLock { state in
            state.finished = true
            defer { state.subscribers = [:] }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.finish() }
    }
}

/// Dedicated OS threads for blocking C calls (appsink pulls, bus pops), joined asynchronously.
final class ThreadGroup: Sendable {
    private struct State {
        var running = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    func spawn(name: String, _ body: @escaping @Sendable () -> Void) {
        state.withLock { $0.running += 1 }
        MediaDiagnostics.liveThreads.add(1, ordering: .relaxed)
        let tally = MediaDiagnostics.tally
        tally?.threads.add(1, ordering: .relaxed)
        let thread = Thread { [self] in
            body()
            MediaDiagnostics.liveThreads.subtract(1, ordering: .relaxed)
            tally?.threads.subtract(1, ordering: .relaxed)
            let waiters = state.withLock { state in
                state.running -= 1
                guard state.running == 0 else { return [CheckedContinuation<Void, Never>]() }
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
        thread.name = name
        thread.start()
    }

    /// Returns once every spawned thread has returned from its body.
    func join() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state in
                if state.running == 0 { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }
}

/// Runs a blocking call (a GStreamer state change) on its own thread so the cooperative pool never blocks.
func runBlocking<T: Sendable>(name: String, _ body: @escaping @Sendable () -> T) async -> T {
    let group = ThreadGroup()
    let result = Mutex<T?>(nil)
    group.spawn(name: name) {
        let value = body()
        result.withLock { $0 = value }
    }
    await group.join()
    return result.withLock { value in
        guard let value else { preconditionFailure("runBlocking body returned without a value") }
        return value
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}
