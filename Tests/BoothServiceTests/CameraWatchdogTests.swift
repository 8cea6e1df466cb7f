import BoothCore
import Foundation
import Logging
import Synchronization
import Testing

@testable import BoothMedia
@testable import BoothService

/// A USB reset that only records what it was asked (the real one is libusb in boothd).
final class FakeUSBReset: USBDeviceResetting {
    let location: USBDeviceLocation
    let calls = Mutex<[(node: String?, device: USBDeviceLocation)]>([])
    let lookups = Mutex<[String]>([])

    init(location: USBDeviceLocation) { self.location = location }

    func usbDevice(ofNode node: String) -> USBDeviceLocation? {
        lookups.withLock { $0.append(node) }
        return location
    }

    func reset(_ device: USBDeviceLocation) async throws(USBResetFailure) {
        calls.withLock { $0.append((nil, device)) }
    }
}

@Suite("Wedged-camera watchdog")
struct CameraWatchdogTests {
    static let mode = VideoMode(width: 320, height: 240, framesPerSecond: 15)

    /// A started simulated camera registered as `usb:cam`, with a 2 s stall timeout (short, yet no false stall on
    /// a loaded test machine).
    static func withCamera(
        _ body: (CameraPipeline, MediaDeviceCommands, DeviceRegistry) async throws -> Void
    ) async throws {
        try await MediaTestbed.withMedia { media, registry, _, _ in
            var configuration = SimulatedCamera.configuration(pattern: .ball, mode: mode)
            configuration.stallTimeout = .seconds(2)
            let camera = CameraPipeline(configuration: configuration)
            try await camera.start()
            await media.register(
                camera: CameraEndpoint(
                    deviceID: "usb:cam",
                    role: .otoscope,
                    model: "test",
                    transport: "v4l2",
                    pipeline: camera,
                    controls: SimulatedCameraControls(pipeline: camera)
                )
            )
            try await body(camera, media, registry)
            await camera.close()
        }
    }

    static func waitFor(
        _ what: String,
        within limit: Duration = .seconds(15),
        _ condition: () async -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + limit
        while !(await condition()) {
            guard ContinuousClock.now < deadline else { throw WaitTimeout(what: what) }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    struct WaitTimeout: Error, CustomStringConvertible {
        var what: String
        var description: String { "timed out waiting for \(what)" }
    }

    @Test("a source that stops producing: watchdog resets its USB device, the pipeline restarts, frames flow again")
    func stallResetsAndRestarts() async throws {
        try await Self.withCamera { camera, media, registry in
            let usb = USBDeviceLocation(bus: 3, address: 7, port: "3-1.4")
            let reset = FakeUSBReset(location: usb)
            let watchdog = CameraWatchdog(
                deviceID: "usb:cam",
                node: "/dev/video4",
                pipeline: camera,
                media: media,
                resetter: reset,
                settings: CameraWatchdogSettings(maximumResets: 2, recoveredAfter: .milliseconds(500)),
                logger: Logger(label: "test.watchdog")
            )
            await watchdog.attach()
            let previews = camera.previewFrames()
            let events = camera.events()
            var frames = previews.makeAsyncIterator()
            #expect(await frames.next() != nil)

            await camera.injectStall()
            try await Self.waitFor("the USB reset") { reset.calls.withLock { !$0.isEmpty } }
            let calls = reset.calls.withLock { $0 }
            #expect(calls.count == 1)
            #expect(calls.first?.device == usb)
            #expect(reset.lookups.withLock { $0 } == ["/dev/video4"])
            let warned = await registry.status(id: "usb:cam")?.warning ?? ""
            #expect(warned.contains("no frame for"), "warning: \(warned)")
            #expect(warned.contains("USB 3-1.4 (bus 3 address 7) reset"), "warning: \(warned)")
            #expect(warned.contains("(1/2)"), "warning: \(warned)")

            // The pipeline restarts by itself (a new generation) and frames arrive again.
            var sawStall = false
            var restarted = false
            for await event in events {
                if case .fault(.stalled) = event { sawStall = true }
                if case .restarted = event {
                    restarted = true
                    break
                }
            }
            #expect(sawStall && restarted)
            var fresh = camera.previewFrames().makeAsyncIterator()
            #expect(await fresh.next() != nil)
            #expect(await camera.isRunning)
            // Frames kept flowing past the stall timeout: the warning is cleared, the device is ready.
            try await Self.waitFor("the warning to clear") { await registry.status(id: "usb:cam")?.warning == nil }
            #expect(await registry.status(id: "usb:cam")?.state == .ready)
            #expect(await watchdog.resets == 1)
            #expect(await watchdog.failure == nil)
        }
    }

    @Test("a camera still wedged after the allowed resets goes to error with the reason and stays stopped")
    func boundedResetsThenError() async throws {
        try await Self.withCamera { camera, media, registry in
            let reset = FakeUSBReset(location: USBDeviceLocation(bus: 1, address: 2, port: "1-1"))
            let watchdog = CameraWatchdog(
                deviceID: "usb:cam",
                node: "/dev/video0",
                pipeline: camera,
                media: media,
                resetter: reset,
                settings: CameraWatchdogSettings(maximumResets: 2),
                logger: Logger(label: "test.watchdog")
            )
            await watchdog.attach()
            let events = camera.events()
            // Stays wedged: every restarted pipeline stalls again.
            let wedger = Task {
                for await event in events {
                    if case .started = event { await camera.injectStall() }
                }
            }
            defer { wedger.cancel() }
            await camera.injectStall()
            try await Self.waitFor("the watchdog to give up", within: .seconds(30)) {
                await watchdog.failure != nil
            }
            #expect(reset.calls.withLock { $0.count } == 2)
            let status = try #require(await registry.status(id: "usb:cam"))
            guard case .error(let reason) = status.state else {
                Issue.record("expected error, got \(status.state)")
                return
            }
            #expect(reason.contains("camera wedged: no frames for"), "\(reason)")
            #expect(reason.contains("after 2 USB resets of USB 1-1 (bus 1 address 2)"), "\(reason)")
            #expect(!(await camera.isRunning))
            // The state sticks (a late pipeline event does not turn it back to ready), and snapshots say why.
            await media.updateCameraState(deviceID: "usb:cam", .ready)
            #expect(await registry.status(id: "usb:cam")?.state == .error(reason: reason))
            await #expect(throws: DeviceCommandError(code: "device_error", message: "usb:cam: \(reason)")) {
                _ = try await media.perform(DeviceCommand(name: "snapshot.take", deviceID: "usb:cam"))
            }
        }
    }

    @Test("other faults restart without a USB reset")
    func otherFaultsDoNotReset() async throws {
        try await Self.withCamera { camera, media, _ in
            let reset = FakeUSBReset(location: USBDeviceLocation(bus: 1, address: 2, port: "1-1"))
            let watchdog = CameraWatchdog(
                deviceID: "usb:cam",
                node: "/dev/video0",
                pipeline: camera,
                media: media,
                resetter: reset,
                logger: Logger(label: "test.watchdog")
            )
            await watchdog.attach()
            let events = camera.events()
            await camera.injectSourceDisconnect()
            for await event in events {
                if case .restarted = event { break }
            }
            #expect(reset.calls.withLock { $0.isEmpty })
            #expect(await camera.isRunning)
        }
    }
}
