import BoothCore
import BoothProfiles
import Foundation
import Testing

@Suite("Traces and udev rules")
struct TraceAndUdevTests {
    @Test func traceParsesAndReplaysThroughTheLink() async throws {
        let trace = try DeviceTrace.parse(
            """
            # comment
            @ profile viatom.o2ring
            @ synthetic
            < 01 02
            > aa 17
            < 03
            = spo2=98 pulse_rate=66
            """
        )
        #expect(trace.metadata["profile"] == "viatom.o2ring")
        #expect(trace.isSynthetic)
        #expect(trace.entries.count == 4)
        #expect(trace.receivedBytes == [1, 2, 3])

        let link = TraceReplayLink(trace: trace)
        let stream = try await link.received()
        var iterator = stream.makeAsyncIterator()
        #expect(try await iterator.next() == [1, 2])
        // A wrong command fails byte-exactly; the right one releases the rest of the device's bytes.
        await #expect(throws: TraceMismatch(expected: [0xaa, 0x17], actual: [0xaa, 0x18])) {
            try await link.send([0xaa, 0x18])
        }
        try await link.send([0xaa, 0x17])
        #expect(try await iterator.next() == [3])
        #expect(try await iterator.next() == nil)
        await #expect(throws: TraceMismatch.self) { try await link.send([0]) }
    }

    @Test func traceErrorsNameTheLine() {
        #expect(throws: DeviceTraceError(line: 2, reason: "expected whole bytes of hex after '<'")) {
            try DeviceTrace.parse("< 01\n< 0g\n")
        }
        #expect(throws: DeviceTraceError(line: 1, reason: "lines start with #, @, >, < or =")) {
            try DeviceTrace.parse("01 02\n")
        }
        #expect(throws: DeviceTraceError(line: nil, reason: "no device bytes ('<' lines)")) {
            try DeviceTrace.parse("> 01\n")
        }
    }

    @Test func everyShippedTraceParsesAndNamesItsProfile() throws {
        let set = try Shipped.load()
        let withTraces = set.profiles.filter { $0.trace != nil }
        #expect(withTraces.count >= 5)
        for profile in withTraces {
            let path = try #require(ProfileDirectoryLoader.tracePath(of: profile))
            let trace = try ProfileDirectoryLoader.loadTrace(path)
            #expect(trace.metadata["profile"] == profile.id, "\(path)")
            #expect(!trace.receivedBytes.isEmpty)
        }
    }

    @Test func committedUdevRulesEqualTheGeneratedOnes() throws {
        let generated = UdevRules.generate(try Shipped.load())
        let committedPath = URL(fileURLWithPath: Shipped.directory).deletingLastPathComponent()
            .appendingPathComponent("udev/70-boothd.rules").path
        let committed = try String(contentsOfFile: committedPath, encoding: .utf8)
        #expect(committed == generated, "regenerate with: boothctl profiles udev-rules > udev/70-boothd.rules")
    }

    @Test func udevRulesForSerialCameraAndAudio() throws {
        let rules = UdevRules.generate(try Shipped.load())
        #expect(
            rules.contains(
                "SUBSYSTEM==\"tty\", ATTRS{idVendor}==\"10c4\", ATTRS{idProduct}==\"ea60\", MODE=\"0660\", "
                    + "GROUP=\"boothd\", TAG+=\"systemd\", ENV{ID_BOOTHD_PROFILE}=\"contec.cms50dplus\", "
                    + "SYMLINK+=\"booth/contec.cms50dplus-%k\""
            )
        )
        #expect(rules.contains("ATTRS{idVendor}==\"a168\", ENV{ID_USB_DRIVER}==\"uvcvideo\""))
        #expect(rules.contains("SYMLINK+=\"booth/otoscope\""))
        #expect(rules.contains("ATTR{name}==\"*[oO][tT][oO][sS][cC][oO][pP][eE]*\""))
        // BLE profiles have no device node.
        #expect(!rules.contains("sig.plx"))
    }
}

@Suite("Trace replay with the decoders")
struct TraceReplayTests {
    @Test func everyShippedTraceDecodesAsItsExpectationsSay() async throws {
        let set = try Shipped.load()
        var checked = 0
        for profile in set.profiles {
            guard let path = ProfileDirectoryLoader.tracePath(of: profile) else { continue }
            let outcome = try await TraceReplay.run(try ProfileDirectoryLoader.loadTrace(path), for: profile)
            #expect(outcome.expectationsChecked > 0, "\(profile.id)")
            checked += outcome.expectationsChecked
        }
        #expect(checked >= 9)
    }

    static let cms50 = DeviceProfile(
        id: "contec.cms50dplus",
        name: "CMS50",
        role: .oximeter,
        transport: .usbSerial,
        driver: "contec.cms50",
        match: [.usb(USBMatch(vendorID: 0x10c4, productID: 0xea60))],
        serial: SerialSettings(baudRate: 19200)
    )

    @Test func framesSplitAcrossChunksAreReassembled() async throws {
        let trace = try DeviceTrace.parse("< 87 32\n< 05 48 62 87\n< 32 05 48 62\n= spo2=98 pulse_rate=72\n")
        let outcome = try await TraceReplay.run(trace, for: Self.cms50)
        #expect(outcome.deviceChunks == 3)
        #expect(outcome.frames == 2)
        #expect(outcome.expectationsChecked == 1)
    }

    @Test func aWrongExpectationFails() async throws {
        let trace = try DeviceTrace.parse("< 87 32 05 48 62\n= spo2=97\n")
        await #expect {
            try await TraceReplay.run(trace, for: Self.cms50)
        } throws: { error in
            "\(error)" == "spo2: trace expects 97, decoder gives 98"
        }
    }

    @Test func aTraceForAnotherProfileIsRejected() async throws {
        let trace = try DeviceTrace.parse("@ profile berrymed.bci\n< 87 32 05 48 62\n")
        await #expect(throws: TraceReplay.Failure.self) { try await TraceReplay.run(trace, for: Self.cms50) }
    }
}
