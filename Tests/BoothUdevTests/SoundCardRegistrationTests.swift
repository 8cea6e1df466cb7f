import BoothCore
import Foundation
import Synchronization
import Testing

@testable import BoothUdev

/// The snd-aloop re-plug as the kernel sends it (recorded in the lab VM on `bind` of `snd_aloop.0`, kernel 6.1):
/// `add` card0, pcmC0D0p, pcmC0D0c, pcmC0D1p, pcmC0D1c, controlC0. The card's `id` is set only after all of them,
/// so a listener reading it at the capture PCM's `add` found it empty in 11 of 40 re-binds.
@Suite("sound card registration: a capture PCM added before its card is named")
struct SoundCardRegistrationTests {
    static func pcm(
        cardID: String?,
        syspath: String = "/sys/devices/platform/snd_aloop.0/sound/card0/pcmC0D1c"
    )
        -> UdevDevice
    {
        var attributes = ["card.number": "0"]
        attributes["card.id"] = cardID
        return UdevDevice(
            action: "add",
            subsystem: "sound",
            sysname: "pcmC0D1c",
            syspath: syspath,
            devnode: "/dev/snd/pcmC0D1c",
            attributes: attributes
        )
    }

    @Test("a capture PCM whose card has no id yet is not classified under a made-up id (it would match no profile)")
    func unnamedCardIsPending() {
        let early = Self.pcm(cardID: "")
        #expect(SoundCardRegistration.isPending(early))
        #expect(MediaDiscovery.classify(early) == nil)
        // Once named, the same PCM is the lab stethoscope's capture side.
        let named = Self.pcm(cardID: "Loopback")
        #expect(!SoundCardRegistration.isPending(named))
        #expect(MediaDiscovery.classify(named)?.id == "alsa:Loopback:1")
        // The other nodes of the recorded sequence are never waited for (only capture PCMs are devices).
        for sysname in ["card0", "pcmC0D0p", "pcmC0D1p", "controlC0"] {
            var other = early
            other.sysname = sysname
            #expect(!SoundCardRegistration.isPending(other), "\(sysname)")
        }
        var removed = early
        removed.action = "remove"
        #expect(!SoundCardRegistration.isPending(removed))
        // A remove carries no attributes: its id falls back to the card number, never to an empty card id.
        #expect(MediaDiscovery.deviceID(of: early) == "alsa:card0:1")
    }

    @Test("the scripted re-plug: the card is named a few polls after the PCM's add; the PCM then classifies")
    func settlesWhenTheCardIsNamed() async throws {
        let reads = Mutex<[String]>([])
        let named = await SoundCardRegistration.settled(Self.pcm(cardID: ""), interval: .milliseconds(1)) { path in
            let count = reads.withLock {
                $0.append(path)
                return $0.count { $0.hasSuffix("/id") }
            }
            if path.hasSuffix("/number") { return "0" }
            return count < 4 ? "" : "Loopback"
        }
        let device = try #require(named)
        #expect(reads.withLock { $0.first } == "/sys/devices/platform/snd_aloop.0/sound/card0/id")
        #expect(reads.withLock { $0.count { $0.hasSuffix("/id") } } == 4)
        let found = try #require(MediaDiscovery.classify(device))
        #expect(found.id == "alsa:Loopback:1")
        #expect(found.kind == .audioCapture(alsaDevice: "hw:CARD=Loopback,DEV=1", card: "Loopback", pcm: 1))
    }

    @Test("a card removed while it registers, or never named, gives no device; a named one is not waited for")
    func goneOrNeverNamed() async {
        let clock = ContinuousClock()
        let start = clock.now
        let gone = await SoundCardRegistration.settled(Self.pcm(cardID: "")) { _ in nil }
        #expect(gone == nil)
        #expect(clock.now - start < .seconds(1))
        let never = await SoundCardRegistration.settled(
            Self.pcm(cardID: ""),
            timeout: .milliseconds(50),
            interval: .milliseconds(5)
        ) { _ in "" }
        #expect(never == nil)
        let named = Self.pcm(cardID: "Loopback")
        let unchanged = await SoundCardRegistration.settled(named) { _ in
            Issue.record("a named card's attributes were read again")
            return nil
        }
        #expect(unchanged == named)
    }

    @Test("real files: the card's id file is written while the PCM waits (sysfs stand-in in a temp directory)")
    func readsTheCardDirectory() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sound-card-\(UUID().uuidString)")
        let card = root.appendingPathComponent("sound/card0")
        try FileManager.default.createDirectory(
            at: card.appendingPathComponent("pcmC0D1c"),
            withIntermediateDirectories: true
        )
        defer { try? FileManager.default.removeItem(at: root) }
        try Data("\n".utf8).write(to: card.appendingPathComponent("id"))
        try Data("0\n".utf8).write(to: card.appendingPathComponent("number"))
        let early = Self.pcm(cardID: "", syspath: card.appendingPathComponent("pcmC0D1c").path)
        let naming = Task {
            try await Task.sleep(for: .milliseconds(60))
            try Data("Loopback\n".utf8).write(to: card.appendingPathComponent("id"))
        }
        let named = await SoundCardRegistration.settled(early)
        try await naming.value
        #expect(named?.attributes["card.id"] == "Loopback")
        #expect(named?.attributes["card.number"] == "0")
        #expect(named.flatMap(MediaDiscovery.classify)?.id == "alsa:Loopback:1")
    }
}
