import Foundation

/// One entry of the shared public byte vectors (`Tests/BoothCoreTests/Vectors/public-vectors.json`).
public struct PublicVector: Sendable, Decodable {
    public var profile: String
    public var source: String
    public var hex: String
    public var note: String?
}
