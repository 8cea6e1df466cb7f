import BoothYAML
import Foundation

/// Builds a `BoothConfig` from, in increasing precedence: defaults, the YAML file, `BOOTHD_*` environment
/// variables and `--set key=value` overrides. Any unknown key or bad value is a `ConfigError`.
public enum ConfigLoader {
    /// - Parameters:
    ///   - path: the file to read; nil reads `BoothConfig.defaultPath` if it exists.
    ///   - environment: the process environment (only `BOOTHD_*` names are considered).
    ///   - overrides: `key=value` strings from the command line.
    public static func load(
        path: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        overrides: [String] = []
    ) throws(ConfigError) -> BoothConfig {
        var config = BoothConfig()
        let filePath = path ?? BoothConfig.defaultPath
        if FileManager.default.fileExists(atPath: filePath) {
            let text: String
            do {
                text = try String(contentsOfFile: filePath, encoding: .utf8)
            } catch {
                throw ConfigError(source: filePath, key: "", reason: "cannot be read (\(error.localizedDescription))")
            }
            try apply(yaml: text, source: filePath, to: &config)
        } else if path != nil {
            throw ConfigError(source: filePath, key: "", reason: "no such file")
        }
        try apply(environment: environment, to: &config)
        for override in overrides {
            try apply(override: override, to: &config)
        }
        return config
    }

    /// Applies the keys of a YAML document (`api:\n  port: 9000`).
    public static func apply(yaml text: String, source: String, to config: inout BoothConfig) throws(ConfigError) {
        let tree: YAMLTree
        do {
            tree = try YAMLTree.parse(text)
        } catch {
            throw ConfigError(source: source, line: error.line, key: "", reason: "not valid YAML: \(error.reason)")
        }
        guard case .mapping(let sections, _) = tree else {
            throw ConfigError(source: source, line: tree.line, key: "", reason: "expected a mapping of sections")
        }
        let sectionNames = Set(ConfigKey.all.map { String($0.path.split(separator: ".")[0]) })
        for section in sections {
            guard sectionNames.contains(section.key) else {
                throw ConfigError(
                    source: source,
                    line: section.keyLine,
                    key: section.key,
                    reason: "unknown section (known: \(sectionNames.sorted().joined(separator: ", ")))"
                )
            }
            guard case .mapping(let entries, _) = section.value else {
                throw ConfigError(
                    source: source,
                    line: section.value.line,
                    key: section.key,
                    reason: "expected a mapping, got \(section.value.shapeName)"
                )
            }
            for entry in entries {
                let path = "\(section.key).\(entry.key)"
                guard let key = ConfigKey.byPath[path] else {
                    let known = ConfigKey.all.filter { $0.path.hasPrefix(section.key + ".") }.map(\.path)
                    throw ConfigError(
                        source: source,
                        line: entry.keyLine,
                        key: path,
                        reason: "unknown key (known: \(known.joined(separator: ", ")))"
                    )
                }
                let value = try value(of: entry.value, for: key, source: source)
                key.apply(&config, value)
            }
        }
    }

    private static func value(
        of node: YAMLTree,
        for key: ConfigKey,
        source: String
    ) throws(ConfigError)
        -> ConfigKey.Value
    {
        switch (node, key.kind) {
        case (.sequence(let items, _), .stringList):
            var strings: [String] = []
            for item in items {
                guard case .scalar(let text, _) = item else {
                    throw ConfigError(source: source, line: item.line, key: key.path, reason: "expected a string")
                }
                strings.append(text)
            }
            return .strings(strings)
        case (.scalar(let text, let line), .stringList):
            throw ConfigError(
                source: source,
                line: line,
                key: key.path,
                reason: "expected a list, got \"\(text)\" (write [\"\(text)\"])"
            )
        case (.scalar(let text, let line), _):
            switch key.parse(scalar: text) {
            case .success(let value): return value
            case .failure(let rejection):
                throw ConfigError(source: source, line: line, key: key.path, reason: rejection.reason)
            }
        default:
            throw ConfigError(
                source: source,
                line: node.line,
                key: key.path,
                reason: "expected a single value, got \(node.shapeName)"
            )
        }
    }

    /// Applies `BOOTHD_SECTION_KEY` variables. An unknown `BOOTHD_` variable is an error, so a typo is not ignored.
    public static func apply(environment: [String: String], to config: inout BoothConfig) throws(ConfigError) {
        let byName = Dictionary(uniqueKeysWithValues: ConfigKey.all.map { ($0.environmentName, $0) })
        // Variables boothd itself reads that are not configuration keys.
        let reserved: Set<String> = ["BOOTHD_CONFIG"]
        for (name, text) in environment.sorted(by: { $0.key < $1.key }) where name.hasPrefix("BOOTHD_") {
            if reserved.contains(name) { continue }
            guard let key = byName[name] else {
                throw ConfigError(source: "environment", key: name, reason: "unknown variable")
            }
            switch key.parse(scalar: text) {
            case .success(let value): key.apply(&config, value)
            case .failure(let rejection): throw ConfigError(source: "environment", key: name, reason: rejection.reason)
            }
        }
    }

    /// Applies one `key=value` override (`api.port=9000`).
    public static func apply(override: String, to config: inout BoothConfig) throws(ConfigError) {
        guard let equals = override.firstIndex(of: "=") else {
            throw ConfigError(source: "command line", key: override, reason: "expected key=value")
        }
        let path = String(override[..<equals]).trimmingCharacters(in: .whitespaces)
        let text = String(override[override.index(after: equals)...])
        guard let key = ConfigKey.byPath[path] else {
            throw ConfigError(source: "command line", key: path, reason: "unknown key")
        }
        switch key.parse(scalar: text) {
        case .success(let value): key.apply(&config, value)
        case .failure(let rejection): throw ConfigError(source: "command line", key: path, reason: rejection.reason)
        }
    }

    /// Every key with its environment name, for `boothd --help-config` and the docs.
    public static var keyTable: [(path: String, environment: String)] {
        ConfigKey.all.map { ($0.path, $0.environmentName) }
    }
}
