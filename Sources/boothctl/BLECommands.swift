import ArgumentParser
import BoothBlueZ
import BoothCore
import Foundation
import Synchronization

/// `boothctl scan`: lists BLE devices advertising the medical services (or the given UUIDs / name prefixes).
struct ScanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Scan for Bluetooth LE devices (by default those advertising a medical service)."
    )

    @Option(help: "Adapter (hci0...) or its address; default: the first powered one.") var adapter: String?
    @Option(help: "How long to scan, seconds.") var seconds: Double = 10
    @Option(name: .customLong("uuid"), help: "Service UUID to look for (repeatable; 1822 or full 128-bit).")
    var uuids: [String] = []
    @Option(name: .customLong("name"), help: "Name prefix to look for (repeatable).") var names: [String] = []
    @Flag(help: "List every device, not only medical ones.") var all = false
    @Option(help: "Exit as soon as a device with this address is seen.") var until: String?
    @Flag(help: "Machine-readable output: one JSON object per line.") var json = false

    func run() async throws {
        var services = try uuids.map { text in
            guard let uuid = GATTUUID(string: text) else { throw ValidationError("--uuid \(text): not a UUID") }
            return uuid
        }
        if services.isEmpty && names.isEmpty && !all { services = BLEDiscoveryFilter.medicalServices }
        let filter = BLEDiscoveryFilter(serviceUUIDs: services, namePrefixes: names)
        let central = try await BlueZCentral.connect()
        defer { central.close() }
        let chosen = try await central.adapter(preferred: adapter)
        let devices = try await central.scan(adapter: chosen.name, filter: filter)
        let target = until?.uppercased()
        let json = json
        let seconds = seconds
        let found = try await within(seconds: seconds, else: false) {
            var seen: Set<String> = []
            for await device in devices {
                guard seen.insert(device.address).inserted else { continue }
                try BLEOutput.device(device, json: json)
                if device.address == target { return true }
            }
            return false
        }
        if target != nil && !found { throw ExitCode(1) }
    }
}

/// `boothctl pair ADDRESS`: bonds with a device through boothd's agent (Just Works, a given passkey, or a
/// technician at the terminal) and trusts it.
struct PairCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pair",
        abstract: "Pair (bond) with a Bluetooth LE device and trust it, so it reconnects by itself.",
        discussion: """
            Without --passkey and without a terminal: Just Works (the agent is NoInputNoOutput). With --passkey: \
            the agent is KeyboardOnly and enters that passkey when the device asks for one. At a terminal (stdin \
            and stderr): passkeys are asked for, confirmed or shown there.
            """
    )

    @Argument(help: "The device's address, e.g. C0:26:DA:01:02:03.") var address: String
    @Option(help: "Adapter (hci0...) or its address; default: the first powered one.") var adapter: String?
    @Option(help: "Seconds to find the device and pair.") var timeout: Double = 30
    @Option(help: "The passkey (up to 6 digits) the device shows or expects.") var passkey: String?
    @Flag(help: "Machine-readable output.") var json = false

    func validate() throws {
        if let passkey, passkey.isEmpty || passkey.count > 6 || !passkey.allSatisfy({ $0.isASCII && $0.isNumber }) {
            throw ValidationError("--passkey must be 1 to 6 digits (0-999999), not \"\(passkey)\"")
        }
    }

    func run() async throws {
        let agent = PairingAgentOptions(
            passkey: passkey.flatMap { UInt32($0) },
            prompt: passkey == nil && isatty(0) == 1 && isatty(2) == 1 ? TerminalPairingPrompt() : nil
        )
        let central = try await BlueZCentral.connect()
        defer { central.close() }
        let chosen = try await central.adapter(preferred: adapter)
        guard let path = BlueZPath.device(adapter: chosen.name, address: address) else {
            throw ValidationError("\(address) is not a Bluetooth address (expected XX:XX:XX:XX:XX:XX)")
        }
        try await central.registerAgent(agent)
        if central.objects.device(path) == nil {
            try await central.startDiscovery(adapter: chosen.name, filter: BLEDiscoveryFilter())
            try await central.wait(
                for: "finding \(address)",
                timeout: timeout,
                failure: BlueZError.deviceNotFound(address)
            ) { tree, running in running ? (tree.device(path) != nil ? true : nil) : false }
            await central.stopDiscovery(adapter: chosen.name)
        }
        do {
            try await central.pair(device: path, timeout: timeout, agent: agent)
        } catch let error as PairingError {
            if json {
                try BLEOutput.line(["event": "pair-failed", "address": address.uppercased(), "error": error.reason])
            }
            throw error
        }
        let device = central.objects.device(path)
        if json {
            try BLEOutput.line([
                "event": "paired", "address": address.uppercased(), "paired": String(device?.paired ?? false),
                "trusted": String(device?.trusted ?? false),
            ])
        } else {
            print(
                "paired \(address.uppercased()) (bonded: \(device?.paired ?? false), trusted: \(device?.trusted ?? false))"
            )
        }
    }
}

