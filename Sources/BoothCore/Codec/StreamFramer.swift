/// Cuts a byte stream that arrives in arbitrary chunks (USB serial reads, BLE UART notifications) into frames,
/// resynchronising after garbage. Bytes that belong to no frame are reported, never silently dropped.
public struct StreamFramer: Sendable {
    /// What the framer found.
    public enum Event: Sendable, Hashable {
        /// One candidate frame, ready for the profile's decoder.
        case frame([UInt8])
        /// Bytes skipped while resynchronising (consecutive garbage is reported as one event).
        case garbage([UInt8])
    }

    private let spec: any FrameSpec
    private let maxBuffer: Int
    private var buffer: [UInt8] = []
    private var start = 0

    /// `maxBuffer` bounds memory: a frame that would need more is treated as garbage.
    public init(_ spec: any FrameSpec, maxBuffer: Int = 1 << 16) {
        self.spec = spec
        self.maxBuffer = max(maxBuffer, 16)
    }

    /// Bytes held while waiting for the rest of a frame.
    public var pending: Int { buffer.count - start }

    /// Feeds one chunk; returns the frames and garbage completed by it, in stream order.
    public mutating func push(_ chunk: some Sequence<UInt8>) -> [Event] {
        buffer.append(contentsOf: chunk)
        var events: [Event] = []
        var garbage: [UInt8] = []
        scanning: while start < buffer.count {
            let window = buffer[start...]
            switch spec.scan(window) {
            case .needMore:
                if buffer.count - start >= maxBuffer {
                    garbage.append(buffer[start])
                    start += 1
                    continue
                }
                break scanning
            case .skip(let count):
                let count = min(max(count, 1), buffer.count - start)
                garbage.append(contentsOf: buffer[start..<(start + count)])
                start += count
            case .frame(let length):
                let length = min(max(length, 1), buffer.count - start)
                if !garbage.isEmpty {
                    events.append(.garbage(garbage))
                    garbage = []
                }
                events.append(.frame(Array(buffer[start..<(start + length)])))
                start += length
            }
        }
        if !garbage.isEmpty { events.append(.garbage(garbage)) }
        // Compact once the consumed prefix dominates, so long streams stay O(n).
        if start > 4096 || start == buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
        return events
    }

    /// Ends the stream: whatever is still pending is reported as garbage.
    public mutating func finish() -> [Event] {
        defer {
            buffer = []
            start = 0
        }
        return pending > 0 ? [.garbage(Array(buffer[start...]))] : []
    }
}

/// The result of looking at the bytes at the current position.
public enum FrameScan: Sendable, Hashable {
    /// A frame may start here but more bytes are needed.
    case needMore
    /// No frame starts here: skip this many bytes.
    case skip(Int)
    /// A complete frame of this length starts here.
    case frame(Int)
}

/// How one frame format is recognised. `scan` sees the bytes from the current position to the end of the buffer.
public protocol FrameSpec: Sendable {
    func scan(_ bytes: ArraySlice<UInt8>) -> FrameScan
}

/// Frames whose first byte has bit 7 set and every other byte bit 7 clear (Contec CMS50D+, BerryMed BCI).
public struct SyncBitFrameSpec: FrameSpec {
    public let length: Int

    public init(length: Int) { self.length = length }

    public func scan(_ bytes: ArraySlice<UInt8>) -> FrameScan {
        guard let first = bytes.first else { return .needMore }
        guard first & 0x80 != 0 else {
            let next = bytes.firstIndex { $0 & 0x80 != 0 } ?? bytes.endIndex
            return .skip(next - bytes.startIndex)
        }
        for offset in 1..<min(length, bytes.count) where bytes[bytes.startIndex + offset] & 0x80 != 0 {
            return .skip(offset)
        }
        return bytes.count < length ? .needMore : .frame(length)
    }
}

/// Fixed-length frames with a constant header and optional trailer, and an optional check on the whole frame.
public struct FixedFrameSpec: FrameSpec {
    public let header: [UInt8]
    public let length: Int
    public let trailer: [UInt8]
    public let isValid: @Sendable ([UInt8]) -> Bool

