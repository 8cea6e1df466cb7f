import BoothCore
import BoothProfiles
import Foundation
import Testing

/// The shipped profiles, loaded from the repository's firmware-profiles/ folder.
enum Shipped {
    static var directory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("firmware-profiles").path
    }

    static func load() throws -> ProfileSet {
        try ProfileDirectoryLoader(directories: [directory], knownDrivers: KnownDrivers.ids).load()
    }
}

@Suite("Profile matching")
struct ProfileMatchingTests {
    func best(_ words: String...) throws -> String? {
        try Shipped.load().bestMatch(try DeviceDescription.parse(words))?.profile.id
    }

    @Test func everyShippedProfileLoadsWithAKnownDriver() throws {
        let set = try Shipped.load()
        let ids = Set(set.profiles.map(\.id))
        for id in [
            "sig.plx", "sig.bps", "sig.hts", "sig.glucose", "sig.weight", "contec.cms50dplus", "berrymed.bci",
            "jumper.jpd500f", "yuwell.yx110", "viatom.o2ring", "omron.bps", "and.ua651ble", "anmo.dinolite",
            "generic.uvc-otoscope", "generic.uvc-dermatoscope", "generic.usb-audio-stethoscope",
        ] {
            #expect(ids.contains(id), "missing \(id)")
        }
        #expect(set["contec.cms50dplus"]?.serial?.description == "19200 8O1")
    }

    @Test func cms50OnItsCP210xCable() throws {
        #expect(try best("usb", "10c4:ea60") == "contec.cms50dplus")
        #expect(try best("usb:10c4:ea61") == nil)
    }

    @Test func vendorProfilesWinOverGenericSIGOnes() throws {
        #expect(try best("ble", "service=1810") == "sig.bps")
        #expect(try best("ble", "service=1810", "mfr=020e:0102") == "omron.bps")
        #expect(try best("ble", "name=A&D_UA-651BLE_8DA42A", "service=1810") == "and.ua651ble")
        #expect(try best("ble", "name=A&D_UA-651BLE_8DA42A") == "and.ua651ble")
        #expect(try best("ble", "service=1822") == "sig.plx")
        #expect(try best("ble", "service=1809") == "sig.hts")
        #expect(try best("ble", "service=1808") == "sig.glucose")
        #expect(try best("ble", "service=181d") == "sig.weight")
    }

    @Test func vendorBLEOximeters() throws {
        #expect(try best("ble", "name=BerryMed", "service=49535343-fe7d-4ae5-8fa9-9fafd205e455") == "berrymed.bci")
        // The ISSC transparent UART service alone is any serial module, not an oximeter.
        #expect(try best("ble", "service=49535343-fe7d-4ae5-8fa9-9fafd205e455") == nil)
        #expect(try best("ble", "service=cdeacb80-5235-4c07-8846-93a37ee6b86d") == "jumper.jpd500f")
        #expect(try best("ble", "name=Yuwell BO-YX110-FDC7", "service=ffe0") == "yuwell.yx110")
        #expect(try best("ble", "service=ffe0") == nil)
        #expect(try best("ble", "name=O2Ring 2081") == "viatom.o2ring")
        #expect(try best("ble", "service=14839ac4-7d7e-415c-9a42-167340cf2339") == "viatom.o2ring")
    }

    @Test func camerasAndAudio() throws {
        #expect(try best("v4l2", "card=Dino-Lite Edge", "driver=uvcvideo", "usb=a168:0981") == "anmo.dinolite")
        #expect(try best("v4l2", "card=USB OTOSCOPE", "driver=uvcvideo") == "generic.uvc-otoscope")
        #expect(try best("v4l2", "card=HD Dermatoscope", "driver=uvcvideo") == "generic.uvc-dermatoscope")
        #expect(try best("v4l2", "card=Integrated Webcam", "driver=uvcvideo") == nil)
        #expect(try best("alsa", "card=Digital Stethoscope", "id=Device") == "generic.usb-audio-stethoscope")
    }

    @Test func equallySpecificMatchesAreAmbiguous() {
        let rule = MatchRule.ble(BLEMatch(services: [GATTUUID(0x1810)]))
        let a = DeviceProfile(id: "a.one", name: "A", role: .bp, transport: .ble, driver: "ble.bps", match: [rule])
        let b = DeviceProfile(id: "b.two", name: "B", role: .bp, transport: .ble, driver: "ble.bps", match: [rule])
        let set = ProfileSet(layers: [[a, b]])
        let device = DeviceDescription.ble(BLEAdvertisement(services: [GATTUUID(0x1810)]))
        #expect(set.matches(device).map(\.profile.id) == ["a.one", "b.two"])
        #expect(set.bestMatch(device) == nil)
    }

    @Test func bcdDeviceRangeSelectsFirmwareRevision() {
        let old = DeviceProfile(
            id: "v.old",
            name: "old",
            role: .oximeter,
            transport: .usbSerial,
            driver: "contec.cms50",
            match: [.usb(USBMatch(vendorID: 0x1234, productID: 1, bcdDevice: 0x0100...0x01ff))]
        )
        let new = DeviceProfile(
            id: "v.new",
            name: "new",
            role: .oximeter,
            transport: .usbSerial,
            driver: "contec.cms50",
            match: [.usb(USBMatch(vendorID: 0x1234, productID: 1, bcdDevice: 0x0200...0x02ff))]
        )
        let set = ProfileSet(layers: [[old, new]])
        func pick(_ bcd: UInt16?) -> String? {
            set.bestMatch(.usb(USBDeviceInfo(vendorID: 0x1234, productID: 1, bcdDevice: bcd)))?.profile.id
        }
        #expect(pick(0x0150) == "v.old")
        #expect(pick(0x0200) == "v.new")
        #expect(pick(0x0300) == nil)
        #expect(pick(nil) == nil)
    }

    @Test func namePatterns() {
        #expect(NamePattern("A&D_UA-651BLE*").matches("a&d_ua-651ble_8da42a"))
        #expect(NamePattern("*otoscope*").matches("USB Otoscope HD"))
        #expect(NamePattern("O2 ?").matches("O2 x"))
        #expect(!NamePattern("O2 ?").matches("O2 xy"))
        #expect(NamePattern("*a*b*c").matches("xxaxxbxxbc"))
        #expect(!NamePattern("*a*b*c").matches("xxaxxcxxb"))
        #expect(NamePattern("*").matches(""))
        #expect(NamePattern("abc").literalCount == 3)
    }

    @Test func descriptionErrorsNameTheToken() {
        #expect(throws: DeviceDescriptionError(token: "usb", reason: "expected VID:PID, e.g. usb 10c4:ea60")) {
            try DeviceDescription.parse(["usb"])
        }
        #expect(throws: DeviceDescriptionError.self) { try DeviceDescription.parse(["ble", "colour=red"]) }
        #expect(throws: DeviceDescriptionError.self) { try DeviceDescription.parse(["serial"]) }
        #expect(throws: DeviceDescriptionError.self) { try DeviceDescription.parse([]) }
        // One argument holding the whole description, with quotes.
        let parsed = try? DeviceDescription.parse(["v4l2 card=\"Dino-Lite Edge\" driver=uvcvideo"])
        #expect(parsed == .v4l2(V4L2DeviceInfo(card: "Dino-Lite Edge", driver: "uvcvideo")))
    }
}