/// Pairing questions on the technician's terminal (stderr for the question, stdin for the answer).
struct TerminalPairingPrompt: PairingPrompt {
    func passkey(device: String) -> UInt32? {
        FileHandle.standardError.write(Data("Passkey shown by \(device) (6 digits): ".utf8))
        guard let line = readLine()?.trimmingCharacters(in: .whitespaces), line.count <= 6, let value = UInt32(line)
        else { return nil }
        return value
    }

    func confirm(device: String, passkey: UInt32) -> Bool {
        let digits = String(passkey)
        let shown = String(repeating: "0", count: max(0, 6 - digits.count)) + digits
        FileHandle.standardError.write(Data("Does \(device) show passkey \(shown)? [y/N] ".utf8))
        return readLine()?.trimmingCharacters(in: .whitespaces).lowercased().hasPrefix("y") == true
    }

    func display(device: String, passkey: UInt32, entered: UInt16) {
        let digits = String(passkey)
        let shown = String(repeating: "0", count: max(0, 6 - digits.count)) + digits
        FileHandle.standardError.write(Data("Type passkey \(shown) on \(device) (\(entered) digits typed)\n".utf8))
    }
}

/// `boothctl gatt ADDRESS`: a technician's GATT probe that keeps the device connected (reconnecting with
/// backoff), reads characteristics and prints notifications, tagged with the connection generation.
struct GATTCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gatt",
        abstract: "Connect to a BLE device, read characteristics and print notifications; reconnects when lost.",
        discussion: """
            Stops after --duration seconds (exit 1), or with exit 0 once connection number --generations has
            delivered --count notifications. Every line of --json output has an "event" field.
            """
    )

    @Argument(help: "The device's address.") var address: String
    @Option(help: "Adapter (hci0...) or its address; default: the first powered one.") var adapter: String?
    @Option(help: "Characteristic to read after each connect (repeatable).") var read: [String] = []
    @Option(help: "Characteristic to subscribe to after each connect (repeatable).") var subscribe: [String] = []
    @Option(help: "Notifications wanted from the last connection.") var count = 3
    @Option(help: "Connection number to reach before stopping.") var generations = 1
    @Option(help: "Give up after this many seconds.") var duration: Double = 60
    @Option(help: "First reconnect delay, seconds (doubles up to 30).") var backoff: Double = 1
    @Flag(help: "Machine-readable output: one JSON object per line.") var json = false

    func run() async throws {
        let reads = try read.map(Self.uuid)
        let subscriptions = try subscribe.map(Self.uuid)
        let central = try await BlueZCentral.connect()
        defer { central.close() }
        let chosen = try await central.adapter(preferred: adapter)
        let session = BLEDeviceSession(
            central: central,
            adapter: chosen.name,
            address: address,
            policy: ReconnectPolicy(initialDelay: backoff, connectTimeout: 20)
        )
        let events = await session.run()
        let (done, doneContinuation) = AsyncStream<Bool>.makeStream()
        let out = BLEOutput(json: json)
        let (wanted, lastGeneration) = (count, generations)
        let consumer = Task {
            var streams: [Task<Void, Never>] = []
            for await event in events {
                switch event {
                case .connected(let link, let generation):
                    out.emit(
                        "connected",
                        ["generation": "\(generation)", "signalSubscriptions": "\(central.signalSubscriptionCount)"]
                    )
                    // A device may still be changing its services (Service Changed after its GATT server came
                    // up): give the characteristics asked for a moment to appear before using them.
                    let needed = reads + subscriptions
                    let devicePath = link.devicePath
                    do {
                        try await central.wait(for: "characteristics", timeout: 15) { tree, running in
                            guard running else { return false }
                            let present = Set(tree.characteristics(device: devicePath).map(\.uuid))
                            return needed.allSatisfy(present.contains) ? true : nil
                        }
                    } catch {
                        out.emit("error", ["what": "characteristics", "message": "\(error)"])
                    }
                    for uuid in reads {
                        do {
                            let value = try await link.read(uuid)
                            out.emit(
                                "read",
                                ["uuid": uuid.description, "hex": Hex.string(value), "text": BLEOutput.text(value)]
                            )
                        } catch {
                            out.emit("error", ["what": "read \(uuid)", "message": "\(error)"])
                        }
                    }
                    let received = SharedCounter()
                    for uuid in subscriptions {
                        do {
                            let stream = try await link.notifications(uuid)
                            out.emit(
                                "subscribed",
                                [
                                    "uuid": uuid.description, "generation": "\(generation)",
                                    "notificationStreams": "\(central.notificationStreamCount)",
                                ]
                            )
                            streams.append(
                                Task {
                                    do {
                                        for try await value in stream {
                                            let total = received.increment()
                                            out.emit(
                                                "notification",
                                                BLEOutput.decoded(uuid, value).merging([
                                                    "uuid": uuid.description, "hex": Hex.string(value),
                                                    "generation": "\(generation)",
                                                ]) { _, new in new }
                                            )
                                            if generation >= lastGeneration && total >= wanted {
                                                doneContinuation.yield(true)
                                            }
                                        }
                                    } catch {
                                        out.emit(
                                            "stream-ended",
                                            [
                                                "uuid": uuid.description, "generation": "\(generation)",
                                                "reason": "\(error)",
                                            ]
                                        )
                                    }
                                }
                            )
                        } catch {
                            out.emit("error", ["what": "subscribe \(uuid)", "message": "\(error)"])
                        }
                    }
                case .disconnected(let generation):
                    out.emit("disconnected", ["generation": "\(generation)"])
                case .attemptFailed(let reason, let retryIn):
                    out.emit("attempt-failed", ["reason": reason, "retryIn": "\(retryIn)"])
                case .waiting(let why):
                    out.emit("waiting", ["why": why])
                }
            }
            for stream in streams { stream.cancel() }
        }
        let timer = Task {
            try? await Task.sleep(for: .seconds(duration))
            doneContinuation.yield(false)
        }
        var succeeded = false
        for await verdict in done {
            succeeded = verdict
            break
        }
        timer.cancel()
        consumer.cancel()
        let usage = central.usage["ble:" + address.uppercased()] ?? BLEUsageCounters()
        out.emit(
            "summary",
            [
                "ok": "\(succeeded)", "signalSubscriptions": "\(central.signalSubscriptionCount)",
                "connects": "\(usage.connects)", "notifications": "\(usage.notifications)",
            ]
        )
        if !succeeded { throw ExitCode(1) }
    }

    static func uuid(_ text: String) throws -> GATTUUID {
        guard let uuid = GATTUUID(string: text) else { throw ValidationError("\(text): not a GATT UUID") }
        return uuid
    }
}

