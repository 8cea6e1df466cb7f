import BoothCore
import Testing

/// Truncation, trailing bytes, corrupted bytes and chunked streams for every vector.
@Suite struct RobustnessTests {
    static let valid = (try? LooseVector.all().filter { !$0.isInvalid }) ?? []

    @Test func vectorsLoaded() {
        #expect(Self.valid.count == 42)
    }

    @Test(arguments: valid)
    func everyTruncationThrowsATypedError(_ vector: LooseVector) throws {
        let kind = try #require(PublicVectorTests.kind(vector.profile))
        for length in 0..<vector.bytes.count {
            let prefix = Array(vector.bytes.prefix(length))
            let error = try #require(throws: DecodeError.self, "\(vector) cut at \(length)") {
                try DecoderRegistry.decode(kind, prefix)
            }
            // The message names a field and an offset inside the input.
            #expect(!error.field.isEmpty && error.offset <= length, "\(error)")
        }
    }

    @Test(arguments: valid)
    func trailingByteIsRejected(_ vector: LooseVector) throws {
        let kind = try #require(PublicVectorTests.kind(vector.profile))
        let error = try #require(throws: DecodeError.self) { try DecoderRegistry.decode(kind, vector.bytes + [0x00]) }
        #expect(["trailing-bytes", "bad-length", "bad-checksum"].contains(error.reasonName), "\(vector): \(error)")
    }

    /// Every single-bit flip either decodes or throws a typed error; it never traps.
    @Test(arguments: valid)
    func bitFlipsNeverTrap(_ vector: LooseVector) throws {
        let kind = try #require(PublicVectorTests.kind(vector.profile))
        for index in vector.bytes.indices {
            for bit in 0..<8 {
                var bytes = vector.bytes
                bytes[index] ^= 1 << bit
                _ = try? DecoderRegistry.decode(kind, bytes)
            }
        }
    }

    static let streamVectors = valid.filter {
        StreamFraming.spec(forKind: PublicVectorTests.kind($0.profile) ?? "") != nil
    }

    /// Three copies of the frame with garbage before, between and after, fed in the given chunking.
    static func feed(_ vector: LooseVector, chunks: (Int) -> [Int]) throws -> [[UInt8]] {
        let kind = try #require(PublicVectorTests.kind(vector.profile))
        let spec = try #require(StreamFraming.spec(forKind: kind))
        let garbage: [UInt8] = [0x00, 0x13, 0x7E, 0x42]
        let stream = garbage + vector.bytes + vector.bytes + [0x01, 0x02] + vector.bytes + garbage
        var framer = StreamFramer(spec)
        var frames: [[UInt8]] = []
        var garbageSeen: [UInt8] = []
        var position = 0
        for size in chunks(stream.count) {
            let end = min(stream.count, position + size)
            for event in framer.push(stream[position..<end]) {
                switch event {
                case .frame(let frame): frames.append(frame)
                case .garbage(let bytes): garbageSeen += bytes
                }
            }
            position = end
        }
        for event in framer.finish() {
            if case .garbage(let bytes) = event { garbageSeen += bytes }
        }
        // Nothing is lost: frames plus garbage account for every byte.
        #expect(frames.reduce(0) { $0 + $1.count } + garbageSeen.count == stream.count, "\(vector)")
        for frame in frames { #expect(try DecoderRegistry.decode(kind, frame) != nil) }
        return frames
    }

    @Test(arguments: streamVectors)
    func framerAllAtOnce(_ vector: LooseVector) throws {
        #expect(try Self.feed(vector) { [$0] } == [vector.bytes, vector.bytes, vector.bytes])
    }

    @Test(arguments: streamVectors)
    func framerOneByteAtATime(_ vector: LooseVector) throws {
        #expect(try Self.feed(vector) { Array(repeating: 1, count: $0) } == [vector.bytes, vector.bytes, vector.bytes])
    }

    @Test(arguments: streamVectors)
    func framerRandomSplits(_ vector: LooseVector) throws {
        var generator = SplitMix(seed: 0xB007)
        for _ in 0..<50 {
            let frames = try Self.feed(vector) { total in
                var sizes: [Int] = []
                var sum = 0
                while sum < total {
                    let size = Int(generator.next() % 7) + 1
                    sizes.append(size)
                    sum += size
                }
                return sizes
            }
            #expect(frames == [vector.bytes, vector.bytes, vector.bytes])
        }
    }

    @Test func framerBoundsItsBuffer() {
        // A Viatom header announcing a 60000-byte payload must not make the framer hold bytes forever.
        var framer = StreamFramer(StreamFraming.viatom, maxBuffer: 64)
        let events = framer.push([0x55, 0x00, 0xFF, 0x00, 0x00, 0x60, 0xEA] + Array(repeating: 0x11, count: 100))
        #expect(framer.pending < 64)
        #expect(!events.isEmpty)
    }
}

/// A tiny deterministic generator so split tests are reproducible.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}

@Suite struct ByteStreamDecoderTests {
    @Test func cms50StreamDripFedYieldsReadingsAndReportsGarbage() throws {
        var decoder = try #require(ByteStreamDecoder(kind: "cms50"))
        let frame = try #require(Hex.bytes("8732054862"))
        let stream = [0x01, 0x02] + frame + [0x80, 0x00] + frame
        var outputs: [ByteStreamDecoder.Output] = []
        for byte in stream { outputs += decoder.push([byte]) }
        outputs += decoder.finish()
        let readings = outputs.compactMap { output -> DecodedReading? in
            if case .reading(let reading, _) = output { reading } else { nil }
        }
        #expect(readings.count == 2)
        #expect(readings.first?.value(.spo2)?.number == DecimalNumber(98))
        #expect(readings.first?.value(.pulseOximetryPulseRate)?.number == DecimalNumber(72))
        let garbage = outputs.flatMap { output -> [UInt8] in
            if case .garbage(let bytes) = output { bytes } else { [] }
        }
        #expect(garbage == [0x01, 0x02, 0x80, 0x00])
        #expect(ByteStreamDecoder(kind: "2A35") == nil)
    }

    @Test func viatomStreamSkipsAFrameWithABadCRC() throws {
        var decoder = try #require(ByteStreamDecoder(kind: "viatom-frame"))
        let good = try #require(Hex.bytes("5500ff00000d00624200000000006100920a01002f"))
        var bad = good
        bad[8] ^= 0x01
        let outputs = decoder.push(bad + good)
        let readings = outputs.filter { if case .reading = $0 { true } else { false } }
        #expect(readings.count == 1)
        let garbageCount = outputs.reduce(0) { count, output in
            if case .garbage(let bytes) = output { count + bytes.count } else { count }
        }
        #expect(garbageCount == bad.count)
    }
}
