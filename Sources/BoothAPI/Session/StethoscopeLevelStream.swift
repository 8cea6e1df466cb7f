import BoothCore
import BoothService
import Foundation
import Synchronization

/// The stethoscope level meters and modes the session API serves; boothd attaches them (MediaDeviceCommands.levels).
public final class StethoscopeLevelsSlot: Sendable {
    private let levels = Mutex<StethoscopeLevels?>(nil)

    public init() {}

    public func attach(_ levels: StethoscopeLevels?) { self.levels.withLock { $0 = levels } }

    var current: StethoscopeLevels? { levels.withLock { $0 } }
}

/// One connection's level-meter subscriptions: per device, the meter's listener key and the task sending it.
final class StethoscopeLevelTaps: Sendable {
    struct Tap: Sendable {
        let key: Int
        let task: Task<Void, Never>
    }

    private let taps = Mutex<[String: Tap]>([:])

    func contains(_ deviceID: String) -> Bool { taps.withLock { $0[deviceID] != nil } }

    func insert(_ deviceID: String, _ tap: Tap) -> Tap? {
        taps.withLock { taps in
            defer { taps[deviceID] = tap }
            return taps[deviceID]
        }
    }

    func remove(_ deviceID: String, key: Int? = nil) -> Tap? {
        taps.withLock { taps in
            guard let tap = taps[deviceID], key == nil || tap.key == key else { return nil }
            return taps.removeValue(forKey: deviceID)
        }
    }

    func removeAll() -> [String: Tap] {
        taps.withLock { taps in
            defer { taps = [:] }
            return taps
        }
    }
}

/// Stethoscope commands of the session API: `stethoscope.level {deviceId, on}` (live `stethoscope.level` messages,
/// a few per second: live display data, not events — not acked, not stored) and `stethoscope.mode {deviceId, mode}`
/// (the live audio's filter).
///
/// Level messages go through the connection's queue like waveform chunks: while a client is behind, the meter's
/// small per-listener buffer drops the oldest readings, so a slow client never grows memory.
extension SessionConnection {
    static let stethoscopeCommands: Set<String> = ["stethoscope.level", "stethoscope.mode"]

    func stethoscopeCommand(_ name: String, params: [String: JSONValue]) async throws(WireError) -> String {
        guard let levels = hub.stethoscopes.current else {
            throw WireError("not_available", "\(name): this boothd has no stethoscope service")
        }
        guard let deviceID = params["deviceId"]?.string, !deviceID.isEmpty, deviceID.count <= 512 else {
            throw WireError("invalid_params", "\(name) needs \"deviceId\": a non-empty string")
        }
        if name == "stethoscope.mode" {
            guard let mode = params["mode"]?.string else {
                throw WireError(
                    "invalid_params",
                    "stethoscope.mode needs \"mode\": "
                        + StethoscopeMode.allCases.map(\.rawValue).joined(separator: ", ")
                )
            }
            do {
                let applied = try await levels.setMode(deviceID: deviceID, mode: mode)
                return Wire.object([
                    ("deviceId", Wire.string(deviceID)), ("mode", Wire.string(applied.mode.rawValue)),
                    ("live", applied.live ? "true" : "false"),
                ])
            } catch {
                throw WireError(error.code, error.message)
            }
        }
        guard case .bool(let on) = params["on"] ?? .null else {
            throw WireError("invalid_params", "stethoscope.level needs \"on\": true or false")
        }
        guard on else {
            if let tap = stethoscopeTaps.remove(deviceID) {
                tap.task.cancel()
                await levels.unsubscribe(deviceID: deviceID, key: tap.key)
            }
            return Wire.object([("deviceId", Wire.string(deviceID)), ("subscribed", "false")])
        }
        if stethoscopeTaps.contains(deviceID) {
            let mode = await levels.mode(deviceID: deviceID)
            return Self.levelSubscribed(deviceID, mode: mode)
        }
        let subscription: (key: Int, mode: StethoscopeMode, readings: AsyncStream<StethoscopeLevelReading>)
        do {
            subscription = try await levels.subscribe(deviceID: deviceID)
        } catch {
            throw WireError(error.code, error.message)
        }
        let key = subscription.key
        let readings = subscription.readings
        let taps = stethoscopeTaps
        let task = Task { [queue] in
            for await reading in readings {
                guard await queue.pushEvent(Self.levelMessage(reading)) else { break }
            }
            // The device went away or the client is gone: let go of the meter (unless it was replaced).
            if taps.remove(deviceID, key: key) != nil { await levels.unsubscribe(deviceID: deviceID, key: key) }
        }
        if let previous = stethoscopeTaps.insert(deviceID, .init(key: key, task: task)) {
            previous.task.cancel()
            await levels.unsubscribe(deviceID: deviceID, key: previous.key)
        }
        return Self.levelSubscribed(deviceID, mode: subscription.mode)
    }

    /// The connection ended: every meter it listened to is released (the last listener closes the capture).
    func stopStethoscopeLevels() async {
        guard let levels = hub.stethoscopes.current else { return }
        for (deviceID, tap) in stethoscopeTaps.removeAll() {
            tap.task.cancel()
            await levels.unsubscribe(deviceID: deviceID, key: tap.key)
        }
    }

    static func levelSubscribed(_ deviceID: String, mode: StethoscopeMode?) -> String {
        Wire.object([
            ("deviceId", Wire.string(deviceID)), ("subscribed", "true"), ("mode", Wire.string(mode?.rawValue)),
        ])
    }

    static func levelMessage(_ reading: StethoscopeLevelReading) -> String {
        Wire.object([
            ("type", Wire.string("stethoscope.level")), ("deviceId", Wire.string(reading.deviceID)),
            ("stage", Wire.string(reading.level.stage.rawValue)), ("time", Wire.encode(reading.level.time)),
            ("rmsDb", Wire.encode(reading.level.rmsDB)), ("peakDb", Wire.encode(reading.level.peakDB)),
            ("condition", Wire.string(reading.condition.rawValue)), ("mode", Wire.string(reading.mode.rawValue)),
            ("source", Wire.string(reading.source)),
        ])
    }
}
