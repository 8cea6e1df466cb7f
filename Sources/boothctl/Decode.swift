import ArgumentParser
import BoothCore
import Foundation

/// `boothctl decode KIND HEX [--json]`: technicians paste captured bytes and see what boothd would make of them.
struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode captured characteristic or vendor-frame bytes (JSON fields: docs/decode.md).",
        discussion: "KIND is one of:\n"
            + DecoderRegistry.all.map { "  \($0.kind.padding(toLength: 15, withPad: " ", startingAt: 0))\($0.summary)" }
            .joined(separator: "\n")
    )

    @Argument(help: "Characteristic UUID (2A35, 0x2a35) or frame type (cms50, viatom-frame, ...).") var kind: String
    @Argument(help: "The bytes in hex; spaces, ':' and '-' between bytes are allowed.") var hex: [String]
    @Flag(help: "Machine-readable output.") var json = false

    func run() throws {
        guard let entry = DecoderRegistry.entry(kind) else {
            fail("unknown kind '\(kind)'; known: \(DecoderRegistry.all.map(\.kind).joined(separator: ", "))")
        }
        let text = hex.joined().filter { $0 != ":" && $0 != "-" }
        let digits = text.lowercased().hasPrefix("0x") ? String(text.dropFirst(2)) : text
        guard let bytes = Hex.bytes(digits), !bytes.isEmpty else {
            fail("'\(hex.joined(separator: " "))' is not whole bytes of hex")
        }
        let reading: DecodedReading
        do {
            reading = try entry.decode(bytes)
        } catch {
            fail("invalid \(entry.kind) bytes: \(error)")
        }
        if json {
            print(reading.json(kind: entry.kind).rendered(pretty: true))
        } else {
            printHuman(reading, entry)
        }
    }

    private func fail(_ reason: String) -> Never {
        FileHandle.standardError.write(Data("boothctl decode: \(reason)\n".utf8))
        Foundation.exit(1)
    }

    private func printHuman(_ reading: DecodedReading, _ entry: DecoderRegistry.Entry) {
        print("\(entry.kind) \(entry.summary) — profile \(reading.profile)")
        for value in reading.values {
            let number =
                value.number.map { "\($0) \(value.unit.code)" } ?? "— (\(value.absentReason?.fhirCode ?? "absent"))"
            let loinc = value.loinc.map { ", LOINC \($0)" } ?? ""
            print(
                "  \(value.code.referenceID.padding(toLength: 34, withPad: " ", startingAt: 0)) \(number)"
                    + "   [MDC \(value.code.value)\(loinc)]"
            )
        }
        if !reading.status.isEmpty { print("  status: \(reading.status.joined(separator: ", "))") }
        if let time = reading.deviceTime {
            print("  device time: \(time)\(reading.clockUnset ? " (device clock not set)" : "")")
        } else if reading.clockUnset {
            print("  device clock not set")
        }
        print("  fields:")
        for field in reading.fields { print("    \(field.name): \(field.value)") }
    }
}
