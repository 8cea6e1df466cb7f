import BoothMedia
import Foundation
import Testing

@Suite("Stethoscope sample-rate fallback")
struct RateFallbackTests {
    @Test("preference order: the profile's rate, then the nearest standard rates")
    func preferenceOrder() {
        #expect(StethoscopeConfiguration.preferredRates(for: 44100).prefix(4) == [44100, 48000, 32000, 22050])
        #expect(StethoscopeConfiguration.preferredRates(for: 8000).prefix(3) == [8000, 11025, 16000])
        #expect(StethoscopeConfiguration.preferredRates(for: 12000).prefix(3) == [12000, 11025, 16000])
    }

    /// A source that offers only `offered` rates, asked for `profileRate`: captures at `expected`, and a recording
    /// is written at that rate with the right number of frames.
    @Test(
        "an unsupported profile rate falls back to the nearest rate the device offers",
        arguments: [(48000, [44100, 22050], 44100), (44100, [16000, 8000], 16000), (8000, [8000, 48000], 8000)]
    )
    func fallback(profileRate: Int, offered: [Int], expected: Int) async throws {
        var configuration = StethoscopeConfiguration(
            source: .testTone(frequency: 100, volume: 0.5, live: true, seconds: nil),
            sampleRate: profileRate,
            channels: 1
        )
        configuration.emulatedDeviceRates = offered
        let pipeline = StethoscopePipeline(configuration: configuration)
        let info = try await pipeline.start()
        #expect(info.sampleRate == expected)
        let path = NSTemporaryDirectory() + "steth-rate-\(UUID().uuidString).flac"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recording = try await pipeline.record(seconds: 0.5, flacPath: path)
        await pipeline.stop()
        #expect(recording.sampleRate == expected)
        #expect(recording.frames == expected / 2)
        #expect(try FLACFileReader.read(path: path).sampleRate == expected)
    }

    @Test("a source offering none of the standard rates still fails with a clear error, never hangs")
    func noCommonRate() async {
        var configuration = StethoscopeConfiguration(
            source: .testTone(frequency: 100, volume: 0.5, live: true, seconds: nil),
            sampleRate: 48000,
            channels: 1
        )
        configuration.emulatedDeviceRates = [12345]
        let pipeline = StethoscopePipeline(configuration: configuration)
        do {
            _ = try await pipeline.start(timeoutSeconds: 5)
            Issue.record("negotiated a rate the source does not offer")
            await pipeline.stop()
        } catch {
            #expect("\(error)".count > 10)
        }
    }
}
