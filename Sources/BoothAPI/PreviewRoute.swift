import Hummingbird
import NIOCore

/// `GET /camera/preview.mjpg`: the camera's low-latency preview as an MJPEG stream (multipart/x-mixed-replace),
/// which every browser shows in an `<img>`. It is patient video, so it needs the API token — in the
/// `Authorization: Bearer` header or, for an `<img>` that cannot send headers, a `token` query item.
enum PreviewRoute {
    static let boundary = "boothdframe"

    static func add(
        to router: Router<some RequestContext>,
        verifier: TokenVerifier,
        frames: @escaping @Sendable () -> AsyncStream<[UInt8]>
    ) {
        router.get("camera/preview.mjpg") { request, _ -> Response in
            let token = HandshakeGuard.bearer(request) ?? request.uri.queryParameters.get("token")
            guard let token, verifier.verify(token) else {
                return APIServer.jsonResponse(
                    .unauthorized,
                    Wire.object([("error", Wire.string("invalid_token")), ("message", Wire.string("token required"))])
                )
            }
            let stream = frames()
            return Response(
                status: .ok,
                headers: [
                    .contentType: "multipart/x-mixed-replace; boundary=\(boundary)",
                    .cacheControl: "no-store",
                ],
                body: ResponseBody { writer in
                    for await jpeg in stream {
                        var part = ByteBuffer()
                        part.writeString(
                            "--\(boundary)\r\nContent-Type: image/jpeg\r\nContent-Length: \(jpeg.count)\r\n\r\n"
                        )
                        part.writeBytes(jpeg)
                        part.writeString("\r\n")
                        try await writer.write(part)
                    }
                    try await writer.finish(nil)
                }
            )
        }
    }
}
