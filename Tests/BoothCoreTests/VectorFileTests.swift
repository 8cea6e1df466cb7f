import BoothCore
import BoothTesting
import Foundation
import Testing

@Suite struct VectorFileTests {
    @Test func everyVectorIsWholeHex() throws {
        let url = try #require(Bundle.module.url(forResource: "Vectors/public-vectors", withExtension: "json"))
        let vectors = try JSONDecoder().decode([PublicVector].self, from: Data(contentsOf: url))
        #expect(vectors.count == 45)
        for vector in vectors {
            #expect(Hex.bytes(vector.hex) != nil, "\(vector.profile): \(vector.hex)")
        }
    }

    @Test func hexRoundTrips() {
        #expect(Hex.bytes("0A 1b") == [0x0a, 0x1b])
        #expect(Hex.bytes("0a1") == nil)
        #expect(Hex.bytes("zz") == nil)
        #expect(Hex.string([0x00, 0xff, 0x5a]) == "00ff5a")
    }
}
