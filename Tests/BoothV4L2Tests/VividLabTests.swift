import BoothCore
import Foundation
import Testing

@testable import BoothMedia
@testable import BoothV4L2

/// Runs only inside the virtual hardware lab (scripts/hwlab/guest-video-vivid.sh sets BOOTH_LAB_VIVID to the
/// vivid capture node): a real V4L2 driver with real formats, controls and disconnect injection.
@Suite(
    .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["BOOTH_LAB_VIVID"] != nil, "needs the hwlab vivid guest"),
    .timeLimit(.minutes(1))
)
struct VividLabTests {
    let path = ProcessInfo.processInfo.environment["BOOTH_LAB_VIVID"] ?? "/dev/video0"

    @Test func discoveryFindsVividWithFormatsAndIntervals() throws {
        let devices = V4L2Discovery.captureDevices()
        let vivid = try #require(devices.first { $0.info.path == path }, "devices: \(devices.map(\.info.path))")
        #expect(vivid.info.driver == "vivid")
        #expect(vivid.info.isVideoCapture && vivid.info.canStream)
        let yuyv = try #require(vivid.formats.first { $0.fourcc == "YUYV" })
        #expect(!yuyv.isCompressed)
        let size = try #require(yuyv.sizes.first { $0.width == 640 && $0.height == 360 })
        #expect(size.intervals.contains(V4L2Fraction(numerator: 1, denominator: 30)))
        #expect(size.intervals.contains(V4L2Fraction(numerator: 1, denominator: 15)))
        print("vivid formats: \(vivid.formats.map { "\($0.fourcc)(\($0.sizes.count) sizes)" }.joined(separator: " "))")
    }

    @Test func controlsHaveRealRangesAndAreValidated() throws {
        let device = try V4L2Device(path: path)
        let controls = try device.controls()
        let brightness = try #require(controls.first { $0.role == .brightness })
        #expect(brightness.key == "brightness")
        #expect(brightness.minimum == 0 && brightness.maximum == 255 && brightness.step == 1)
        #expect(brightness.defaultValue == 128)
        try device.set("brightness", to: 200)
        #expect(try device.value(of: brightness) == 200)
        #expect(throws: V4L2Error.outOfRange(control: "brightness", value: 256, minimum: 0, maximum: 255, step: 1)) {
            try device.set("brightness", to: 256)
        }
        #expect(try device.value(of: brightness) == 200)
        let hue = try device.control("hue")
        #expect(hue.minimum == -128 && hue.maximum == 128)
        try device.set(hue, to: -100)
        #expect(try device.value(of: hue) == -100)
        #expect(throws: V4L2Error.unsupportedControl(name: "zoom", device: path)) { try device.set("zoom", to: 1) }
        #expect(throws: V4L2Error.readOnly(control: "read_only_integer_32_bits")) {
            try device.set("read_only_integer_32_bits", to: 1)
        }
        let menu = try device.control("menu")
        #expect(menu.menuItems == [1: "Menu Item 1", 3: "Menu Item 3", 4: "Menu Item 4"])
        #expect(throws: V4L2Error.invalidMenuItem(control: "menu", value: 2, valid: [1, 3, 4])) {
            try device.set(menu, to: 2)
        }
        try device.set(menu, to: 4)
        #expect(try device.value(of: menu) == 4)
        let integerMenu = try device.control("integer_menu")
        #expect(integerMenu.menuItems[8] == "42")
        try device.set("horizontal_flip", to: 1)
        try device.set("button", to: 1)
        print(
            "vivid controls: \(controls.count), e.g. \(controls.prefix(6).map { "\($0.key)[\($0.minimum)...\($0.maximum)]" })"
        )
    }

    /// vivid implements no UVC extension unit (no lab device does): the real UVCIOC_CTRL_QUERY gets ENOTTY,
    /// reported as "not a UVC device", through the open node and through the by-path link boothd uses.
    @Test func extensionUnitQueryOnVividIsNotAUVCDevice() throws {
        let device = try V4L2Device(path: path)
        defer { device.close() }
        var data: [UInt8] = [0]
        #expect(throws: UVCExtensionError.notUVCDevice(path: path)) {
            try device.query(unit: 4, selector: 1, request: .getInfo, data: &data)
        }
        #expect(throws: UVCExtensionError.notUVCDevice(path: path)) {
            try UVCNodeLink(path: path).query(unit: 4, selector: 1, request: .getInfo, data: &data)
        }
    }

    @Test func pipelineStreamsSnapshotsRecoversFromWedgeAndReportsUnplug() async throws {
        var configuration = CameraConfiguration(
            source: .v4l2(device: path, format: .raw, mode: VideoMode(width: 640, height: 360, framesPerSecond: 15))
        )
        configuration.encoderPreset = "ultrafast"
        configuration.stallTimeout = .seconds(3)
        let camera = CameraPipeline(configuration: configuration)
        let events = camera.events()
        try await camera.start()
        var previews = camera.previewFrames().makeAsyncIterator()
        let frame = try #require(await previews.next())
        #expect(frame.width == 640 && frame.height == 360)
        let snapshot = try await camera.snapshot(timeout: .seconds(20))
        #expect(snapshot.width == 640 && snapshot.height == 360)
        let decoded = try JPEGProbe.decode(snapshot.jpeg)
        #expect(decoded.width == 640 && decoded.height == 360)
        print("vivid snapshot: \(snapshot.jpeg.count) bytes, latency \(snapshot.latency)")

        // Wedge: vivid drops every buffer, so no frame arrives; the stall is reported and the pipeline restarted.
        let device = try V4L2Device(path: path)
        try device.set("percentage_of_dropped_buffers", to: 100)
        var eventIterator = events.makeAsyncIterator()
        var stalled: CameraFault?
        let stallDeadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < stallDeadline, let event = await eventIterator.next() {
            if case .fault(let fault) = event, case .stalled = fault {
                stalled = fault
                break
            }
        }
        print("vivid wedge fault: \(String(describing: stalled))")
        #expect(stalled != nil)
        // Un-wedge: frames must flow again.
        try device.set("percentage_of_dropped_buffers", to: 0)
        let unwedged = ContinuousClock.now
        var fresh = camera.previewFrames().makeAsyncIterator()
        let resumed = try #require(await fresh.next())
        let after = ContinuousClock.now - unwedged
        print("vivid un-wedge to first frame: \(after)")
        #expect(resumed.width == 640)
        #expect(after < .seconds(10))

        // Unplug: vivid's disconnect control removes the device under the running pipeline: a typed fault.
        try device.set("disconnect", to: 1)
        device.close()
        var unplugged: CameraFault?
        let faultDeadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < faultDeadline, let event = await eventIterator.next() {
            if case .fault(let fault) = event, case .sourceUnavailable = fault {
                unplugged = fault
                break
            }
        }
        print("vivid unplug fault: \(String(describing: unplugged))")
        #expect(unplugged != nil)
        await camera.stop()
        #expect(await camera.isRunning == false)
    }
}
