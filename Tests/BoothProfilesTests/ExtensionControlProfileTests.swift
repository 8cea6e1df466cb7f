import BoothCore
import BoothProfiles
import Foundation
import Testing

@Suite("Profile extension-unit controls")
struct ExtensionControlProfileTests {
    let camera = """
        id: generic.cam
        name: Cam
        role: dermatoscope
        transport: v4l2
        driver: v4l2.uvc
        match:
          - v4l2: {names: ["*dermatoscope*"]}
        quirks:
          extension_controls:
            - {name: led, unit: 4, selector: 1, type: boolean, access: write}
            - name: polarization
              unit: 4
              selector: 2
              size: 2
              type: signed
              min: -500
              max: 500
              step: 10
              default: 0
        """

    @Test func parsesDeclaredControls() throws {
        let profile = try ProfileLoader.parse(camera, file: "cam.yaml")
        #expect(
            profile.quirks.extensionControls == [
                UVCExtensionControl(
                    name: "led",
                    unit: 4,
                    selector: 1,
                    size: 1,
                    type: .boolean,
                    minimum: 0,
                    maximum: 1,
                    access: .write
                ),
                UVCExtensionControl(
                    name: "polarization",
                    unit: 4,
                    selector: 2,
                    size: 2,
                    type: .signed,
                    minimum: -500,
                    maximum: 500,
                    step: 10,
                    defaultValue: 0,
                    access: .readWrite
                ),
            ]
        )
    }

    /// Each bad declaration names file:line and the key.
    @Test(arguments: [
        (
            "min: -500", "min: -40000",
            "cam.yaml:16: quirks.extension_controls[1].min: -40000 is out of range -32768...32767"
        ),
        ("max: 500", "max: -600", "cam.yaml:17: quirks.extension_controls[1].max: max is below min"),
        ("size: 2", "size: 9", "cam.yaml:14: quirks.extension_controls[1].size: 9 is out of range 1...8"),
        ("unit: 4\n", "unit: 0\n", "cam.yaml:12: quirks.extension_controls[1].unit: 0 is out of range 1...255"),
        (
            "type: signed", "type: float",
            "cam.yaml:15: quirks.extension_controls[1].type: expected one of unsigned, signed, boolean, got \"float\""
        ),
        (
            "access: write", "access: maybe",
            "cam.yaml:10: quirks.extension_controls[0].access: expected one of read, write, read_write, got \"maybe\""
        ),
        (
            "name: polarization", "name: led",
            "cam.yaml:11: quirks.extension_controls[1].name: \"led\" is declared twice"
        ),
        (
            "step: 10", "stride: 10",
            "cam.yaml:18: quirks.extension_controls[1].stride: unknown key (known here: access, default, max, min, name, selector, size, step, type, unit)"
        ),
        ("transport: v4l2", "transport: usb-hid", ""),
    ])
    func badDeclarationsNameFileAndLine(replace: String, with: String, expected: String) {
        let text = camera.replacingOccurrences(of: replace, with: with)
        let error = #expect(throws: ProfileError.self) { try ProfileLoader.parse(text, file: "cam.yaml") }
        if !expected.isEmpty { #expect(error?.description == expected) }
        #expect(error?.line != nil)
    }
}
