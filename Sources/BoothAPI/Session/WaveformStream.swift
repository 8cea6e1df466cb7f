import BoothCore
import BoothService
import Foundation
import Synchronization

/// One connection's waveform subscription: which devices, and the last `seq` sent per device.
final class WaveformTap: Sendable {
    struct State {
        /// nil: not subscribed. Empty: every waveform device.
        var devices: Set<String>?
        var cursors: [String: UInt64] = [:]
        /// Incremented by every (un)subscribe, so the pump never overwrites newer cursors.
        var generation = 0
    }

    let state = Mutex(State())
    let wakeups: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (wakeups, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func poke() {
        continuation.yield()
    }

    /// The next chunks of a device after `cursor`, each with the number of chunks the client missed just before it
    /// (the ring no longer held them). A cursor of 0 means "from the first chunk held" (a device that appeared after
    /// the subscription).
    static func batch(
        _ feed: WaveformFeed,
        deviceID: String,
        after cursor: UInt64,
        limit: Int
    )
        -> [(item: WaveformItem, skipped: UInt64)]
    {
        var previous = cursor
        return feed.items(deviceID: deviceID, after: cursor, limit: limit).items.map { item in
            defer { previous = item.seq }
            return (item, item.seq > previous + 1 && previous > 0 ? item.seq - previous - 1 : 0)
        }
    }
}

/// Live waveforms on the session WebSocket (`waveform.subscribe`, `waveform.unsubscribe`, `waveform` messages).
///
/// Chunks are live display data kept in `WaveformFeed`'s in-memory ring, not outbox events (docs/ecg.md says why):
/// each carries `stream` + `seq` (contiguous per device); a client resumes after a reconnect with
/// `waveform.subscribe {deviceId, stream, after}` and gets the chunks the ring still holds, then live ones. Chunks
/// a client could not get (too far behind) are never invented: the next chunk says how many were `skipped`.
extension SessionConnection {
    static let waveformCommands: Set<String> = ["waveform.subscribe", "waveform.unsubscribe"]

    func waveformCommand(_ name: String, params: [String: JSONValue]) throws(WireError) -> String {
        let feed = hub.waveforms
        guard name == "waveform.subscribe" else {
            waveformTap.state.withLock { state in
                state.devices = nil
                state.cursors = [:]
                state.generation += 1
            }
            return Wire.object([("subscribed", "false")])
        }
        var deviceID: String?
        if let value = params["deviceId"], value != .null {
            guard let text = value.string, !text.isEmpty, text.count <= 512 else {
                throw WireError("invalid_params", "waveform.subscribe \"deviceId\" must be a non-empty string")
            }
            deviceID = text
        }
        let stream = params["stream"]?.string
        var after: UInt64?
        if let value = params["after"], value != .null {
            guard let number = value.int64, number >= 0 else {
                throw WireError("invalid_params", "waveform.subscribe \"after\" must be a sequence number ≥ 0")
            }
            guard deviceID != nil else {
                throw WireError("invalid_params", "waveform.subscribe with \"after\" needs the \"deviceId\" it counts")
            }
            after = UInt64(number)
        }
        let known = feed.deviceIDs
        let targets = deviceID.map { [$0] } ?? known
        var resumed = false
        var skipped: UInt64 = 0
        var cursors: [String: UInt64] = [:]
        for target in targets {
            let last = feed.lastSeq(deviceID: target)
            if let after, stream == feed.streamID, after <= last {
                // Resume: replay what the ring still holds after `after`.
                resumed = true
                let first = feed.items(deviceID: target, after: 0, limit: 1).firstAvailable ?? last + 1
                if after + 1 < first { skipped = first - after - 1 }
                cursors[target] = after
            } else {
                // Live, starting with the newest chunk so a page draws at once.
                cursors[target] = last > 0 ? last - 1 : 0
            }
        }
        waveformTap.state.withLock { state in
            state.devices = deviceID.map { [$0] } ?? []
            state.cursors = cursors
            state.generation += 1
        }
        waveformTap.poke()
        let devices = targets.map { target in
            Wire.object([
                ("deviceId", Wire.string(target)), ("lastSeq", "\(feed.lastSeq(deviceID: target))"),
                ("from", "\((cursors[target] ?? 0) + 1)"),
            ])
        }
        return Wire.object([
            ("subscribed", "true"), ("stream", Wire.string(feed.streamID)), ("resumed", resumed ? "true" : "false"),
            ("skipped", "\(skipped)"), ("devices", "[" + devices.joined(separator: ",") + "]"),
        ])
    }

    /// Sends subscribed chunks as they are published, in `seq` order per device, until the connection ends.
    func pumpWaveforms(deliver: @Sendable (String) async -> Bool) async {
        let feed = hub.waveforms
        let tap = waveformTap
        let key = feed.addListener { tap.poke() }
        defer { feed.removeListener(key) }
        for await _ in tap.wakeups {
            let (devices, cursors, generation) = tap.state.withLock { ($0.devices, $0.cursors, $0.generation) }
            guard let devices else { continue }
            devices: for device in devices.isEmpty ? feed.deviceIDs : devices.sorted() {
                // A device that appears after the subscription is sent from its first chunk.
                var cursor = cursors[device] ?? 0
                while true {
                    let batch = WaveformTap.batch(feed, deviceID: device, after: cursor, limit: 64)
                    guard !batch.isEmpty else { break }
                    for (item, skipped) in batch {
                        guard await deliver(Self.waveformMessage(item, stream: feed.streamID, skipped: skipped))
                        else { return }
                        cursor = item.seq
                    }
                    let current = tap.state.withLock { state -> Bool in
                        guard state.generation == generation else { return false }
                        state.cursors[device] = cursor
                        return true
                    }
                    // The client subscribed again meanwhile: start over from its new cursors.
                    guard current else {
                        tap.poke()
                        break devices
                    }
                }
            }
        }
    }

    static func waveformMessage(_ item: WaveformItem, stream: String, skipped: UInt64) -> String {
        let chunk = item.chunk
        var fields: [(String, String)] = [
            ("type", Wire.string("waveform")), ("deviceId", Wire.string(item.deviceID)),
            ("stream", Wire.string(stream)), ("seq", "\(item.seq)"),
            ("code", Wire.encode(chunk.code)), ("label", Wire.string(chunk.label)),
            ("sampleRateHz", Wire.encode(chunk.sampleRateHz)), ("unit", Wire.encode(chunk.unit)),
            ("scale", Wire.encode(chunk.scale)), ("origin", Wire.encode(chunk.origin)),
            ("startMicros", "\(chunk.startMicros)"), ("receivedAtMicros", "\(chunk.receivedAtMicros)"),
            ("samples", Wire.encode(chunk.samples)), ("gaps", Wire.encode(chunk.gaps)),
            ("rrIntervals1024", Wire.encode(chunk.rrIntervals1024)),
            ("restart", chunk.restart ? "true" : "false"), ("end", chunk.end ? "true" : "false"),
        ]
        if skipped > 0 { fields.append(("skipped", "\(skipped)")) }
        return Wire.object(fields)
    }
}
