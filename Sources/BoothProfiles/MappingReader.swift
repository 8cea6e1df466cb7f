import BoothCore
import BoothYAML

/// Reads the keys of one YAML mapping, remembering which were used so that `finish()` can reject unknown ones.
struct MappingReader {
    let file: String
    let path: String
    let line: Int
    let entries: [YAMLTree.Entry]
    private var used: Set<String> = []

    init(_ node: YAMLTree, file: String, path: String) throws(ProfileError) {
        guard case .mapping(let entries, let line) = node else {
            throw ProfileError(
                file: file,
                line: node.line,
                key: path,
                reason: "expected a mapping, got \(node.shapeName)"
            )
        }
        self.file = file
        self.path = path
        self.line = line
        self.entries = entries
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func error(_ key: String, _ node: YAMLTree?, _ reason: String) -> ProfileError {
        ProfileError(file: file, line: node?.line ?? line, key: keyPath(key), reason: reason)
    }

    mutating func node(_ key: String) -> YAMLTree? {
        used.insert(key)
        return entries.first { $0.key == key }?.value
    }

    mutating func required(_ key: String) throws(ProfileError) -> YAMLTree {
        guard let node = node(key) else {
            throw ProfileError(file: file, line: line, key: keyPath(key), reason: "missing (required)")
        }
        return node
    }

    mutating func string(_ key: String) throws(ProfileError) -> String? {
        guard let node = node(key) else { return nil }
        return try scalar(node, key)
    }

    mutating func requiredString(_ key: String) throws(ProfileError) -> String {
        let node = try required(key)
        let text = try scalar(node, key)
        guard !text.isEmpty else { throw error(key, node, "must not be empty") }
        return text
    }

    func scalar(_ node: YAMLTree, _ key: String) throws(ProfileError) -> String {
        guard case .scalar(let text, _) = node else {
            throw error(key, node, "expected a single value, got \(node.shapeName)")
        }
        return text
    }

    mutating func bool(_ key: String) throws(ProfileError) -> Bool? {
        guard let node = node(key) else { return nil }
        switch try scalar(node, key).lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        case let other: throw error(key, node, "expected true or false, got \"\(other)\"")
        }
    }

    mutating func int(_ key: String, in range: ClosedRange<Int>) throws(ProfileError) -> Int? {
        guard let node = node(key) else { return nil }
        let text = try scalar(node, key)
        guard let value = Int(text) else { throw error(key, node, "expected an integer, got \"\(text)\"") }
        guard range.contains(value) else {
            throw error(key, node, "\(value) is out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// A hex number such as `0x10c4` or `10c4` (USB and Bluetooth ids are always written in hex).
    mutating func hex(_ key: String, max: UInt64) throws(ProfileError) -> UInt64? {
        guard let node = node(key) else { return nil }
        return try parseHex(node, key, max: max)
    }

    func parseHex(_ node: YAMLTree, _ key: String, max: UInt64) throws(ProfileError) -> UInt64 {
        let text = try scalar(node, key)
        let digits = text.lowercased().hasPrefix("0x") ? String(text.dropFirst(2)) : text
        guard !digits.isEmpty, digits.count <= 16, let value = UInt64(digits, radix: 16) else {
            throw error(key, node, "expected a hex number such as 0x10c4, got \"\(text)\"")
        }
        guard value <= max else {
            throw error(key, node, "\(text) is larger than 0x\(String(max, radix: 16))")
        }
        return value
    }

    /// A list of scalars; a single scalar is accepted as a one-item list.
    mutating func strings(_ key: String) throws(ProfileError) -> [String] {
        guard let node = node(key) else { return [] }
        return try stringList(node, key)
    }

    func stringList(_ node: YAMLTree, _ key: String) throws(ProfileError) -> [String] {
        switch node {
        case .scalar(let text, _):
            return [text]
        case .sequence(let items, _):
            var result: [String] = []
            for (index, item) in items.enumerated() {
                result.append(try scalar(item, "\(key)[\(index)]"))
            }
            return result
        case .mapping:
            throw error(key, node, "expected a list of values, got a mapping")
        }
    }

    mutating func choice<T: RawRepresentable & CaseIterable>(
        _ key: String,
        _ type: T.Type
    ) throws(ProfileError) -> T? where T.RawValue == String {
        guard let node = node(key) else { return nil }
        let text = try scalar(node, key)
        guard let value = T(rawValue: text) else {
            let choices = T.allCases.map(\.rawValue).joined(separator: ", ")
            throw error(key, node, "expected one of \(choices), got \"\(text)\"")
        }
        return value
    }

    mutating func requiredChoice<T: RawRepresentable & CaseIterable>(
        _ key: String,
        _ type: T.Type
    ) throws(ProfileError) -> T where T.RawValue == String {
        guard let value = try choice(key, type) else {
            throw ProfileError(file: file, line: line, key: keyPath(key), reason: "missing (required)")
        }
        return value
    }

    /// Fails on the first key that no reader asked for.
    func finish(known extra: [String] = []) throws(ProfileError) {
        for entry in entries where !used.contains(entry.key) {
            let known = used.union(extra).sorted().joined(separator: ", ")
            throw ProfileError(
                file: file,
                line: entry.keyLine,
                key: keyPath(entry.key),
                reason: "unknown key (known here: \(known))"
            )
        }
    }
}
