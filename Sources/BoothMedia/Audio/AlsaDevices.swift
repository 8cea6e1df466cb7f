import Foundation

/// An ALSA capture PCM (a stethoscope, a stethoscope adapter's line-in, or snd-aloop in the lab).
public struct AlsaCaptureDevice: Sendable, Codable, Equatable {
    public var card: Int
    public var device: Int
    /// The card's id, e.g. `Loopback`, `Device` (stable across re-plugs, unlike the index).
    public var cardID: String
    /// The card's long name, e.g. `USB Audio Device`.
    public var cardName: String
    public var pcmName: String
    public var subdevices: Int
    /// USB vendor:product (lowercase hex) for USB Audio Class cards, from /proc/asound/cardN/usbid.
    public var usbID: String?

    /// The name to give alsasrc: `hw:CARD=<id>,DEV=<device>`.
    public var alsaName: String { "hw:CARD=\(cardID),DEV=\(device)" }
}

/// Lists ALSA capture devices from /proc/asound and finds who holds a busy one.
public enum AlsaDevices {
    /// Capture PCMs on this machine (empty when ALSA has no cards).
    public static func captureDevices(procRoot: String = "/proc/asound") -> [AlsaCaptureDevice] {
        let cards = (try? String(contentsOfFile: procRoot + "/cards", encoding: .utf8)) ?? ""
        let pcm = (try? String(contentsOfFile: procRoot + "/pcm", encoding: .utf8)) ?? ""
        return parse(cards: cards, pcm: pcm).map { device in
            var device = device
            let usbID = try? String(contentsOfFile: "\(procRoot)/card\(device.card)/usbid", encoding: .utf8)
            device.usbID = usbID?.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            return device
        }
    }

    /// Parses /proc/asound/cards (` 0 [Loopback       ]: Loopback - Loopback`) and /proc/asound/pcm
    /// (`00-01: name : name : playback 8 : capture 8`) into the capture PCMs.
    public static func parse(cards: String, pcm: String) -> [AlsaCaptureDevice] {
        var cardInfo: [Int: (id: String, name: String)] = [:]
        for line in cards.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard let open = trimmed.firstIndex(of: "["), let close = trimmed.firstIndex(of: "]"), open < close,
                let index = Int(trimmed[..<open].trimmingCharacters(in: .whitespaces))
            else { continue }
            let id = trimmed[trimmed.index(after: open)..<close].trimmingCharacters(in: .whitespaces)
            var name = String(trimmed[trimmed.index(after: close)...])
            if name.hasPrefix(":") { name.removeFirst() }
            if let dash = name.range(of: " - ") { name = String(name[dash.upperBound...]) }
            cardInfo[index] = (id, name.trimmingCharacters(in: .whitespaces))
        }
        var devices: [AlsaCaptureDevice] = []
        for line in pcm.split(separator: "\n") {
            let fields = line.components(separatedBy: ":").map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count >= 3 else { continue }
            let numbers = fields[0].split(separator: "-").compactMap { Int($0) }
            guard numbers.count == 2 else { continue }
            guard let capture = fields.dropFirst(3).first(where: { $0.hasPrefix("capture") }),
                let subdevices = Int(capture.dropFirst("capture".count).trimmingCharacters(in: .whitespaces)),
                subdevices > 0
            else { continue }
            let card = cardInfo[numbers[0]]
            devices.append(
                AlsaCaptureDevice(
                    card: numbers[0],
                    device: numbers[1],
                    cardID: card?.id ?? "\(numbers[0])",
                    cardName: card?.name ?? "",
                    pcmName: fields[1],
                    subdevices: subdevices,
                    usbID: nil
                )
            )
        }
        return devices
    }

    /// Splits an ALSA device string (`hw:1,0`, `hw:Loopback,1,0`, `hw:CARD=Loopback,DEV=1`, `plughw:...`) into
    /// card (index or id), device and subdevice.
    public static func address(of name: String) -> (card: String, device: Int, subdevice: Int)? {
        guard let colon = name.firstIndex(of: ":") else { return nil }
        var card: String?
        var device = 0
        var subdevice = 0
        var positional = 0
        for part in name[name.index(after: colon)...].split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            if pair.count == 2 {
                switch pair[0].uppercased() {
                case "CARD": card = pair[1]
                case "DEV": device = Int(pair[1]) ?? 0
                case "SUBDEV": subdevice = Int(pair[1]) ?? 0
                default: break
                }
            } else {
                switch positional {
                case 0: card = pair[0]
                case 1: device = Int(pair[0]) ?? 0
                default: subdevice = Int(pair[0]) ?? 0
                }
                positional += 1
            }
        }
        guard let card else { return nil }
        return (card, device, subdevice)
    }

    /// "name (pid N)" of the process holding a capture PCM open, read from the substream's status file
    /// (`owner_pid`), or nil when ALSA does not tell.
    public static func holder(of name: String, procRoot: String = "/proc/asound") -> String? {
        guard let (card, device, subdevice) = address(of: name) else { return nil }
        let cardIndex: Int? =
            Int(card) ?? captureDevices(procRoot: procRoot).first { $0.cardID == card }.map(\.card)
        guard let cardIndex else { return nil }
        let statusPath = "\(procRoot)/card\(cardIndex)/pcm\(device)c/sub\(subdevice)/status"
        guard let status = try? String(contentsOfFile: statusPath, encoding: .utf8) else { return nil }
        return ownerPID(status: status).map { pid in
            let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)
            let process = comm?.trimmingCharacters(in: .whitespacesAndNewlines)
            return process.map { "\($0) (pid \(pid))" } ?? "pid \(pid)"
        }
    }

    /// The `owner_pid : N` line of a substream status file.
    public static func ownerPID(status: String) -> Int? {
        for line in status.split(separator: "\n") where line.hasPrefix("owner_pid") {
            return line.split(separator: ":").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        }
        return nil
    }
}
