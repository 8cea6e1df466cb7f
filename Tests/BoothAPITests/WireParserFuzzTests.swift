import BoothTesting
import Foundation
import Testing

@testable import BoothAPI

/// Mutation fuzzing of the session-API message parser from valid client messages: every input is understood or
/// refused with a typed error code from the protocol's list — never a trap.
/// `scripts/fuzz/parsers.sh` runs it longer (BOOTH_FUZZ_ITERATIONS, BOOTH_FUZZ_SEED).
@Suite struct WireParserFuzzTests {
    static let seeds = [
        #"{"type":"hello","protocol":1,"clientId":"kiosk-1","token":"00ff","resumeAfter":41}"#,
        #"{"type":"ack","upTo":57}"#,
        #"{"type":"ping","id":"p1"}"#,
        #"{"type":"command","id":"r1","command":"session.start","params":{"sessionId":"S-12","contextRef":"x"}}"#,
        #"{"type":"command","id":"r2","command":"measurement.manual","params":{"role":"thermometer","value":37.2,"unit":"Cel"}}"#,
        #"{"type":"command","id":"r3","command":"camera.control","params":{"deviceId":"sim:camera","control":"zoom","value":3}}"#,
        #"{"type":"webrtc.answer","sdp":"v=0\r\n"}"#,
    ]
    static let tokens = [
        "{", "}", "[", "]", "\"", ":", ",", "null", "true", "1e999", "-0", "1.5", "\\u0000", "\\ud800", "\"type\"",
        "\"command\"", "9223372036854775808", "[[[[[[[[", "{\"a\":{\"a\":{\"a\":", " ", "é",
    ]
    static let knownCodes: Set<String> = [
        "malformed_json", "invalid_message", "unknown_type", "binary_not_supported", "invalid_params",
        "unknown_command", "rate_limited", "invalid_ack",
    ]

    @Test func mutatedMessagesAreUnderstoodOrRefusedWithATypedError() {
        let environment = ProcessInfo.processInfo.environment
        let seed = MutationFuzzer.seed(environment: environment, fallback: 20_261_126)
        var fuzzer = MutationFuzzer(seeds: Self.seeds.map { Array($0.utf8) }, tokens: Self.tokens, seed: seed)
        var understood = 0
        var refused = 0
        for index in 0..<MutationFuzzer.iterations(environment: environment, fallback: 20000) {
            let text = String(decoding: fuzzer.nextInput(), as: UTF8.self)
            do {
                _ = try Wire.parse(text)
                understood += 1
            } catch {
                refused += 1
                #expect(Self.knownCodes.contains(error.code), "seed \(seed) input \(index): code \(error.code)")
                #expect(!error.message.isEmpty)
            }
        }
        #expect(understood > 0)
        #expect(refused > 0)
    }
}
