import Hummingbird
import Prometheus

/// `GET /metrics`: the Prometheus text exposition of everything boothd counts (devices by state, measurements,
/// reconnects, undecodable payloads, outbox). Served on the loopback listener only, with no patient data:
/// labels carry device ids, roles and kinds, never session or patient references.
enum MetricsRoute {
    static func add(to router: Router<some RequestContext>, registry: PrometheusCollectorRegistry) {
        router.get("metrics") { _, _ -> Response in
            var buffer: [UInt8] = []
            buffer.reserveCapacity(4096)
            registry.emit(into: &buffer)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer))
            )
        }
    }
}
