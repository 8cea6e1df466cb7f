import CGio
import Testing

@testable import BoothBlueZ

/// The codec against real GLib: what boothd sends is printed by GLib in D-Bus text form, and everything BlueZ's
/// API uses survives a round trip.
@Suite("GVariant codec")
struct GVariantCodecTests {
    /// Encodes, lets GLib print it, decodes it back.
    func roundTrip(_ value: DBusValue) -> (text: String, back: DBusValue) {
        let variant = g_variant_ref_sink(GVariantCodec.encode(value))
        defer { g_variant_unref(variant) }
        guard let variant, let printed = g_variant_print(variant, 1) else { return ("", .unsupported(signature: "")) }
        defer { g_free(printed) }
        return (String(cString: printed), GVariantCodec.decode(variant))
    }

    @Test func discoveryFilterArgument() {
        let argument: DBusValue = .tuple([
            .dictionary(["Transport": .string("le"), "UUIDs": .stringArray(["00001822-0000-1000-8000-00805f9b34fb"])])
        ])
        let (text, back) = roundTrip(argument)
        #expect(text == "({'Transport': <'le'>, 'UUIDs': <['00001822-0000-1000-8000-00805f9b34fb']>},)")
        #expect(back == argument)
        #expect(argument.signature == "(a{sv})")
    }

    @Test func writeValueArgumentKeepsBytesExact() {
        let bytes: [UInt8] = [0x01, 0x00, 0xFF, 0x7F, 0x80]
        let argument: DBusValue = .tuple([.bytes(bytes), .dictionary(["type": .string("request")])])
        let (text, back) = roundTrip(argument)
        #expect(text == "([byte 0x01, 0x00, 0xff, 0x7f, 0x80], {'type': <'request'>})")
        #expect(back.tupleMembers?.first?.bytes == bytes)
        #expect(roundTrip(.bytes([])).back == .bytes([]))
    }

    @Test func everyScalarAndContainer() {
        let values: [DBusValue] = [
            .boolean(true), .byte(7), .int16(-42), .uint16(0xFFFF), .int32(-1), .uint32(7), .int64(-5),
            .uint64(1 << 40), .double(36.6), .string("VLab"), .objectPath("/org/bluez/hci0"),
            .uint16Dictionary([0x00D2: .bytes([1, 2])]), .variant(.string("x")),
            .array(elementSignature: "o", [.objectPath("/a"), .objectPath("/b")]),
            .tuple([.objectPath("/org/bluez/hci0"), .stringArray(["org.bluez.Adapter1"])]),
        ]
        for value in values {
            #expect(roundTrip(value).back == value, "\(value.signature)")
        }
    }

    @Test func nestedDictionariesAsInManagedObjects() {
        let reply: DBusValue = .tuple([
            .array(
                elementSignature: "{oa{sa{sv}}}",
                [
                    .tuple([
                        .objectPath("/org/bluez/hci0"),
                        .array(
                            elementSignature: "{sa{sv}}",
                            [.tuple([.string("org.bluez.Adapter1"), .dictionary(["Powered": .boolean(true)])])]
                        ),
                    ])
                ]
            )
        ])
        let (text, back) = roundTrip(reply)
        #expect(text == "({objectpath '/org/bluez/hci0': {'org.bluez.Adapter1': {'Powered': <true>}}},)")
        #expect(back == reply)
        var tree = BlueZObjectTree()
        #expect(throws: Never.self) { try tree.load(managedObjects: back) }
        #expect(tree.adapters().first?.powered == true)
    }
}
