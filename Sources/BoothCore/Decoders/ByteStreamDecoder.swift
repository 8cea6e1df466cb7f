/// A vendor byte stream turned into readings: the stream framer for the kind, then its decoder. Drivers feed it
/// whatever chunks the link delivers; every byte comes back out as a reading, a rejected frame or garbage.
public struct ByteStreamDecoder: Sendable {
    /// What came out of the stream, in stream order.
    public enum Output: Sendable, Hashable {
        /// A decoded frame with the bytes it came from.
        case reading(DecodedReading, raw: [UInt8])
        /// A frame that looked right to the framer but did not decode (kept for the log with its error).
        case rejected(raw: [UInt8], error: DecodeError)
        /// Bytes outside any frame.
        case garbage([UInt8])
    }

    public let kind: String
    private var framer: StreamFramer
    private let decode: @Sendable ([UInt8]) throws(DecodeError) -> DecodedReading

    /// nil when `kind` is not a stream kind (`cms50`, `cms50-recorded`, `berrymed`, `jumper`, `jumper-bp`, `yuwell`,
    /// `viatom-frame`).
    public init?(kind: String, maxBuffer: Int = 1 << 16) {
        guard let spec = StreamFraming.spec(forKind: kind), let entry = DecoderRegistry.entry(kind) else { return nil }
        self.kind = entry.kind
        self.framer = StreamFramer(spec, maxBuffer: maxBuffer)
        self.decode = entry.decode
    }

    public mutating func push(_ chunk: some Sequence<UInt8>) -> [Output] {
        framer.push(chunk).map(convert)
    }

    /// Ends the stream; pending bytes come back as garbage.
    public mutating func finish() -> [Output] {
        framer.finish().map(convert)
    }

    private func convert(_ event: StreamFramer.Event) -> Output {
        switch event {
        case .garbage(let bytes): return .garbage(bytes)
        case .frame(let bytes):
            do {
                return .reading(try decode(bytes), raw: bytes)
            } catch {
                return .rejected(raw: bytes, error: error)
            }
        }
    }
}
