import ArgumentParser
import BoothMedia
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Measures the audio branch: process CPU, Opus bitrate and capture-to-encoded latency, on a live source.
struct StethoscopeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the stethoscope pipeline: CPU, live Opus bitrate, capture-to-encoded latency."
    )

    @OptionGroup var source: StethoscopeSourceOptions
    @Option(help: "Seconds to measure (after a 1 s warm-up).") var seconds: Double = 10
    @Option(help: "Opus bitrate, bit/s.") var bitrate: Int = 64000
    @Option(help: "Site budget for video + audio, bit/s.") var budget: Int = 1_000_000
    @Flag(help: "Machine-readable output.") var json = false

    struct Figures: Encodable {
        var seconds: Double
        var sampleRate: Int
        var cpuPercentOfOneCore: Double
        var opusTargetBitsPerSecond: Int
        var opusMeasuredBitsPerSecond: Double
        var opusPackets: Int
        var latencyMillisecondsP50: Double
        var latencyMillisecondsP95: Double
        var latencyMillisecondsMax: Double
        var budgetLeftForVideoBitsPerSecond: Double
    }

    func run() async throws {
        var config = try source.configuration()
        if case .testTone(let frequency, let volume, _, _) = config.source {
            config.source = .testTone(frequency: frequency, volume: volume, live: true, seconds: nil)
        }
        config.opusBitrate = bitrate
        let pipeline = StethoscopePipeline(configuration: config)
        let info: AudioStreamInfo
        do {
            info = try await pipeline.start()
        } catch {
            throw StethoscopeFailure(error: error)
        }
        // Drain events so the bounded stream never matters.
        let drain = Task { for await _ in pipeline.events {} }
        var warmup = true
        var cpuStart = Self.processCPUSeconds()
        var wallStart = ContinuousClock.now
        var bytes = 0
        var mediaNanoseconds: UInt64 = 0
        var latencies: [Double] = []
        let warmupEnd = ContinuousClock.now + .seconds(1)
        let end = warmupEnd + .milliseconds(Int(seconds * 1000))
        for await packet in pipeline.opusPackets {
            let now = ContinuousClock.now
            if warmup {
                if now < warmupEnd { continue }
                warmup = false
                cpuStart = Self.processCPUSeconds()
                wallStart = now
            }
            bytes += packet.data.count
            mediaNanoseconds += packet.duration
            if let latency = packet.captureToEncodedNanoseconds { latencies.append(Double(latency) / 1e6) }
            if now >= end { break }
        }
        let wall = wallStart.duration(to: .now)
        let wallSeconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
        let cpu = Self.processCPUSeconds() - cpuStart
        await pipeline.stop()
        drain.cancel()
        latencies.sort()
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? .nan : latencies[min(latencies.count - 1, Int(p * Double(latencies.count)))]
        }
        let measured = mediaNanoseconds > 0 ? Double(bytes * 8) / (Double(mediaNanoseconds) / 1e9) : 0
        let figures = Figures(
            seconds: (wallSeconds * 100).rounded() / 100,
            sampleRate: info.sampleRate,
            cpuPercentOfOneCore: (cpu / wallSeconds * 1000).rounded() / 10,
            opusTargetBitsPerSecond: bitrate,
            opusMeasuredBitsPerSecond: measured.rounded(),
            opusPackets: latencies.count,
            latencyMillisecondsP50: (percentile(0.5) * 100).rounded() / 100,
            latencyMillisecondsP95: (percentile(0.95) * 100).rounded() / 100,
            latencyMillisecondsMax: ((latencies.last ?? .nan) * 100).rounded() / 100,
            budgetLeftForVideoBitsPerSecond: Double(budget) - measured.rounded()
        )
        if json {
            try printJSON(figures)
        } else {
            print(
                String(
                    format: "audio branch CPU: %.1f %% of one core over %.1f s",
                    figures.cpuPercentOfOneCore,
                    wallSeconds
                )
            )
            print(
                String(
                    format: "Opus: target %d bit/s, measured %.0f bit/s (%d packets)",
                    bitrate,
                    measured,
                    figures.opusPackets
                )
            )
            print(
                String(
                    format: "capture-to-encoded latency: p50 %.2f ms, p95 %.2f ms, max %.2f ms",
                    figures.latencyMillisecondsP50,
                    figures.latencyMillisecondsP95,
                    figures.latencyMillisecondsMax
                )
            )
            print(
                String(
                    format: "budget: %.0f of %d bit/s left for video",
                    figures.budgetLeftForVideoBitsPerSecond,
                    budget
                )
            )
        }
    }

    /// User + system CPU time of this process, seconds.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
