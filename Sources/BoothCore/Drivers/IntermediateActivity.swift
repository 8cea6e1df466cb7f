import Synchronization

/// What the intermediate-value characteristic of a measuring device (Intermediate Cuff Pressure 0x2A36,
/// Intermediate Temperature 0x2A1E) tells: a measurement is going on, or it went quiet.
enum IntermediateActivity: Sendable, Equatable {
    /// An intermediate value arrived.
    case value
    /// No intermediate value for the quiet period after the last one (the measurement was abandoned).
    case quiet
}

/// Turns intermediate notifications into activity: `.value` for each, `.quiet` once `quiet` passed without one.
/// The values themselves are not readings (a cuff's pressure while inflating) and are not decoded.
func intermediateActivity(
    _ values: AsyncThrowingStream<[UInt8], any Error>,
    quiet: Duration
) -> AsyncStream<IntermediateActivity> {
    AsyncStream(bufferingPolicy: .unbounded) { continuation in
        let pump = Task {
            // One timer at a time, restarted by every value; only this task touches it.
            var timer: Task<Void, Never>?
            do {
                for try await _ in values {
                    timer?.cancel()
                    continuation.yield(.value)
                    timer = Task {
                        do {
                            try await Task.sleep(for: quiet)
                            continuation.yield(.quiet)
                        } catch {}
                    }
                }
            } catch {}
            timer?.cancel()
            continuation.finish()
        }
        continuation.onTermination = { _ in pump.cancel() }
    }
}

/// Whether the device is measuring now, shared by the intermediate watcher and the measurement reader so each
/// change is reported once.
final class MeasuringFlag: Sendable {
    private let measuring = Mutex(false)

    /// Sets the flag; true when it changed.
    func set(_ value: Bool) -> Bool {
        measuring.withLock { measuring in
            defer { measuring = value }
            return measuring != value
        }
    }
}
