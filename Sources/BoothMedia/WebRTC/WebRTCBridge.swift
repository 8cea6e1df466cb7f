import CBoothShim
import CGStreamer
import Synchronization

/// What webrtcbin reported, copied out of the GStreamer thread that reported it.
enum WebRTCRawEvent: Sendable {
    case negotiationNeeded
    case candidate(mline: Int, candidate: String)
    case connectionState(UInt32)
    case iceState(UInt32)
    case offer(sdp: String?, error: String?)
    case descriptionSet(error: String?)
    case keyframeRequested
}

/// The context webrtcbin's C callback receives: it only hands each event to an AsyncStream (thread-safe), so
/// no actor or lock is touched on GStreamer's threads. Retained by the C side until webrtcbin is finalized.
final class WebRTCLinkContext: Sendable {
    /// Contexts not yet released by the C side (a leak check for tests).
    static let alive = Atomic<Int>(0)
    let events: AsyncStream<WebRTCRawEvent>
    private let continuation: AsyncStream<WebRTCRawEvent>.Continuation

    init() {
        (events, continuation) = AsyncStream.makeStream(of: WebRTCRawEvent.self)
        Self.alive.add(1, ordering: .relaxed)
    }

    deinit {
        continuation.finish()
        Self.alive.subtract(1, ordering: .relaxed)
    }

    func yield(_ event: WebRTCRawEvent) { continuation.yield(event) }

    /// Connects webrtcbin's signals to this context (one retain, released by the C side).
    func connect(to webrtc: ElementPointer) {
        booth_webrtc_connect(webrtc, webrtcCallback, Unmanaged.passRetained(self).toOpaque(), webrtcRelease)
    }
}

private let webrtcCallback: booth_webrtc_callback = { context, event, number, text in
    guard let context else { return }
    let link = Unmanaged<WebRTCLinkContext>.fromOpaque(context).takeUnretainedValue()
    let string = text.map { String(cString: $0) }
    switch UInt32(event) {
    case BOOTH_WEBRTC_NEGOTIATION_NEEDED.rawValue: link.yield(.negotiationNeeded)
    case BOOTH_WEBRTC_ICE_CANDIDATE.rawValue: link.yield(.candidate(mline: Int(number), candidate: string ?? ""))
    case BOOTH_WEBRTC_CONNECTION_STATE.rawValue: link.yield(.connectionState(number))
    case BOOTH_WEBRTC_ICE_STATE.rawValue: link.yield(.iceState(number))
    case BOOTH_WEBRTC_OFFER.rawValue:
        link.yield(number == 1 ? .offer(sdp: string, error: nil) : .offer(sdp: nil, error: string))
    case BOOTH_WEBRTC_DESCRIPTION_SET.rawValue:
        link.yield(.descriptionSet(error: number == 1 ? nil : string ?? "failed"))
    case BOOTH_WEBRTC_KEYFRAME_REQUEST.rawValue: link.yield(.keyframeRequested)
    default: break
    }
}

private let webrtcRelease: GDestroyNotify = { context in
    guard let context else { return }
    Unmanaged<WebRTCLinkContext>.fromOpaque(context).release()
}

/// A value delivered once, awaited with a timeout (webrtcbin's promises answer on its own thread).
final class Completion<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiter: CheckedContinuation<Value?, Never>?
        var done = false
    }
    private let state = Mutex(State())

    init() {}

    func complete(_ value: Value) {
        let waiter: CheckedContinuation<Value?, Never>? = state.withLock { state in
            guard !state.done else { return nil }
            state.done = true
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.value = value
            return nil
        }
        waiter?.resume(returning: value)
    }

    /// The value, or nil when it did not come within `timeout`.
    func wait(timeout: Duration) async -> Value? {
        await withCheckedContinuation { (continuation: CheckedContinuation<Value?, Never>) in
            let ready: Value?? = state.withLock { state in
                if state.done { return .some(state.value) }
                state.waiter = continuation
                return .none
            }
            if let ready {
                continuation.resume(returning: ready)
                return
            }
            Task { [self] in
                try? await Task.sleep(for: timeout)
                let waiter: CheckedContinuation<Value?, Never>? = state.withLock { state in
                    guard !state.done, let waiter = state.waiter else { return nil }
                    state.done = true
                    state.waiter = nil
                    return waiter
                }
                waiter?.resume(returning: nil)
            }
        }
    }
}