/// Output of the BLE commands: human lines, or one JSON object per line with string values.
struct BLEOutput: Sendable {
    let json: Bool

    func emit(_ event: String, _ fields: [String: String]) {
        if json {
            // t: CLOCK_MONOTONIC seconds, comparable with other processes' logs on the machine (lab benchmarks).
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let seconds = Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
            try? Self.line(fields.merging(["event": event, "t": String(format: "%.3f", seconds)]) { old, _ in old })
        } else {
            let details = fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            print("\(event) \(details)")
        }
    }

    static func line(_ fields: [String: String]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(fields), as: UTF8.self))
        fflush(nil)
    }

    static func device(_ device: BlueZDeviceInfo, json: Bool) throws {
        let fields = [
            "event": "device", "address": device.address, "name": device.name ?? "",
            "rssi": device.rssi.map(String.init) ?? "",
            "uuids": device.serviceUUIDs.map(\.description).joined(separator: ","),
            "paired": String(device.paired),
        ]
        if json {
            try line(fields)
        } else {
            print(
                "\(device.address)  \(device.name ?? "(no name)")  rssi \(fields["rssi"] ?? "")  \(fields["uuids"] ?? "")"
            )
            fflush(nil)
        }
    }

    /// The value decoded by BoothCore's decoder for a SIG characteristic: `decoded` lists the fields but the
    /// flags as `name=value` pairs; `decodeError` says why the bytes were refused.
    static func decoded(_ uuid: GATTUUID, _ value: [UInt8]) -> [String: String] {
        guard let short = uuid.shortValue else { return [:] }
        let hex = String(short, radix: 16, uppercase: true)
        let kind = String(repeating: "0", count: 4 - hex.count) + hex
        do {
            guard let reading = try DecoderRegistry.decode(kind, value) else { return [:] }
            let fields = reading.fields.filter { $0.name != "flags" }.map { "\($0.name)=\($0.value)" }
            return ["decoded": fields.joined(separator: " "), "kind": reading.kind?.rawValue ?? ""]
        } catch {
            return ["decodeError": "\(error)"]
        }
    }

    /// The value as text when it is printable ASCII (DIS strings), else empty.
    static func text(_ value: [UInt8]) -> String {
        guard !value.isEmpty, value.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { return "" }
        return String(decoding: value, as: UTF8.self)
    }
}

/// A counter shared by the notification tasks of one connection.
final class SharedCounter: Sendable {
    private let value = Mutex(0)

    func increment() -> Int {
        value.withLock { count in
            count += 1
            return count
        }
    }
}
