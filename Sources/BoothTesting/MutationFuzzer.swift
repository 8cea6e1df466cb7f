/// A small, deterministic mutation fuzzer for the text parsers (profile YAML, session-API JSON) that cannot be
/// built into the libFuzzer harness of scripts/fuzz/run.sh (they depend on Yams and Foundation's JSON).
///
/// Each input is a seed changed by 1–8 random mutations (bit flips, byte changes, insertions of syntax tokens,
/// deletions, duplications, splices with another seed, truncation). The same `seed` gives the same inputs, so a
/// failure is replayed by its seed and index.
public struct MutationFuzzer {
    public let seeds: [[UInt8]]
    public let tokens: [[UInt8]]
    private var state: UInt64

    public init(seeds: [[UInt8]], tokens: [String], seed: UInt64) {
        precondition(!seeds.isEmpty, "a mutation fuzzer needs at least one seed")
        self.seeds = seeds
        self.tokens = tokens.map { Array($0.utf8) }
        self.state = seed
    }

    /// Iterations requested by `BOOTH_FUZZ_ITERATIONS` (default `fallback`).
    public static func iterations(environment: [String: String], fallback: Int) -> Int {
        environment["BOOTH_FUZZ_ITERATIONS"].flatMap(Int.init).map { max(1, $0) } ?? fallback
    }

    /// The PRNG seed requested by `BOOTH_FUZZ_SEED` (default `fallback`).
    public static func seed(environment: [String: String], fallback: UInt64) -> UInt64 {
        environment["BOOTH_FUZZ_SEED"].flatMap(UInt64.init) ?? fallback
    }

    /// SplitMix64: small, fast, and the same sequence on every platform.
    private mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    private mutating func below(_ bound: Int) -> Int { bound <= 1 ? 0 : Int(next() % UInt64(bound)) }

    public mutating func nextInput() -> [UInt8] {
        var bytes = seeds[below(seeds.count)]
        for _ in 0...below(8) { mutate(&bytes) }
        return bytes
    }

    private mutating func mutate(_ bytes: inout [UInt8]) {
        let position = below(bytes.count + 1)
        switch below(8) {
        case 0 where !bytes.isEmpty:
            bytes[min(position, bytes.count - 1)] ^= UInt8(1 << below(8))
        case 1 where !bytes.isEmpty:
            bytes[min(position, bytes.count - 1)] = UInt8(truncatingIfNeeded: next())
        case 2 where !tokens.isEmpty:
            bytes.insert(contentsOf: tokens[below(tokens.count)], at: position)
        case 3 where !bytes.isEmpty:
            let end = min(bytes.count, position + 1 + below(32))
            bytes.removeSubrange(min(position, bytes.count - 1)..<end)
        case 4 where position < bytes.count:
            let end = min(bytes.count, position + 1 + below(64))
            bytes.insert(contentsOf: bytes[position..<end], at: below(bytes.count + 1))
        case 5:
            let other = seeds[below(seeds.count)]
            let start = below(other.count + 1)
            bytes.replaceSubrange(position..<bytes.count, with: other[start...])
        case 6:
            bytes.removeSubrange(position..<bytes.count)
        default:
            let count = 1 + below(8)
            for _ in 0..<count { bytes.insert(UInt8(truncatingIfNeeded: next()), at: below(bytes.count + 1)) }
        }
    }
}
