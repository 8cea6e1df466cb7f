import BoothService
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /artifacts/<id>/<part>`: the bytes of a stored snapshot, recording or strip, announced by an `artifact`
/// event whose parts carry these URLs. Patient data, so the API token is required (header, or `token` query item
/// for an `<img>`/`<a>` that cannot send headers); discarded artifacts are not served.
enum ArtifactRoute {
    static func add(to router: Router<some RequestContext>, verifier: TokenVerifier, outbox: Outbox) {
        router.get("artifacts/:id/:part") { request, context -> Response in
            let token = HandshakeGuard.bearer(request) ?? request.uri.queryParameters.get("token")
            guard let token, verifier.verify(token) else {
                return APIServer.jsonResponse(
                    .unauthorized,
                    Wire.object([("error", Wire.string("invalid_token")), ("message", Wire.string("token required"))])
                )
            }
            let id = context.parameters.get("id") ?? ""
            let part = context.parameters.get("part") ?? ""
            let file: (path: String, mediaType: String)
            do {
                file = try await outbox.artifactFile(id: id, part: part)
            } catch let error as OutboxError {
                let status: HTTPResponse.Status = error.code == .unknownArtifact ? .notFound : .serviceUnavailable
                return APIServer.jsonResponse(
                    status,
                    Wire.object([("error", Wire.string(error.code.rawValue)), ("message", Wire.string(error.message))])
                )
            } catch {
                return APIServer.jsonResponse(
                    .internalServerError,
                    Wire.object([("error", Wire.string("internal_error")), ("message", Wire.string("\(error)"))])
                )
            }
            guard let data = FileManager.default.contents(atPath: file.path) else {
                return APIServer.jsonResponse(
                    .internalServerError,
                    Wire.object([
                        ("error", Wire.string("storage_unavailable")),
                        ("message", Wire.string("artifact \(id) part \(part) cannot be read")),
                    ])
                )
            }
            return Response(
                status: .ok,
                headers: [.contentType: file.mediaType, .cacheControl: "no-store"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: data))
            )
        }
    }
}
