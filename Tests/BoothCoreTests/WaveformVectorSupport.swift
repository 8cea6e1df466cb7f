import BoothCore
import Foundation
import Testing

/// One entry of `Vectors/ecg-vectors.json`: public bytes with the values their source asserts.
struct ECGVector: Decodable {
    struct Expected: Decodable {
        var heart_rate: Int?
        var uint16: Bool?
        var sensor_contact: String?
        var energy_expended_kj: Int?
        var rr_intervals_1024: [UInt16]?
        var error: String?
        var field: String?
        var location: String?
        var op_code: UInt8?
        var measurement_type: UInt8?
        var error_code: UInt8?
        var more_frames: Bool?
        var parameters: String?
        var sample_rate: UInt16?
        var resolution: UInt16?
        var timestamp_ns: UInt64?
        var sample_count: Int?
        var first_samples_uv: [Int32]?
        var last_sample_uv: Int32?
        var min_uv: Int32?
        var max_uv: Int32?
        var sample_14_uv: Int32?
    }

    var profile: String
    var source: String
    var hex: String
    var expected: Expected

    var bytes: [UInt8] { Hex.bytes(hex) ?? [] }

    static func load(_ profile: String) throws -> [ECGVector] {
        let url = try #require(Bundle.module.url(forResource: "Vectors/ecg-vectors", withExtension: "json"))
        let all = try JSONDecoder().decode([ECGVector].self, from: Data(contentsOf: url))
        return all.filter { $0.profile == profile }
    }
}
