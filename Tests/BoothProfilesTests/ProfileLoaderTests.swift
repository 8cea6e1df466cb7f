import BoothCore
import BoothProfiles
import Foundation
import Testing

@Suite("Profile loader")
struct ProfileLoaderTests {
    let valid = """
        id: contec.cms50dplus
        name: Contec CMS50D+
        role: oximeter
        transport: usb-serial
        driver: contec.cms50
        match:
          - usb:
              vendor: 0x10c4
              product: 0xea60
              bcd_device: "0x0100-0x01ff"
        serial:
          baud: 19200
          parity: odd
        options:
          frame: live5
          commands: ["f5 f5", "f6"]
        quirks:
          shared_usb_id: true
        firmware:
          verified: ["4.6"]
        trace: traces/x.trace
        """

    @Test func readsEveryField() throws {
        let profile = try ProfileLoader.parse(valid, file: "p.yaml")
        #expect(profile.id == "contec.cms50dplus")
        #expect(profile.role == .oximeter)
        #expect(profile.transport == .usbSerial)
        #expect(profile.serial == SerialSettings(baudRate: 19200, dataBits: 8, parity: .odd, stopBits: 1))
        #expect(profile.serial?.description == "19200 8O1")
        #expect(profile.match == [.usb(USBMatch(vendorID: 0x10c4, productID: 0xea60, bcdDevice: 0x0100...0x01ff))])
        #expect(profile.options["frame"] == .text("live5"))
        #expect(profile.options["commands"] == .list(["f5 f5", "f6"]))
        #expect(profile.quirks.sharedUSBID)
        #expect(profile.verifiedFirmware == ["4.6"])
        #expect(profile.trace == "traces/x.trace")
        #expect(profile.origin == ProfileOrigin(file: "p.yaml", line: 1))
    }

    /// Each broken variant must fail with the file, the line and the key of the problem.
    @Test(
        arguments: [
            ("transport: usb-serial", "transport: usb-serail", "p.yaml:4: transport: expected one of"),
            ("  parity: odd", "  parity: odd\n  speed: 3", "p.yaml:14: serial.speed: unknown key"),
            ("  baud: 19200", "  baud: 19201", "p.yaml:12: serial.baud: \"19201\" is not a supported rate"),
            ("      vendor: 0x10c4", "      vendor: 0x10c4x", "p.yaml:8: match[0].usb.vendor: expected a hex number"),
            ("      vendor: 0x10c4", "      vendor: 0x110c4", "p.yaml:8: match[0].usb.vendor: 0x110c4 is larger"),
            (
                "      bcd_device: \"0x0100-0x01ff\"", "      bcd_device: \"0x0200-0x01ff\"",
                "p.yaml:10: match[0].usb.bcd_device: range is empty",
            ),
            (
                "  shared_usb_id: true", "  shared_usb_id: maybe",
                "p.yaml:18: quirks.shared_usb_id: expected true or false"
            ),
            ("  shared_usb_id: true", "  needs_bonding: true", "p.yaml:18: quirks: needs_bonding"),
            ("id: contec.cms50dplus", "id: Contec", "p.yaml:1: id: \"Contec\" is not a profile id"),
            ("role: oximeter", "role: pulse", "p.yaml:3: role: expected one of oximeter, bp"),
            ("  - usb:", "  - ble:", "p.yaml:8: match[0].ble.vendor: unknown key"),
            ("trace: traces/x.trace", "trace: traces/x.trace\ncolour: red", "p.yaml:22: colour: unknown key"),
            ("  frame: live5", "  Frame: live5", "p.yaml:15: options.Frame: option names are lowercase"),
            ("name: Contec CMS50D+\n", "", "p.yaml:1: name: missing (required)"),
            (
                "  - usb:\n      vendor: 0x10c4\n      product: 0xea60\n      bcd_device: \"0x0100-0x01ff\"",
                "  - {usb: {vendor: 0x10c4, product: '*'}, ble: {names: [x]}}",
                "p.yaml:7: match[0]: each rule is one of"
            ),
        ]
    )
    func badInputNamesFileLineAndKey(original: String, replacement: String, expected: String) {
        let text = valid.replacingOccurrences(of: original, with: replacement)
        #expect(text != valid)
        #expect {
            _ = try ProfileLoader.parse(text, file: "p.yaml")
        } throws: { error in
            let message = "\(error)"
            if !message.hasPrefix(expected) { Issue.record("got: \(message)") }
            return message.hasPrefix(expected)
        }
    }

    @Test func bleRuleMismatchedWithTransportIsAnError() {
        let text = """
            id: x.y
            name: X
            role: bp
            transport: ble
            driver: ble.bps
            match:
              - usb: {vendor: 0x1234, product: "*"}
            """
        #expect(throws: ProfileError.self) { try ProfileLoader.parse(text, file: "x.yaml") }
        do {
            _ = try ProfileLoader.parse(text, file: "x.yaml")
        } catch {
            #expect(error.line == 7)
            #expect(error.reason.contains("cannot match a ble device"))
        }
    }

    @Test func usbSerialWithoutSerialSettingsIsAnError() {
        let text = valid.replacingOccurrences(of: "serial:\n  baud: 19200\n  parity: odd\n", with: "")
        do {
            _ = try ProfileLoader.parse(text, file: "p.yaml")
            Issue.record("expected an error")
        } catch {
            #expect(error.key == "serial")
            #expect(error.reason.contains("required for usb-serial"))
        }
    }

    @Test func yamlSyntaxErrorHasALine() {
        do {
            _ = try ProfileLoader.parse("id: a.b\nname: [unclosed\n", file: "s.yaml")
            Issue.record("expected an error")
        } catch {
            #expect(error.file == "s.yaml")
            #expect(error.line != nil)
            #expect(error.reason.hasPrefix("not valid YAML"))
        }
    }

    @Test func gattAndCameraSections() throws {
        let ble = """
            id: viatom.o2ring
            name: O2Ring
            role: oximeter
            transport: ble
            driver: viatom.o2
            match:
              - ble: {names: ["O2Ring*"], manufacturer_data: {company: 0x020e, prefix: "01 02"}}
            gatt:
              service: 14839ac4-7d7e-415c-9a42-167340cf2339
              notify: [0x2a5f]
              write: 8b00ace7-eb0b-49b0-bbe9-9aee0a26e1a3
              start_commands: ["aa 17 e8 00 00 00 00 1b"]
            """
        let profile = try ProfileLoader.parse(ble, file: "b.yaml")
        #expect(profile.gatt?.notify == [GATTUUID(0x2A5F)])
        #expect(profile.gatt?.startCommands == [[0xaa, 0x17, 0xe8, 0, 0, 0, 0, 0x1b]])
        guard case .ble(let rule) = profile.match.first else {
            Issue.record("expected a ble rule")
            return
        }
        #expect(rule.manufacturerData == ManufacturerDataMatch(companyID: 0x020E, prefix: [1, 2]))

        let camera = """
            id: generic.cam
            name: Cam
            role: otoscope
            transport: v4l2
            driver: v4l2.uvc
            match:
              - v4l2: {names: ["*otoscope*"], usb: {vendor: 0xa168, product: "*"}}
            quirks:
              camera_controls:
                - {control: brightness, min: -64, max: 64, default: 0}
              led_extension_unit: {guid: 12345678-1234-1234-1234-123456789abc, selector: 3, on: "01", off: "00"}
            """
        let cam = try ProfileLoader.parse(camera, file: "c.yaml")
        #expect(
            cam.quirks.cameraControls == [
                CameraControlRange(control: "brightness", minimum: -64, maximum: 64, defaultValue: 0)
            ]
        )
        #expect(cam.quirks.ledExtensionUnit?.selector == 3)
        #expect(cam.quirks.ledExtensionUnit?.on == [1])
        let outOfRange = camera.replacingOccurrences(of: "default: 0", with: "default: 65")
        #expect(throws: ProfileError.self) { try ProfileLoader.parse(outOfRange, file: "c.yaml") }
    }
}

