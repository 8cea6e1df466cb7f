import Foundation

/// The kernel announces an ALSA card's PCM devices before it names the card: `snd_card_register` adds the card and
/// its PCM and control devices (each `add` uevent goes out then), and only afterwards sets the card's `id` (from
/// the driver's short name when no `id=` was given, e.g. snd-aloop's `Loopback`). A listener that reads the card's
/// `id` attribute as soon as the PCM's `add` arrives, as boothd does on the kernel's uevent socket, may find it
/// empty (in the lab VM: 11 of 40 re-binds of snd-aloop). Classified then, the capture PCM would have no card id,
/// match no profile, and a re-plugged stethoscope would stay `gone`; so such a PCM waits for its card's name.
public enum SoundCardRegistration {
    /// Whether `device` is an ALSA capture PCM being added whose card has no id yet (it is still registering).
    public static func isPending(_ device: UdevDevice) -> Bool {
        device.subsystem == "sound" && device.action != "remove"
            && MediaDiscovery.capturePCM(device.sysname) != nil && device.attributes["card.id"]?.isEmpty == true
    }

    /// The card's directory in sysfs: a PCM device's parent (`.../sound/card1/pcmC1D1c` → `.../sound/card1`).
    public static func cardDirectory(of device: UdevDevice) -> String {
        (device.syspath as NSString).deletingLastPathComponent
    }

    /// Reads a sysfs attribute file (nil when it does not exist: the device went away).
    public static func readAttribute(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `device` with its card's `id` and `number` once the card is named: polls the card's attributes every
    /// `interval` up to `timeout`. Nil when the card went away meanwhile (its `id` file is gone) or was never named.
    public static func settled(
        _ device: UdevDevice,
        timeout: Duration = .seconds(3),
        interval: Duration = .milliseconds(10),
        read: @Sendable (String) -> String? = readAttribute
    ) async -> UdevDevice? {
        guard isPending(device) else { return device }
        let card = cardDirectory(of: device)
        let deadline = ContinuousClock.now + timeout
        while true {
            guard let id = read(card + "/id") else { return nil }
            if !id.isEmpty {
                var named = device
                named.attributes["card.id"] = id
                if let number = read(card + "/number"), !number.isEmpty { named.attributes["card.number"] = number }
                return named
            }
            guard ContinuousClock.now < deadline else { return nil }
            try? await Task.sleep(for: interval)
        }
    }
}
