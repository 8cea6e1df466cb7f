import Foundation
import Logging

/// A line-per-event log handler for the journal and for terminals.
///
/// - `journald`: `<N>` syslog priority prefix (sd-daemon(3)), no timestamp (journald adds one).
/// - `text`: ISO 8601 timestamp and level.
/// Metadata is written as sorted `key=value` pairs so lines stay grep-able. Patient data never goes into
/// metadata: sessions are logged by their opaque id only.
public struct BoothLogHandler: LogHandler {
    public enum Style: Sendable { case journald, text }

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let label: String
    let style: Style
    let sink: @Sendable (String) -> Void

    public init(label: String, level: Logger.Level, style: Style, sink: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.logLevel = level
        self.style = style
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let pairs = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.quote("\($0.value)"))" }
        let tail = pairs.isEmpty ? "" : " " + pairs.joined(separator: " ")
        let text = "\(event.message)".replacingOccurrences(of: "\n", with: " ")
        switch style {
        case .journald:
            sink("<\(Self.syslogPriority(event.level))>\(label): \(text)\(tail)")
        case .text:
            let time = Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true))
            sink("\(time) \(event.level) \(label): \(text)\(tail)")
        }
    }

    static func quote(_ value: String) -> String {
        value.contains(" ") || value.isEmpty ? "\"\(value)\"" : value
    }

    static func syslogPriority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// Writes to standard error, one line per call.
    public static let standardError: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
