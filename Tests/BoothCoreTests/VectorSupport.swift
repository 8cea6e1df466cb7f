import BoothCore
import Foundation
import Testing

/// A public vector with its `expected` object kept as loose JSON.
struct LooseVector: Sendable, CustomStringConvertible {
    var profile: String
    var hex: String
    var bytes: [UInt8]
    var expected: [String: JSONAny]

    var description: String { "\(profile) \(hex)" }

    /// The profiles whose vectors are meant to be rejected.
    var isInvalid: Bool { profile.hasSuffix("_invalid") }

    static func all() throws -> [LooseVector] {
        struct Entry: Decodable {
            var profile: String
            var hex: String
            var expected: [String: JSONAny]
        }
        let url = try #require(Bundle.module.url(forResource: "Vectors/public-vectors", withExtension: "json"))
        return try JSONDecoder().decode([Entry].self, from: Data(contentsOf: url)).map { entry in
            LooseVector(
                profile: entry.profile,
                hex: entry.hex,
                bytes: try #require(Hex.bytes(entry.hex)),
                expected: entry.expected
            )
        }
    }
}

/// Loose JSON value (the vectors' `expected` objects differ per profile).
enum JSONAny: Sendable, Equatable, Decodable {
    case number(Double)
    case bool(Bool)
    case string(String)
    case array([JSONAny])
    case other

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONAny].self) {
            self = .array(value)
        } else {
            self = .other
        }
    }

    var double: Double? { if case .number(let value) = self { value } else { nil } }
    var string: String? { if case .string(let value) = self { value } else { nil } }
    var bool: Bool? { if case .bool(let value) = self { value } else { nil } }
    var strings: [String]? {
        if case .array(let values) = self { values.compactMap(\.string) } else { nil }
    }
    var ints: [Int]? {
        if case .array(let values) = self { values.compactMap { $0.double.map { Int($0) } } } else { nil }
    }
}

/// Checks expected keys one by one and remembers which were checked, so a test can prove none was skipped.
final class ExpectationSheet {
    let vector: LooseVector
    private(set) var checked: Set<String> = []

    init(_ vector: LooseVector) { self.vector = vector }

    func number(_ key: String, _ actual: DecimalNumber?, sourceLocation: SourceLocation = #_sourceLocation) {
        checked.insert(key)
        guard let expected = vector.expected[key]?.double else {
            Issue.record("\(vector): expected \(key) is not a number", sourceLocation: sourceLocation)
            return
        }
        #expect(actual != nil, "\(vector): \(key) absent", sourceLocation: sourceLocation)
        if let actual {
            #expect(
                abs(actual.doubleValue - expected) < 1e-9,
                "\(vector): \(key) \(actual) != \(expected)",
                sourceLocation: sourceLocation
            )
        }
    }

    func int(_ key: String, _ actual: (some BinaryInteger)?, sourceLocation: SourceLocation = #_sourceLocation) {
        number(key, actual.map { DecimalNumber(Int($0)) }, sourceLocation: sourceLocation)
    }

    func value(_ key: String, _ actual: ObservedValue?, sourceLocation: SourceLocation = #_sourceLocation) {
        number(key, actual?.number, sourceLocation: sourceLocation)
    }

    func text(_ key: String, _ actual: String?, sourceLocation: SourceLocation = #_sourceLocation) {
        checked.insert(key)
        #expect(vector.expected[key]?.string == actual, "\(vector): \(key)", sourceLocation: sourceLocation)
    }

    func flag(_ key: String, _ actual: Bool, sourceLocation: SourceLocation = #_sourceLocation) {
        checked.insert(key)
        #expect(vector.expected[key]?.bool == actual, "\(vector): \(key)", sourceLocation: sourceLocation)
    }

    func strings(
        _ key: String,
        _ actual: [String],
        sortExpected: Bool = false,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        checked.insert(key)
        let expected = vector.expected[key]?.strings
        #expect(
            (sortExpected ? expected?.sorted() : expected) == actual,
            "\(vector): \(key)",
            sourceLocation: sourceLocation
        )
    }

    func ints(_ key: String, _ actual: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        checked.insert(key)
        #expect(vector.expected[key]?.ints == actual.map(Int.init), "\(vector): \(key)", sourceLocation: sourceLocation)
    }

    /// Keys without a leading underscore are machine-checkable; all of them must have been checked.
    func expectAllChecked(sourceLocation: SourceLocation = #_sourceLocation) {
        let unchecked = vector.expected.keys.filter { !$0.hasPrefix("_") && !checked.contains($0) }
        #expect(unchecked.isEmpty, "\(vector): unchecked \(unchecked.sorted())", sourceLocation: sourceLocation)
    }
}
