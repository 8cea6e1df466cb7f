import ArgumentParser
import BoothBlueZ
import BoothCore
import BoothRender
import Foundation

/// `boothctl ecg record ADDRESS`: records N seconds of ECG from a Polar-H10-like strap over BlueZ (in process, no
/// boothd), writes the recording JSON and optionally the standard strip. For the technician and the BLE lab.
struct ECGRecordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Record ECG from a BLE strap with the Polar PMD service (e.g. Polar H10) and render the strip.",
        discussion: """
            Connects through bluetoothd (pair first with `boothctl pair` if the strap needs it), starts ECG at the
            native rate, collects RR intervals from Heart Rate Measurement meanwhile, and stops after --seconds of
            timeline (gaps included). A disconnect keeps what arrived, marked incomplete (exit 3).
            """
    )

    @Argument(help: "The strap's address, e.g. A0:9E:1A:01:02:03.") var address: String
    @Option(help: "Adapter (hci0...) or its address; default: the first powered one.") var adapter: String?
    @Option(help: "Seconds of ECG to record.") var seconds: Double = 30
    @Option(help: "Seconds to connect and find the services.") var connectTimeout: Double = 40
    @Option(name: .shortAndLong, help: "Recording JSON file.") var output: String
    @Option(help: "Also render the strip as PDF here.") var pdf: String?
    @Option(help: "Also render page 1 of the strip as PNG here.") var png: String?
    @Flag(help: "Machine-readable summary.") var json = false

    func run() async throws {
        guard seconds >= 1, seconds <= 3600 else { throw ValidationError("--seconds must be from 1 to 3600") }
        let central = try await BlueZCentral.connect()
        defer { central.close() }
        let chosen = try await central.adapter(preferred: adapter)
        let session = BLEDeviceSession(
            central: central,
            adapter: chosen.name,
            address: address,
            policy: ReconnectPolicy(initialDelay: 1, connectTimeout: 20)
        )
        let events = await session.run()
        let link: BlueZGATTLink? = try await within(seconds: connectTimeout, else: nil) {
            for await event in events {
                if case .connected(let link, _) = event { return link }
            }
            return nil
        }
        guard let link else { throw ValidationError("\(address): not connected within \(connectTimeout) s") }
        // The services may still be appearing just after the connection (Service Changed).
        let needed = [PolarPMD.controlPoint, PolarPMD.data, HeartRateMeasurement.characteristic]
        let devicePath = link.devicePath
        try await central.wait(for: "the PMD and Heart Rate characteristics", timeout: 15) { tree, running in
            guard running else { return false }
            let present = Set(tree.characteristics(device: devicePath).map(\.uuid))
            return needed.allSatisfy(present.contains) ? true : nil
        }
        let identity = DeviceIdentity(
            id: "ble:" + address.uppercased(),
            transport: "ble",
            model: (try? await link.read(GATTUUID(0x2A24))).flatMap { try? DeviceInformationString(bytes: $0).text },
            manufacturer: (try? await link.read(GATTUUID(0x2A29))).flatMap {
                try? DeviceInformationString(bytes: $0).text
            },
            profile: "polar.h10"
        )
        let started = ContinuousClock.now
        let result = try await PolarPMDRecorder(link: link, device: identity).record(seconds: seconds)
        let elapsed = ContinuousClock.now - started
        let recording = result.recording
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try encoder.encode(recording).write(to: URL(fileURLWithPath: output))
        let strip = ECGStrip(recording: recording)
        if let pdf { try strip.writePDF(to: pdf) }
        if let png { try strip.writePNG(to: png) }
        let lead = recording.leads.first
        let summary = RecordSummary(
            device: identity.id,
            samples: lead?.samples.count ?? 0,
            missingSamples: lead?.missingCount ?? 0,
            gaps: lead?.gaps.count ?? 0,
            sampleRateHz: lead?.sampleRateHz ?? 0,
            durationSeconds: lead?.durationSeconds ?? 0,
            rrIntervals: recording.rrIntervals1024.count,
            meanHeartRate: recording.meanHeartRateFromRR,
            incomplete: recording.incomplete,
            contactLostNotifications: result.contactLostNotifications,
            rejectedFrames: result.rejectedFrames.count,
            recordSeconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
            pages: strip.pageCount
        )
        if json {
            try printJSON(summary)
        } else {
            print(
                "\(summary.samples) samples (\(summary.gaps) gap(s), \(summary.missingSamples) missing) at "
                    + "\(Int(summary.sampleRateHz)) Hz, mean heart rate "
                    + (summary.meanHeartRate.map { String(format: "%.1f /min", $0) } ?? "n/a")
                    + (summary.incomplete ? " — INCOMPLETE" : "") + "; wrote \(output)"
            )
        }
        if recording.incomplete { throw ExitCode(3) }
    }

    struct RecordSummary: Encodable {
        var device: String
        var samples: Int
        var missingSamples: Int
        var gaps: Int
        var sampleRateHz: Double
        var durationSeconds: Double
        var rrIntervals: Int
        var meanHeartRate: Double?
        var incomplete: Bool
        var contactLostNotifications: Int
        var rejectedFrames: Int
        var recordSeconds: Double
        var pages: Int
    }
}
