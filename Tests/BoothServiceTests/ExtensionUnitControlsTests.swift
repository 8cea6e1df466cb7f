import BoothCore
import BoothService
import Synchronization
import Testing

/// An emulated UVC device with one extension unit (unit 4): selector 1 a 1-byte LED switch, selector 2 a
/// 2-byte signed polarization angle the device limits to -300...1000. Replies as uvcvideo would.
final class EmulatedXUDevice: UVCExtensionLink {
    let current = Mutex<[UInt8: [UInt8]]>([1: [0x00], 2: [0x00, 0x00]])
    let sets = Mutex<[[UInt8]]>([])

    func query(unit: UInt8, selector: UInt8, request: UVCRequest, data: inout [UInt8]) throws(UVCExtensionError) {
        guard unit == 4, selector == 1 || selector == 2 else {
            throw .queryFailed(control: "", request: request, errno: 2)
        }
        let size: UInt8 = selector == 1 ? 1 : 2
        switch request {
        case .getInfo: data = [0x03]
        case .getLength: data = [size, 0]
        case .getMinimum: data = selector == 1 ? [0] : [0xD4, 0xFE]
        case .getMaximum: data = selector == 1 ? [1] : [0xE8, 0x03]
        case .getCurrent: data = current.withLock { $0[selector] ?? [] }
        case .setCurrent:
            sets.withLock { $0.append([selector] + data) }
            let payload = data
            current.withLock { $0[selector] = payload }
        default: throw .queryFailed(control: "", request: request, errno: 22)
        }
    }
}

/// A non-UVC node (vivid, v4l2loopback): every query is ENOTTY.
struct NotUVCLink: UVCExtensionLink {
    func query(unit: UInt8, selector: UInt8, request: UVCRequest, data: inout [UInt8]) throws(UVCExtensionError) {
        throw .notUVCDevice(path: "/dev/video0")
    }
}

/// The V4L2 side: brightness and an `led` the driver maps (which the profile's XU replaces).
struct FixedControls: CameraControlling {
    func controls() -> [CameraControlInfo] {
        [
            CameraControlInfo(name: "brightness", minimum: 0, maximum: 255, step: 1, defaultValue: 128, value: 128),
            CameraControlInfo(name: "led", minimum: 0, maximum: 3, step: 1, defaultValue: 0, value: 0),
        ]
    }
    func apply(_ control: CameraControlInfo, value: Int64) -> CameraControlInfo {
        var applied = control
        applied.value = value
        return applied
    }
}

@Suite("Camera controls with UVC extension units")
struct ExtensionUnitControlsTests {
    let declared = [
        UVCExtensionControl(name: "led", unit: 4, selector: 1, size: 1, type: .boolean, minimum: 0, maximum: 1),
        UVCExtensionControl(
            name: "polarization",
            unit: 4,
            selector: 2,
            size: 2,
            type: .signed,
            minimum: -500,
            maximum: 500,
            step: 10
        ),
    ]

    @Test func listedAndSetLikeV4L2Controls() async throws {
        let device = EmulatedXUDevice()
        let controls = ExtensionUnitCameraControls(base: FixedControls(), declared: declared, link: device)
        let listed = try await controls.controls()
        #expect(
            listed.map(\.description) == ["brightness 0…255 step 1", "led 0…1 step 1", "polarization -300…500 step 10"]
        )

        let angle = try await controls.set("polarization", to: -120)
        #expect(angle.value == -120)
        let led = try await controls.set("led", to: 1)
        #expect(led.value == 1)
        #expect(device.sets.withLock { $0 } == [[2, 0x88, 0xFF], [1, 0x01]])
        #expect(try await controls.set("brightness", to: 200).value == 200)

        for (name, value, code) in [
            ("polarization", Int64(-400), "invalid_argument"), ("polarization", 15, "invalid_argument"),
            ("led", 2, "invalid_argument"), ("zoom", 1, "not_supported"),
        ] {
            let error = await #expect(throws: DeviceCommandError.self) { try await controls.set(name, to: value) }
            #expect(error?.code == code)
        }
        #expect(device.sets.withLock { $0.count } == 2)
    }

    @Test func aNonUVCNodeGivesATypedError() async throws {
        let controls = ExtensionUnitCameraControls(base: FixedControls(), declared: declared, link: NotUVCLink())
        let listed = try await controls.controls()
        #expect(listed.map(\.name) == ["brightness", "led", "polarization"])
        let error = await #expect(throws: DeviceCommandError.self) { try await controls.set("led", to: 1) }
        #expect(error?.code == "not_supported")
        #expect(error?.message.contains("not a UVC device") == true)
    }
}
