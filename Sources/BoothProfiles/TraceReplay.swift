import BoothCore

/// Plays a profile's trace through a `TraceReplayLink` the way a driver would — writes the profile's start
/// commands (byte-exact against the trace's `>` lines), reads every device chunk — then frames and decodes the
/// chunks with the profile's driver and checks each `=` line against the readings decoded since the previous one.
public enum TraceReplay {
    public struct Outcome: Sendable, Equatable {
        public var deviceChunks: Int
        public var frames: Int
        /// `=` lines checked against decoded readings.
        public var expectationsChecked: Int
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public static func run(_ trace: DeviceTrace, for profile: DeviceProfile) async throws -> Outcome {
        if let named = trace.metadata["profile"], named != profile.id {
            throw Failure(description: "trace is for profile \(named), not \(profile.id)")
        }
        let link = TraceReplayLink(trace: trace)
        let stream = try await link.received()
        for command in profile.gatt?.startCommands ?? [] {
            try await link.send(command)
        }
        var chunks: [[UInt8]] = []
        for try await chunk in stream { chunks.append(chunk) }
        guard chunks.flatMap({ $0 }) == trace.receivedBytes else {
            throw Failure(description: "replay delivered other bytes than the trace holds (a command was not sent?)")
        }
        guard let decoding = KnownDrivers.decoding[profile.driver] else {
            let expectations = trace.entries.filter { if case .expect = $0 { true } else { false } }.count
            guard expectations == 0 else {
                throw Failure(description: "driver \(profile.driver) has no frame decoder to check '=' lines with")
            }
            return Outcome(deviceChunks: chunks.count, frames: 0, expectationsChecked: 0)
        }
        return try check(trace, decoding: decoding, chunkCount: chunks.count)
    }

    private static func check(_ trace: DeviceTrace, decoding: KnownDrivers.Decoding, chunkCount: Int) throws -> Outcome
    {
        var framer = decoding.streamFrame.map { StreamFramer($0) }
        var readings: [DecodedReading] = []
        var frames = 0
        var checked = 0
        for entry in trace.entries {
            switch entry {
            case .sent:
                continue
            case .received(let bytes):
                let candidates: [[UInt8]]
                if var current = framer {
                    candidates = current.push(bytes).compactMap { event in
                        if case .frame(let frame) = event { return frame }
                        return nil
                    }
                    framer = current
                } else {
                    candidates = [bytes]
                }
                for frame in candidates {
                    frames += 1
                    do {
                        guard let reading = try DecoderRegistry.decode(decoding.kind, frame) else {
                            throw Failure(description: "no decoder \(decoding.kind)")
                        }
                        readings.append(reading)
                    } catch let error as DecodeError {
                        throw Failure(description: "frame \(Hex.string(frame)) does not decode: \(error)")
                    }
                }
            case .expect(let expected):
                guard let reading = readings.last else {
                    throw Failure(description: "expected \(expected) but no frame was decoded before it")
                }
                for (key, value) in expected.sorted(by: { $0.key < $1.key }) {
                    let actual = describe(key, in: reading)
                    guard actual == value else {
                        throw Failure(
                            description: "\(key): trace expects \(value), decoder gives \(actual ?? "nothing")"
                        )
                    }
                }
                checked += 1
                readings = []
            }
        }
        return Outcome(deviceChunks: chunkCount, frames: frames, expectationsChecked: checked)
    }

    /// `spo2` and `pulse_rate` are the coded values (`absent` when the decoder gives no number); any other key is a
    /// decoder field by name.
    static func describe(_ key: String, in reading: DecodedReading) -> String? {
        let code: MDCCode? =
            switch key {
            case "spo2": .spo2
            case "pulse_rate": .pulseOximetryPulseRate
            default: nil
            }
        if let code {
            guard let value = reading.value(code) else { return nil }
            return value.number.map { "\($0)" } ?? "absent"
        }
        return reading.field(key).map(\.description)
    }
}
