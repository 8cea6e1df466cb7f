import BoothCore
import Glibc
import Testing

@testable import BoothV4L2

@Suite struct V4L2ControlTests {
    let brightness = V4L2Control(
        id: 0x0098_0900,
        name: "Brightness",
        type: .integer,
        minimum: 0,
        maximum: 255,
        step: 1,
        defaultValue: 128
    )
    let zoom = V4L2Control(
        id: 0x009A_090D,
        name: "Zoom, Absolute",
        type: .integer,
        minimum: 100,
        maximum: 500,
        step: 10,
        defaultValue: 100
    )

    @Test func keysFollowV4L2CtlStyle() {
        #expect(V4L2Control.key(for: "Zoom, Absolute") == "zoom_absolute")
        #expect(V4L2Control.key(for: "Exposure Time, Absolute") == "exposure_time_absolute")
        #expect(V4L2Control.key(for: "LED1 Mode") == "led1_mode")
        #expect(V4L2Control.key(for: "  Brightness ") == "brightness")
    }

    @Test func rolesFromStandardIDsAndLEDNames() {
        #expect(brightness.role == .brightness)
        #expect(zoom.role == .zoom)
        #expect(CameraControlRole.of(id: 0x009A_090A, name: "Focus, Absolute") == .focus)
        #expect(CameraControlRole.of(id: 0x009A_0902, name: "Exposure Time, Absolute") == .exposure)
        #expect(CameraControlRole.of(id: 0x0A04_6D01, name: "LED1 Mode") == .led)
        #expect(CameraControlRole.of(id: 0x0098_F901, name: "Boolean") == nil)
    }

    @Test func valuesAreValidatedAgainstRangeAndStep() throws {
        try brightness.validate(0)
        try brightness.validate(255)
        #expect(throws: V4L2Error.outOfRange(control: "brightness", value: 256, minimum: 0, maximum: 255, step: 1)) {
            try brightness.validate(256)
        }
        #expect(throws: V4L2Error.outOfRange(control: "brightness", value: -1, minimum: 0, maximum: 255, step: 1)) {
            try brightness.validate(-1)
        }
        try zoom.validate(250)
        #expect(
            throws: V4L2Error.outOfRange(control: "zoom_absolute", value: 255, minimum: 100, maximum: 500, step: 10)
        ) {
            try zoom.validate(255)
        }
    }

    @Test func menusReadOnlyAndUnsupportedTypes() throws {
        let menu = V4L2Control(
            id: 0x0098_F904,
            name: "Menu",
            type: .menu,
            minimum: 1,
            maximum: 4,
            step: 1,
            defaultValue: 3,
            menuItems: [1: "Menu Item 1", 3: "Menu Item 3", 4: "Menu Item 4"]
        )
        try menu.validate(3)
        #expect(throws: V4L2Error.invalidMenuItem(control: "menu", value: 2, valid: [1, 3, 4])) { try menu.validate(2) }
        let readOnly = V4L2Control(
            id: 0x0098_F90C,
            name: "Read-Only Integer 32 Bits",
            type: .integer,
            minimum: 0,
            maximum: 255,
            step: 1,
            defaultValue: 0,
            flags: 0x0004
        )
        #expect(throws: V4L2Error.readOnly(control: "read_only_integer_32_bits")) { try readOnly.validate(1) }
        let text = V4L2Control(
            id: 0x0098_F905,
            name: "String",
            type: .string,
            minimum: 2,
            maximum: 4,
            step: 1,
            defaultValue: 0
        )
        #expect(throws: V4L2Error.unsupportedControlType(name: "string", type: "string")) { try text.validate(1) }
    }

    @Test func fourccText() {
        #expect(V4L2PixelFormat.fourcc(0x5659_5559) == "YUYV")
        #expect(V4L2PixelFormat.fourcc(0x4750_4A4D) == "MJPG")
        #expect(V4L2PixelFormat.fourcc(0x2036_3159 | 0x8000_0000) == "Y16-BE")
        #expect(V4L2Fraction(numerator: 1, denominator: 30).framesPerSecond == 30)
    }

    @Test func openErrorsAreTyped() {
        #expect(throws: V4L2Error.openFailed(path: "/dev/video-absent", errno: 2)) {
            try V4L2Device(path: "/dev/video-absent")
        }
        // /dev/null answers the V4L2 capability query with ENOTTY.
        #expect(throws: V4L2Error.notCaptureDevice(path: "/dev/null")) { try V4L2Device(path: "/dev/null") }
        #expect(V4L2Discovery.captureDevices(directory: "/nonexistent").isEmpty)
    }
}

/// The real `UVCIOC_CTRL_QUERY` ioctl on a node whose driver is not uvcvideo answers ENOTTY: reported as
/// "not a UVC device" (no lab device implements extension units, so this error path is what CI can check).
@Suite struct UVCExtensionIoctlTests {
    @Test func nonUVCNodeIsNotAUVCDevice() throws {
        let fd = open("/dev/null", O_RDWR)
        try #require(fd >= 0)
        defer { close(fd) }
        var data: [UInt8] = [0]
        let error = #expect(throws: UVCExtensionError.self) {
            try UVCExtensionQuery.perform(
                fd: fd,
                path: "/dev/null",
                unit: 4,
                selector: 1,
                request: .getInfo,
                data: &data
            )
        }
        #expect(error == .notUVCDevice(path: "/dev/null"))
        #expect(error?.description.hasPrefix("/dev/null is not a UVC device") == true)
        let link = UVCNodeLink(path: "/nonexistent/video9")
        #expect(throws: UVCExtensionError.queryFailed(control: "unit 4 selector 1", request: .getInfo, errno: 2)) {
            try link.query(unit: 4, selector: 1, request: .getInfo, data: &data)
        }
    }
}
