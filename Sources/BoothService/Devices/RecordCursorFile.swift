import BoothCore
import Foundation

/// The last stored-record sequence number seen per device, in `record-cursors.json` of the state directory, so
/// a restart of boothd asks devices only for records it has not delivered yet. Written atomically (temporary
/// file, then rename) after each record the outbox has stored: a crash between the two repeats that one record
/// at the next fetch (stored twice, as history) — a record is never lost.
///
/// Records without sequence numbers (Omron cuffs) are remembered by device time and digest (`DeliveredRecords`) in
/// `record-delivered.json` next to it, written the same way.
public actor RecordCursorFile: RecordCursorStore {
    public nonisolated let path: String
    public nonisolated let deliveredPath: String
    private var cursors: [String: UInt16]?
    private var delivered: [String: DeliveredRecords]?

    public init(directory: String) {
        path = (directory as NSString).appendingPathComponent("record-cursors.json")
        deliveredPath = (directory as NSString).appendingPathComponent("record-delivered.json")
    }

    public func deliveredRecords(device: String) -> DeliveredRecords {
        loadedDelivered()[device] ?? DeliveredRecords()
    }

    public func setDeliveredRecords(_ records: DeliveredRecords, device: String) {
        var all = loadedDelivered()
        all[device] = records
        delivered = all
        do {
            let data = try JSONEncoder.sorted.encode(all)
            try data.write(to: URL(fileURLWithPath: deliveredPath), options: .atomic)
        } catch {
            // As for the sequence cursors: kept in memory; the worst case is a record delivered twice.
        }
    }

    private func loadedDelivered() -> [String: DeliveredRecords] {
        if let delivered { return delivered }
        let read =
            (try? Data(contentsOf: URL(fileURLWithPath: deliveredPath))).flatMap {
                try? JSONDecoder().decode([String: DeliveredRecords].self, from: $0)
            } ?? [:]
        delivered = read
        return read
    }

    public func lastSequence(device: String) -> UInt16? {
        loaded()[device]
    }

    public func setLastSequence(_ sequence: UInt16, device: String) {
        var all = loaded()
        all[device] = sequence
        cursors = all
        do {
            let data = try JSONEncoder.sorted.encode(all)
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            // Kept in memory; the next record tries to persist again. Worst case after a crash: records
            // fetched again and recorded as history a second time, never a lost one.
        }
    }

    private func loaded() -> [String: UInt16] {
        if let cursors { return cursors }
        let read =
            (try? Data(contentsOf: URL(fileURLWithPath: path))).flatMap {
                try? JSONDecoder().decode([String: UInt16].self, from: $0)
            } ?? [:]
        cursors = read
        return read
    }
}

extension JSONEncoder {
    fileprivate static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return encoder
    }
}
