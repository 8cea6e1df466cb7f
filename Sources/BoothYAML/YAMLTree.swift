import Yams

/// A YAML document reduced to what configuration and profile files use — mappings, sequences and
/// scalars — with the line of every node, so errors can name `file:line`.
public indirect enum YAMLTree: Sendable, Equatable {
    case scalar(String, line: Int)
    case mapping([Entry], line: Int)
    case sequence([YAMLTree], line: Int)

    public struct Entry: Sendable, Equatable {
        public var key: String
        public var keyLine: Int
        public var value: YAMLTree
    }

    public var line: Int {
        switch self {
        case .scalar(_, let line), .mapping(_, let line), .sequence(_, let line): line
        }
    }

    /// A short name of the node's shape, for error messages.
    public var shapeName: String {
        switch self {
        case .scalar: "a scalar"
        case .mapping: "a mapping"
        case .sequence: "a list"
        }
    }

    /// Parses `text`. An empty document is an empty mapping.
    public static func parse(_ text: String) throws(YAMLSyntaxError) -> YAMLTree {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw YAMLSyntaxError(yamsError: error)
        } catch {
            throw YAMLSyntaxError(line: nil, reason: "\(error)")
        }
        guard let node else { return .mapping([], line: 1) }
        return try convert(node)
    }

    private static func convert(_ node: Node) throws(YAMLSyntaxError) -> YAMLTree {
        let line = node.mark?.line ?? 0
        switch node {
        case .scalar(let scalar):
            return .scalar(scalar.string, line: line)
        case .sequence(let sequence):
            var items: [YAMLTree] = []
            for item in sequence {
                items.append(try convert(item))
            }
            return .sequence(items, line: line)
        case .mapping(let mapping):
            var entries: [Entry] = []
            var seen: Set<String> = []
            for (key, value) in mapping {
                guard case .scalar(let keyScalar) = key else {
                    throw YAMLSyntaxError(line: key.mark?.line, reason: "mapping keys must be plain strings")
                }
                guard seen.insert(keyScalar.string).inserted else {
                    throw YAMLSyntaxError(line: key.mark?.line, reason: "duplicate key '\(keyScalar.string)'")
                }
                entries.append(Entry(key: keyScalar.string, keyLine: key.mark?.line ?? line, value: try convert(value)))
            }
            return .mapping(entries, line: line)
        case .alias:
            throw YAMLSyntaxError(line: line, reason: "YAML aliases are not supported here")
        }
    }
}

/// The text is not well-formed YAML.
public struct YAMLSyntaxError: Error, Sendable, Equatable {
    public var line: Int?
    public var reason: String

    public init(line: Int?, reason: String) {
        self.line = line
        self.reason = reason
    }

    init(yamsError: YamlError) {
        switch yamsError {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            self.init(line: mark.line, reason: problem)
        case .duplicatedKeysInMapping(let duplicates, _):
            self.init(line: nil, reason: "duplicate keys \(duplicates.joined(separator: ", "))")
        default:
            self.init(line: nil, reason: "\(yamsError)")
        }
    }
}