@Suite("Profile advertising mode")
struct ProfileAdvertisingModeTests {
    func profile(_ mode: String) -> String {
        """
        id: omron.test
        name: Omron
        role: bp
        transport: ble
        driver: ble.bps
        match:
          - ble: {services: [0x1810], manufacturer_data: {company: 0x020e}}
        advertising_mode:
        \(mode)
        """
    }

    @Test func shippedOmronProfileDeclaresItsModeByte() throws {
        let omron = try #require(try Shipped.load()["omron.bps"])
        #expect(
            omron.advertisingMode
                == BLEAdvertisingMode(companyID: 0x020E, offset: 1, mask: 0x08, pairing: 0x08, transfer: 0x00)
        )
    }

    @Test func readsTheModeSection() throws {
        let parsed = try ProfileLoader.parse(
            profile("  company: 0x020e\n  byte: 1\n  mask: 0x08\n  pairing: 0x08\n  transfer: 0"),
            file: "o.yaml"
        )
        #expect(parsed.advertisingMode?.mode(of: BLEAdvertisement(manufacturerData: [0x020E: [1, 9]])) == .pairing)
    }

    @Test func badModeSectionsNameFileLineAndKey() throws {
        let cases: [(String, String)] = [
            (
                "  company: 0x020e\n  byte: 1\n  mask: 0x08\n  pairing: 0x10\n  transfer: 0",
                "o.yaml:11: advertising_mode.mask: pairing and transfer must be values of the mask's bits"
            ),
            (
                "  company: 0x020e\n  byte: 1\n  mask: 0x08\n  pairing: 0x08\n  transfer: 0x08",
                "o.yaml:12: advertising_mode.pairing: pairing and transfer must differ"
            ),
            ("  company: 0x020e\n  byte: 1\n  mask: 0x08\n  pairing: 0x08", "advertising_mode.transfer: missing"),
            (
                "  company: 0x020e\n  byte: 40\n  mask: 0x08\n  pairing: 0x08\n  transfer: 0",
                "o.yaml:10: advertising_mode.byte: 40 is out of range 0...28"
            ),
            (
                "  company: 0x020e\n  byte: 1\n  mask: 0x08\n  pairing: 0x08\n  transfer: 0\n  colour: red",
                "o.yaml:14: advertising_mode.colour: unknown key"
            ),
        ]
        for (section, expected) in cases {
            do {
                _ = try ProfileLoader.parse(profile(section), file: "o.yaml")
                Issue.record("accepted \(section)")
            } catch {
                #expect(error.description.contains(expected), "\(error.description) lacks \(expected)")
            }
        }
    }
}
