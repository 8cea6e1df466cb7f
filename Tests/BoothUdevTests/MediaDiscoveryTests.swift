import BoothCore
import Testing

@testable import BoothUdev

@Suite("udev media discovery")
struct MediaDiscoveryTests {
    @Test("a UVC camera node becomes a camera with its USB ids; metadata nodes are skipped")
    func camera() throws {
        let node = UdevDevice(
            action: "add",
            subsystem: "video4linux",
            sysname: "video2",
            syspath: "/sys/devices/pci0000:00/usb1/1-1/1-1:1.0/video4linux/video2",
            devnode: "/dev/video2",
            properties: ["ID_V4L_CAPABILITIES": ":capture:"],
            attributes: [
                "name": "USB Otoscope", "usb.idVendor": "1bcf", "usb.idProduct": "2c99", "usb.product": "Otoscope",
            ]
        )
        let found = try #require(MediaDiscovery.classify(node))
        #expect(found.id == "v4l2:1bcf:2c99@1-1:1.0")
        // Re-plugged, the kernel may number the node differently: the id stays.
        var renumbered = node
        renumbered.sysname = "video4"
        renumbered.syspath = "/sys/devices/pci0000:00/usb1/1-1/1-1:1.0/video4linux/video4"
        #expect(MediaDiscovery.classify(renumbered)?.id == found.id)
        let vivid = UdevDevice(
            action: "add",
            subsystem: "video4linux",
            sysname: "video1",
            syspath: "/sys/devices/platform/vivid.0/video4linux/video1",
            devnode: "/dev/video1",
            attributes: ["name": "vivid-000-vid-cap", "index": "0"]
        )
        #expect(MediaDiscovery.classify(vivid)?.id == "v4l2:vivid.0")
        #expect(found.kind == .camera(devnode: "/dev/video2"))
        guard case .v4l2(let info) = found.description else {
            Issue.record("not a V4L2 description")
            return
        }
        #expect(info.card == "USB Otoscope")
        #expect(info.usb?.vendorID == 0x1BCF && info.usb?.productID == 0x2C99)
        var metadata = node
        metadata.properties["ID_V4L_CAPABILITIES"] = ":"
        #expect(MediaDiscovery.classify(metadata) == nil)
    }

    @Test("ALSA capture PCMs become audio-capture devices named by card id; playback and control nodes do not")
    func audio() throws {
        let capture = UdevDevice(
            action: "existing",
            subsystem: "sound",
            sysname: "pcmC1D1c",
            syspath: "/sys/devices/platform/snd_aloop.0/sound/card1/pcmC1D1c",
            devnode: "/dev/snd/pcmC1D1c",
            attributes: ["card.id": "Loopback", "card.number": "1"]
        )
        let found = try #require(MediaDiscovery.classify(capture))
        #expect(found.id == "alsa:Loopback:1")
        #expect(found.kind == .audioCapture(alsaDevice: "hw:CARD=Loopback,DEV=1", card: "Loopback", pcm: 1))
        #expect(found.description == .alsa(ALSACardInfo(card: "Loopback", id: "Loopback")))
        for sysname in ["pcmC1D0p", "controlC1", "card1", "timer", "pcmCxD0c"] {
            var other = capture
            other.sysname = sysname
            #expect(MediaDiscovery.classify(other) == nil, "\(sysname)")
        }
        var removed = capture
        removed.action = "remove"
        #expect(MediaDiscovery.classify(removed) == nil)
    }

    @Test("the monitor enumerates present devices from the real udev database, then reports it is done")
    func liveEnumeration() async {
        var names: [String] = []
        var done = false
        for await event in UdevMonitor.events(subsystems: ["net"]) {
            switch event {
            case .device(let device): names.append(device.sysname)
            case .enumerated: done = true
            case .failed(let reason): Issue.record("udev failed: \(reason)")
            }
            if done || names.count > 1000 { break }
        }
        #expect(done)
        #expect(names.contains("lo"))
    }
}
