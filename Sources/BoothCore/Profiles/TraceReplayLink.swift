import Synchronization

/// A `ByteStreamLink` that plays a `DeviceTrace`: each `<` chunk is delivered in order, and each `send` must equal
/// the next `>` line (a mismatch fails the send, so a driver test catches a wrong command byte-exactly).
/// Device chunks that follow a `>` line are delivered only once that command has been sent.
public final class TraceReplayLink: ByteStreamLink {
    private struct State {
        var entries: [DeviceTrace.Entry]
        var position = 0
        var continuation: AsyncThrowingStream<[UInt8], any Error>.Continuation?
    }

    private let state: Mutex<State>

    public init(trace: DeviceTrace) {
        state = Mutex(State(entries: trace.entries.filter { if case .expect = $0 { false } else { true } }))
    }

    public func send(_ bytes: [UInt8]) async throws {
        try state.withLock { state throws(TraceMismatch) in
            guard state.position < state.entries.count, case .sent(let expected) = state.entries[state.position] else {
                throw TraceMismatch(expected: nil, actual: bytes)
            }
            guard expected == bytes else { throw TraceMismatch(expected: expected, actual: bytes) }
            state.position += 1
            Self.deliver(&state)
        }
    }

    public func received() async throws -> AsyncThrowingStream<[UInt8], any Error> {
        let (stream, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        state.withLock { state in
            state.continuation = continuation
            Self.deliver(&state)
        }
        return stream
    }

    /// Yields device chunks up to the next host command; finishes the stream at the end of the trace.
    private static func deliver(_ state: inout State) {
        guard let continuation = state.continuation else { return }
        while state.position < state.entries.count, case .received(let bytes) = state.entries[state.position] {
            continuation.yield(bytes)
            state.position += 1
        }
        if state.position == state.entries.count { continuation.finish() }
    }
}

/// The driver sent bytes the trace does not have at this point.
public struct TraceMismatch: Error, Sendable, Equatable, CustomStringConvertible {
    public var expected: [UInt8]?
    public var actual: [UInt8]

    public init(expected: [UInt8]?, actual: [UInt8]) {
        self.expected = expected
        self.actual = actual
    }

    public var description: String {
        let sent = Hex.string(actual)
        guard let expected else { return "trace expects no command here, driver sent \(sent)" }
        return "trace expects \(Hex.string(expected)), driver sent \(sent)"
    }
}
