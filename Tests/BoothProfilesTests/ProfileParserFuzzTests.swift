import BoothProfiles
import BoothTesting
import Foundation
import Testing

/// Mutation fuzzing of the firmware-profile parser from the shipped profiles: every input either parses or is
/// refused with a `ProfileError` naming the file (and a line when the YAML has one) — never a trap or a hang.
/// `scripts/fuzz/parsers.sh` runs it longer (BOOTH_FUZZ_ITERATIONS, BOOTH_FUZZ_SEED).
@Suite struct ProfileParserFuzzTests {
    static let tokens = [
        "\n", ": ", "- ", "{", "}", "[", "]", "\"", "'", "#", "&a ", "*a", "!!binary ", "!!int ", "0x", "~", "null",
        "  ", "\t", "? ", "|\n", ">\n", "---\n", "...\n", "99999999999999999999", "-1", "0xFFFFFFFFFFFFFFFF",
        "\u{0}", "é", "profile:", "match:", "ble:", "usb:", "vid: ", "pid: ", "role: ", "driver: ",
    ]

    @Test func mutatedProfilesParseOrFailWithTheirFileName() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../firmware-profiles").standardized.path
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".yaml") }
            .sorted()
        let seeds = try names.map { Array(try String(contentsOfFile: "\(directory)/\($0)", encoding: .utf8).utf8) }
        #expect(seeds.count >= 10)
        let environment = ProcessInfo.processInfo.environment
        let seed = MutationFuzzer.seed(environment: environment, fallback: 20_261_126)
        var fuzzer = MutationFuzzer(seeds: seeds, tokens: Self.tokens, seed: seed)
        var parsed = 0
        var refused = 0
        for index in 0..<MutationFuzzer.iterations(environment: environment, fallback: 3000) {
            let text = String(decoding: fuzzer.nextInput(), as: UTF8.self)
            do {
                _ = try ProfileLoader.parse(text, file: "fuzz-\(index).yaml")
                parsed += 1
            } catch {
                refused += 1
                #expect(error.file == "fuzz-\(index).yaml", "seed \(seed) input \(index)")
                #expect(!error.reason.isEmpty, "seed \(seed) input \(index): empty reason")
            }
        }
        // Both outcomes must occur, or the mutations are too weak (all parse) or too strong (nothing does).
        #expect(parsed > 0)
        #expect(refused > 0)
    }
}
