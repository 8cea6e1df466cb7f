/// Runs `body` until it returns or `seconds` pass, whichever is first; on the deadline, `body` is cancelled and
/// `fallback` returned. The one shape of "watch a stream for something, but not forever" in boothctl (scan
/// `--until`, waiting for a connection).
func within<T: Sendable>(
    seconds: Double,
    else fallback: T,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return fallback
        }
        defer { group.cancelAll() }
        return try await group.next() ?? fallback
    }
}
