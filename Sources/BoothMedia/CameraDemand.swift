import Synchronization

/// One use of an on-demand camera (`CameraPipeline.acquire`): its pipeline runs while at least one lease is
/// held. `release()` is idempotent, and a lease nobody references any more releases itself.
public final class CameraLease: Sendable {
    /// What the camera is used for (`preview`, `live`, `snapshot`, `readiness`...), for logs and tests.
    public let purpose: String
    private let released = Atomic<Bool>(false)
    private let onRelease: @Sendable () -> Void

    init(purpose: String, onRelease: @escaping @Sendable () -> Void) {
        self.purpose = purpose
        self.onRelease = onRelease
    }

    public func release() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        onRelease()
    }

    deinit { release() }
}

/// The leases of one camera, kept outside its actor so a stream subscription can take and drop one
/// synchronously; the actor then brings the pipeline in line with the count.
final class CameraDemand: Sendable {
    private struct State {
        var nextID = 0
        var holders: [Int: String] = [:]
    }
    private let state = Mutex(State())

    func add(_ purpose: String) -> Int {
        state.withLock { state in
            defer { state.nextID += 1 }
            state.holders[state.nextID] = purpose
            return state.nextID
        }
    }

    /// False when that lease was already gone.
    func remove(_ id: Int) -> Bool {
        state.withLock { $0.holders.removeValue(forKey: id) != nil }
    }

    var count: Int { state.withLock { $0.holders.count } }
    var purposes: [String] { state.withLock { $0.holders.sorted { $0.key < $1.key }.map(\.value) } }
}
