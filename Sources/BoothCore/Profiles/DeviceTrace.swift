/// A recorded (or, when marked, constructed) exchange with a byte-stream device, one line per chunk:
///
///     # comment
///     @ profile contec.cms50dplus        metadata: key and value
///     @ synthetic built from public vector bytes
///     > 7d 81 a1                         bytes the host sends
///     < 81 32 05 48 62                   bytes the device sends
///     = spo2=98 pulse=72                 what the decoder must produce from the chunks since the last `=`
///
/// The same file drives the replay test (`boothctl profiles validate` and the unit tests) and the lab's USB gadget.
public struct DeviceTrace: Sendable, Equatable {
    public enum Entry: Sendable, Equatable {
        case sent([UInt8])
        case received([UInt8])
        /// Expected decoded fields, as `key=value` pairs.
        case expect([String: String])
    }

    public var metadata: [String: String]
    public var entries: [Entry]

    public init(metadata: [String: String] = [:], entries: [Entry] = []) {
        self.metadata = metadata
        self.entries = entries
    }

    /// Every byte the device sends, in order.
    public var receivedBytes: [UInt8] {
        entries.flatMap { entry -> [UInt8] in
            if case .received(let bytes) = entry { return bytes }
            return []
        }
    }

    public var isSynthetic: Bool { metadata["synthetic"] != nil }

    public static func parse(_ text: String) throws(DeviceTraceError) -> DeviceTrace {
        var trace = DeviceTrace()
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let line = rawLine.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            let marker = line.first
            let rest = String(line.dropFirst()).trimmingWhitespace()
            switch marker {
            case "@":
                let parts = rest.split(separator: " ", maxSplits: 1).map(String.init)
                guard let key = parts.first else {
                    throw DeviceTraceError(line: lineNumber, reason: "'@' needs a key")
                }
                trace.metadata[key] = parts.count > 1 ? parts[1] : ""
            case ">", "<":
                guard let bytes = Hex.bytes(rest), !bytes.isEmpty else {
                    throw DeviceTraceError(
                        line: lineNumber,
                        reason: "expected whole bytes of hex after '\(line.prefix(1))'"
                    )
                }
                trace.entries.append(marker == ">" ? .sent(bytes) : .received(bytes))
            case "=":
                var fields: [String: String] = [:]
                for pair in rest.split(separator: " ") {
                    let keyValue = pair.split(separator: "=", maxSplits: 1).map(String.init)
                    guard keyValue.count == 2, !keyValue[0].isEmpty else {
                        throw DeviceTraceError(line: lineNumber, reason: "expected key=value, got '\(pair)'")
                    }
                    fields[keyValue[0]] = keyValue[1]
                }
                guard !fields.isEmpty else {
                    throw DeviceTraceError(line: lineNumber, reason: "'=' needs key=value pairs")
                }
                trace.entries.append(.expect(fields))
            default:
                throw DeviceTraceError(line: lineNumber, reason: "lines start with #, @, >, < or =")
            }
        }
        guard trace.entries.contains(where: { if case .received = $0 { true } else { false } }) else {
            throw DeviceTraceError(line: nil, reason: "no device bytes ('<' lines)")
        }
        return trace
    }
}

/// A trace file that cannot be read.
public struct DeviceTraceError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int?
    public var reason: String

    public init(line: Int?, reason: String) {
        self.line = line
        self.reason = reason
    }

    public var description: String { line.map { "line \($0): \(reason)" } ?? reason }
}

extension Substring {
    func trimmingWhitespace() -> String {
        String(drop(while: { $0.isWhitespace }).reversed().drop(while: { $0.isWhitespace }).reversed())
    }
}

extension String {
    func trimmingWhitespace() -> String { self[...].trimmingWhitespace() }
}
