import Synchronization

/// One connection's send queue, so that reading a client never waits on writing to it.
///
/// Everything a connection sends goes through here and one writer task drains it into the socket. Replies and
/// notices (`push`) are queued without waiting, up to `limitBytes`; a client that lets more pile up is not
/// reading and is closed (`overflowed`). Events wait for room (`pushEvent`, only the event pump calls it):
/// while a client is behind, its pump stops taking live events, its outbox subscription drops the oldest, and it
/// later replays the gap from the outbox ("resync"). Memory per connection is therefore bounded by
/// `limitBytes` plus one frame, whatever the client does.
final class OutboundQueue: Sendable {
    enum Frame: Sendable, Equatable {
        case text(String)
        /// A close frame; nothing queued after it is sent.
        case close(code: Int, reason: String)

        var bytes: Int {
            switch self {
            case .text(let text): text.utf8.count
            case .close(_, let reason): reason.utf8.count + 2
            }
        }
    }

    /// Replies and notices refused past this many queued bytes: the connection is closed.
    let limitBytes: Int
    /// Events are queued only while fewer bytes than this wait (half the limit), so replies keep room.
    let eventRoomBytes: Int

    private struct State {
        var frames: [Frame] = []
        var head = 0
        var bytes = 0
        /// No more frames accepted (closing, or the socket failed).
        var closed = false
        /// The socket failed or was closed: the writer stops and pending frames are dropped.
        var done = false
        var overflowed = false
        var writer: CheckedContinuation<Frame?, Never>?
        var roomWaiters: [CheckedContinuation<Bool, Never>] = []
        var writeStartedAt: ContinuousClock.Instant?
    }

    private let state = Mutex(State())

    init(limitBytes: Int) {
        self.limitBytes = limitBytes
        self.eventRoomBytes = max(limitBytes / 2, 1)
    }

    /// Queues a reply or notice without waiting. False when the queue is closed or over its limit (the queue
    /// is then marked `overflowed` and the caller closes the connection).
    @discardableResult
    func push(_ frame: Frame) -> Bool {
        push(frame, limited: true)
    }

    private func push(_ frame: Frame, limited: Bool) -> Bool {
        let outcome = state.withLock { state -> (accepted: Bool, writer: CheckedContinuation<Frame?, Never>?) in
            guard !state.closed else { return (false, nil) }
            if case .text = frame, limited, state.bytes + frame.bytes > limitBytes {
                state.overflowed = true
                return (false, nil)
            }
            if case .close = frame { state.closed = true }
            return (true, Self.enqueue(frame, into: &state))
        }
        outcome.writer?.resume(returning: frame)
        return outcome.accepted
    }

    /// Queues an event once fewer than `eventRoomBytes` wait. False when the connection is going away.
    func pushEvent(_ text: String) async -> Bool {
        while true {
            let ready = state.withLock { state -> Bool? in
                if state.closed { return nil }
                return state.bytes < eventRoomBytes
            }
            guard let ready else { return false }
            // Gated by room rather than by the limit: an event never closes the connection.
            if ready { return push(.text(text), limited: false) }
            let open = await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                    let resumeNow = state.withLock { state -> Bool? in
                        if state.closed || Task.isCancelled { return false }
                        if state.bytes < eventRoomBytes { return true }
                        state.roomWaiters.append(continuation)
                        return nil
                    }
                    if let resumeNow { continuation.resume(returning: resumeNow) }
                }
            } onCancel: {
                wakeRoomWaiters(open: false)
            }
            guard open, !Task.isCancelled else { return false }
        }
    }

    /// The next frame for the writer, nil when the queue is closed and drained, or done.
    func next() async -> Frame? {
        await withCheckedContinuation { (continuation: CheckedContinuation<Frame?, Never>) in
            let immediate = state.withLock { state -> Frame?? in
                if state.done { return .some(nil) }
                if state.head < state.frames.count {
                    let frame = state.frames[state.head]
                    state.head += 1
                    state.writeStartedAt = .now
                    return .some(frame)
                }
                if state.closed { return .some(nil) }
                state.writer = continuation
                return .none
            }
            if case .some(let frame) = immediate { continuation.resume(returning: frame) }
        }
    }

    /// The writer finished writing a frame of `bytes`: its bytes no longer count, and a waiting event pump may
    /// go on.
    func written(_ frame: Frame) {
        let waiters = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.bytes -= frame.bytes
            state.writeStartedAt = nil
            if state.head > 1024 && state.head * 2 > state.frames.count {
                state.frames.removeFirst(state.head)
                state.head = 0
            }
            guard state.bytes < eventRoomBytes else { return [] }
            defer { state.roomWaiters = [] }
            return state.roomWaiters
        }
        for waiter in waiters { waiter.resume(returning: true) }
    }

    /// Stop accepting frames; the writer sends what is queued, then stops.
    func finishInput() {
        let (writer, waiters) = state.withLock { state in
            state.closed = true
            defer {
                state.writer = nil
                state.roomWaiters = []
            }
            return (state.writer, state.roomWaiters)
        }
        writer?.resume(returning: nil)
        for waiter in waiters { waiter.resume(returning: false) }
    }

    /// The socket is gone: drop everything and wake everyone.
    func fail() {
        let (writer, waiters) = state.withLock { state in
            state.closed = true
            state.done = true
            state.frames = []
            state.head = 0
            state.bytes = 0
            state.writeStartedAt = nil
            defer {
                state.writer = nil
                state.roomWaiters = []
            }
            return (state.writer, state.roomWaiters)
        }
        writer?.resume(returning: nil)
        for waiter in waiters { waiter.resume(returning: false) }
    }

    var isDone: Bool { state.withLock { $0.done } }
    /// A close frame is queued (or the connection is ending): nothing more is accepted.
    var isClosing: Bool { state.withLock { $0.closed } }
    var overflowed: Bool { state.withLock { $0.overflowed } }
    var queuedBytes: Int { state.withLock { $0.bytes } }

    /// How long the frame being written has been waiting for the socket, nil when no write is in progress.
    func writeStalled(now: ContinuousClock.Instant = .now) -> Duration? {
        state.withLock { state in state.writeStartedAt.map { now - $0 } }
    }

    private func wakeRoomWaiters(open: Bool) {
        let waiters = state.withLock { state in
            defer { state.roomWaiters = [] }
            return state.roomWaiters
        }
        for waiter in waiters { waiter.resume(returning: open) }
    }

    /// Appends `frame`; returns the parked writer to hand it to directly (then it is not stored).
    private static func enqueue(_ frame: Frame, into state: inout State) -> CheckedContinuation<Frame?, Never>? {
        state.bytes += frame.bytes
        if let writer = state.writer {
            state.writer = nil
            state.writeStartedAt = .now
            return writer
        }
        state.frames.append(frame)
        return nil
    }
}