    public init(
        header: [UInt8],
        length: Int,
        trailer: [UInt8] = [],
        isValid: @escaping @Sendable ([UInt8]) -> Bool = { _ in true }
    ) {
        self.header = header
        self.length = length
        self.trailer = trailer
        self.isValid = isValid
    }

    public func scan(_ bytes: ArraySlice<UInt8>) -> FrameScan {
        for (offset, byte) in header.enumerated() {
            guard offset < bytes.count else { return .needMore }
            if bytes[bytes.startIndex + offset] != byte { return .skip(1) }
        }
        guard bytes.count >= length else { return .needMore }
        let frame = Array(bytes.prefix(length))
        guard frame.suffix(trailer.count).elementsEqual(trailer), isValid(frame) else { return .skip(1) }
        return .frame(length)
    }
}

/// Frames that carry their own length: once `prefixLength` bytes are seen, `totalLength` gives the whole frame's
/// length, or nil when no frame can start here; `isValid` checks the complete frame (checksum).
public struct LengthPrefixedFrameSpec: FrameSpec {
    public let headers: Set<UInt8>
    /// Bytes needed before `totalLength` can be computed.
    public let prefixLength: Int
    public let totalLength: @Sendable (ArraySlice<UInt8>) -> Int?
    public let isValid: @Sendable ([UInt8]) -> Bool

    public init(
        headers: Set<UInt8>,
        prefixLength: Int,
        totalLength: @escaping @Sendable (ArraySlice<UInt8>) -> Int?,
        isValid: @escaping @Sendable ([UInt8]) -> Bool
    ) {
        self.headers = headers
        self.prefixLength = prefixLength
        self.totalLength = totalLength
        self.isValid = isValid
    }

    public func scan(_ bytes: ArraySlice<UInt8>) -> FrameScan {
        guard let first = bytes.first else { return .needMore }
        guard headers.contains(first) else { return .skip(1) }
        guard bytes.count >= prefixLength else { return .needMore }
        guard let total = totalLength(bytes.prefix(prefixLength)), total >= prefixLength else { return .skip(1) }
        guard bytes.count >= total else { return .needMore }
        return isValid(Array(bytes.prefix(total))) ? .frame(total) : .skip(1)
    }
}

/// The framing of each byte-stream profile, by CLI kind name.
public enum StreamFraming {
    public static let cms50 = SyncBitFrameSpec(length: 5)
    public static let berrymed = SyncBitFrameSpec(length: 5)
    /// CMS50D+ memory download: 3-byte points (0xF0|b7, 0x80|pulse, SpO2).
    public static let cms50Recorded = FixedFrameSpec(header: [], length: 3) { frame in
        frame[0] & 0xFE == 0xF0 && frame[1] & 0x80 != 0 && frame[2] & 0x80 == 0
    }
    public static let jumper = FixedFrameSpec(header: [JumperOximeter.header], length: 4)
    public static let jumperBP = FixedFrameSpec(header: [0xFD, 0xFD, 0xFC], length: 8, trailer: [0x0D, 0x0A])
    public static let yuwell = LengthPrefixedFrameSpec(
        headers: [YuwellYX110.header],
        prefixLength: 2,
        totalLength: { prefix in
            let length = Int(prefix[prefix.startIndex + 1])
            return length >= 7 ? length : nil
        },
        isValid: { frame in YuwellYX110.checksum(frame.dropLast()) == frame.last }
    )
    public static let viatom = LengthPrefixedFrameSpec(
        headers: [ViatomFrame.commandHeader, ViatomFrame.responseHeader],
        prefixLength: 7,
        totalLength: { prefix in
            let base = prefix.startIndex
            guard prefix[base + 2] == ~prefix[base + 1] else { return nil }
            return ViatomFrame.overhead + (Int(prefix[base + 5]) | Int(prefix[base + 6]) << 8)
        },
        isValid: { frame in CRC8.checksum(frame.dropLast()) == frame.last }
    )

    /// The frame format for a stream kind, or nil when the kind is not a byte stream.
    public static func spec(forKind kind: String) -> (any FrameSpec)? {
        switch kind.lowercased() {
        case "cms50": cms50
        case "berrymed": berrymed
        case "cms50-recorded": cms50Recorded
        case "jumper": jumper
        case "jumper-bp": jumperBP
        case "yuwell": yuwell
        case "viatom-frame": viatom
        default: nil
        }
    }
}
