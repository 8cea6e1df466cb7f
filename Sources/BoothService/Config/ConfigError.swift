/// A configuration problem, printed as one line naming where it comes from, the key and why.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A file path, `environment`, or `command line`.
    public var source: String
    public var line: Int?
    /// Dotted key, e.g. `api.port`; empty when the problem is the whole file.
    public var key: String
    public var reason: String

    public init(source: String, line: Int? = nil, key: String, reason: String) {
        self.source = source
        self.line = line
        self.key = key
        self.reason = reason
    }

    public var description: String {
        var location = source
        if let line { location += ":\(line)" }
        return key.isEmpty ? "\(location): \(reason)" : "\(location): \(key): \(reason)"
    }
}
