// Video benchmark: boothd's camera pipeline (BoothMedia, GStreamer C API) against gst-launch-1.0 running the same
// element graph in the same run. Prints CPU per frame and fps of both and their ratio, the live stream's bit rate
// against the 1 Mbit/s budget, and snapshot latency.
//   booth-video-bench [--frames N] [--rounds R]
import BoothMedia
import Foundation
import Glibc

let arguments = CommandLine.arguments
func option(_ name: String, _ fallback: Int) -> Int {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count,
        let value = Int(arguments[index + 1])
    else { return fallback }
    return value
}
let frames = option("--frames", 300)
let rounds = option("--rounds", 2)
let mode = VideoMode(width: 1280, height: 720, framesPerSecond: 30)
let pattern = TestPattern.ball

func cpuSeconds(_ who: __rusage_who) -> Double {
    var usage = rusage()
    getrusage(who.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
        + Double(usage.ru_stime.tv_usec) / 1e6
}

struct RunResult {
    var cpu: Double
    var wall: Double
    var frames: Int
    var cpuPerFrameMs: Double { cpu / Double(frames) * 1000 }
    var fps: Double { Double(frames) / wall }
}

/// Our pipeline until the source's end of stream; frames = encoded live frames received.
func runBooth() async throws -> (RunResult, Double) {
    var configuration = CameraConfiguration(source: .simulated(pattern: pattern, mode: mode))
    configuration.sourceFrameLimit = frames
    let camera = CameraPipeline(configuration: configuration)
    let events = camera.events()
    let encoded = camera.encodedVideo()
    let previews = camera.previewFrames()
    let counter = Task {
        var count = 0
        var bytes = 0
        for await chunk in encoded {
            count += 1
            bytes += chunk.data.count
        }
        return (count, bytes)
    }
    let previewCounter = Task {
        var count = 0
        for await _ in previews { count += 1 }
        return count
    }
    let cpu0 = cpuSeconds(RUSAGE_SELF)
    let wall0 = ContinuousClock.now
    try await camera.start()
    for await event in events {
        if case .fault(.endOfStream) = event { break }
    }
    let wall = (ContinuousClock.now - wall0)
    let cpu = cpuSeconds(RUSAGE_SELF) - cpu0
    await camera.close()
    let (count, bytes) = await counter.value
    _ = await previewCounter.value
    let seconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
    let kbps = Double(bytes) * 8 / 1000 / (Double(frames) / Double(mode.framesPerSecond))
    return (RunResult(cpu: cpu, wall: seconds, frames: count), kbps)
}

/// The same graph as a gst-launch-1.0 description (fakesinks in place of appsinks).
func launchDescription() -> String {
    let rung = BitrateLadder.standard.rung(budgetKbps: 1000, source: mode).mode
    let preview = CameraConfiguration(source: .simulated(pattern: pattern, mode: mode)).previewMode
    let leaky = "queue leaky=downstream max-size-bytes=0 max-size-time=0"
    return """
        videotestsrc is-live=true pattern=\(pattern.rawValue) num-buffers=\(frames) \
        ! video/x-raw,width=\(mode.width),height=\(mode.height),framerate=\(mode.framesPerSecond)/1 \
        ! videoconvert ! tee name=t \
        t. ! \(leaky) max-size-buffers=2 ! videoscale ! videorate drop-only=true \
        ! video/x-raw,format=I420,width=\(rung.width),height=\(rung.height),framerate=\(rung.framesPerSecond)/1 \
        ! x264enc tune=zerolatency speed-preset=veryfast bitrate=800 vbv-buf-capacity=500 \
        key-int-max=\(rung.framesPerSecond * 2) \
        ! video/x-h264,stream-format=byte-stream,alignment=au ! fakesink sync=false \
        t. ! \(leaky) max-size-buffers=1 ! videoscale ! videorate drop-only=true \
        ! video/x-raw,width=\(preview.width),height=\(preview.height),framerate=\(preview.framesPerSecond)/1 \
        ! jpegenc quality=70 ! fakesink sync=false \
        t. ! \(leaky) max-size-buffers=1 ! valve drop=true drop-mode=forward-sticky-events ! jpegenc quality=90 \
        ! fakesink sync=false async=false
        """
}

func runLaunch() throws -> RunResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/gst-launch-1.0")
    process.arguments = ["-q"] + launchDescription().split(separator: " ").map(String.init)
    process.standardOutput = FileHandle.nullDevice
    let children0 = cpuSeconds(RUSAGE_CHILDREN)
    let wall0 = ContinuousClock.now
    try process.run()
    process.waitUntilExit()
    let wall = ContinuousClock.now - wall0
    let seconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
    guard process.terminationStatus == 0 else {
        throw NSError(domain: "gst-launch exited \(process.terminationStatus)", code: 1)
    }
    return RunResult(cpu: cpuSeconds(RUSAGE_CHILDREN) - children0, wall: seconds, frames: frames)
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1
        ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func format(_ value: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }

print(
    "video bench: \(MediaRuntime.version); source videotestsrc \(pattern.rawValue) \(mode), \(frames) frames x \(rounds) rounds"
)
print("gst-launch-1.0 equivalent: gst-launch-1.0 \(launchDescription())")
var booth: [RunResult] = []
var launch: [RunResult] = []
var bitrates: [Double] = []
for round in 1...rounds {
    // Alternate the order so neither side always runs on a warmer machine.
    if round % 2 == 1 {
        let (result, kbps) = try await runBooth()
        booth.append(result)
        bitrates.append(kbps)
        launch.append(try runLaunch())
    } else {
        launch.append(try runLaunch())
        let (result, kbps) = try await runBooth()
        booth.append(result)
        bitrates.append(kbps)
    }
    print(
        "round \(round): boothd \(format(booth[round - 1].cpuPerFrameMs)) ms CPU/frame \(format(booth[round - 1].fps, 1)) fps"
            + " (\(booth[round - 1].frames) encoded frames); gst-launch \(format(launch[round - 1].cpuPerFrameMs)) ms CPU/frame"
            + " \(format(launch[round - 1].fps, 1)) fps"
    )
}
let boothCPU = median(booth.map(\.cpuPerFrameMs))
let launchCPU = median(launch.map(\.cpuPerFrameMs))
print("")
print("| figure | boothd | gst-launch-1.0 | target |")
print("|---|---|---|---|")
print("| CPU per frame (ms, median) | \(format(boothCPU)) | \(format(launchCPU)) | |")
print(
    "| fps (median) | \(format(median(booth.map(\.fps)), 1)) | \(format(median(launch.map(\.fps)), 1)) | \(mode.framesPerSecond) |"
)
print("| CPU ratio boothd/gst-launch | \(format(boothCPU / launchCPU, 3)) | | <= 1.05 |")
print("| live bit rate, \(pattern.rawValue) (kbit/s, mean over run) | \(format(median(bitrates), 0)) | | <= 1000 |")

// Worst-case content for the budget: noise, 8 s, measured over the last 5 s window of presentation time.
var noise = CameraConfiguration(source: .simulated(pattern: .snow, mode: mode))
noise.sourceFrameLimit = 8 * mode.framesPerSecond
let noisy = CameraPipeline(configuration: noise)
let noisyChunks = noisy.encodedVideo()
try await noisy.start()
var meter = BitrateMeter(window: .seconds(5))
var worst = 0.0
for await chunk in noisyChunks {
    if let time = chunk.presentationTime { meter.add(bytes: chunk.data.count, at: time) }
    if meter.span >= .milliseconds(4900), let kbps = meter.kbps { worst = max(worst, kbps) }
    if let time = chunk.presentationTime, time >= .milliseconds(7900) { break }
}
await noisy.close()
print("| live bit rate, snow (kbit/s, worst 5 s window) | \(format(worst, 0)) | | <= 1000 |")

// Snapshot latency: command to full-resolution JPEG.
let still = SimulatedCamera.make(pattern: .smpte, mode: mode)
try await still.start()
var latencies: [Double] = []
var size = 0
for _ in 0..<15 {
    let snapshot = try await still.snapshot()
    latencies.append(
        Double(snapshot.latency.components.attoseconds) / 1e15 + Double(snapshot.latency.components.seconds) * 1000
    )
    size = snapshot.jpeg.count
    try await Task.sleep(for: .milliseconds(100))
}
await still.close()
let sortedLatency = latencies.sorted()
print(
    "| snapshot latency (ms, median / max, \(mode.width)x\(mode.height), \(size / 1024) KiB) | \(format(median(latencies), 1)) / \(format(sortedLatency.last ?? 0, 1)) | | |"
)
