import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The WebSocket route's request context: the basic one plus the connection's channel, which a session closes
/// outright when its client stops reading (`SessionConnection.watchStalls`).
struct SessionRequestContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.webSocket = .init()
        self.channel = source.channel
    }
}
