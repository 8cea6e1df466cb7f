import BoothCore
import Foundation

/// A camera or audio-capture device found by udev, described for profile matching.
public struct DiscoveredMedia: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// A V4L2 node (`/dev/video0`).
        case camera(devnode: String)
        /// An ALSA capture PCM: `alsaDevice` is `hw:CARD=<id>,DEV=<n>`.
        case audioCapture(alsaDevice: String, card: String, pcm: Int)
    }

    /// boothd's device id, the same after a re-plug even when the kernel numbers the node differently:
    /// `v4l2:<parent device>` (USB: `v4l2:<VID>:<PID>@<interface>`, e.g. `v4l2:1bcf:2c99@1-1:1.0`; other buses the
    /// parent's name, e.g. `v4l2:vivid.0`; `/<index>` appended for a second capture node), or
    /// `alsa:<card id>:<pcm>`.
    public var id: String
    public var kind: Kind
    /// What the profile matcher sees (the V4L2 card name is refined from VIDIOC_QUERYCAP by the caller).
    public var description: DeviceDescription
}

/// Turns udev devices into cameras and audio-capture devices (pure: tested with recorded udev data).
public enum MediaDiscovery {
    /// The device id a udev device has (also for `remove` events, whose attributes are gone); nil when it is
    /// neither a V4L2 node nor an ALSA capture PCM.
    public static func deviceID(of device: UdevDevice) -> String? {
        switch device.subsystem {
        case "video4linux" where device.sysname.hasPrefix("video"):
            let parts = device.syspath.split(separator: "/")
            guard let classIndex = parts.lastIndex(of: "video4linux"), classIndex > 0 else {
                return "v4l2:\(device.sysname)"
            }
            var id = String(parts[classIndex - 1])
            if let usb = usbInfo(device) {
                id = String(format: "%04x:%04x@", usb.vendorID, usb.productID) + id
            }
            if let index = device.attributes["index"], index != "0" { id += "/\(index)" }
            return "v4l2:\(id)"
        case "sound":
            guard let (card, pcm) = capturePCM(device.sysname) else { return nil }
            // Card ids are stable across re-plug, card numbers may not be: use the id when known.
            let known = device.attributes["card.id"].flatMap { $0.isEmpty ? nil : $0 }
            return "alsa:\(known ?? "card\(card)"):\(pcm)"
        default:
            return nil
        }
    }

    /// A present device (enumerated or added) as a camera or audio-capture device. Nil for an ALSA capture PCM
    /// whose card is not named yet (`SoundCardRegistration.settled` waits for the name).
    public static func classify(_ device: UdevDevice) -> DiscoveredMedia? {
        guard device.action != "remove", !SoundCardRegistration.isPending(device), let id = deviceID(of: device)
        else { return nil }
        let usb = usbInfo(device)
        switch device.subsystem {
        case "video4linux":
            guard let devnode = device.devnode else { return nil }
            // udevd's v4l_id says which nodes capture; without udevd the caller asks the node (VIDIOC_QUERYCAP).
            if let capabilities = device.properties["ID_V4L_CAPABILITIES"], !capabilities.contains(":capture:") {
                return nil
            }
            let card = device.attributes["name"] ?? device.properties["ID_V4L_PRODUCT"] ?? device.sysname
            return DiscoveredMedia(
                id: id,
                kind: .camera(devnode: devnode),
                description: .v4l2(V4L2DeviceInfo(card: card, driver: nil, usb: usb))
            )
        default:
            guard let (card, pcm) = capturePCM(device.sysname) else { return nil }
            let cardID = device.attributes["card.id"] ?? "\(card)"
            let cardName = device.properties["ID_MODEL_FROM_DATABASE"] ?? device.attributes["usb.product"] ?? cardID
            return DiscoveredMedia(
                id: id,
                kind: .audioCapture(alsaDevice: "hw:CARD=\(cardID),DEV=\(pcm)", card: cardID, pcm: pcm),
                description: .alsa(ALSACardInfo(card: cardName, id: cardID, usb: usb))
            )
        }
    }

    /// `pcmC1D0c` → (1, 0); playback PCMs and control nodes → nil.
    static func capturePCM(_ sysname: String) -> (card: Int, pcm: Int)? {
        guard sysname.hasPrefix("pcmC"), sysname.hasSuffix("c") else { return nil }
        let body = sysname.dropFirst(4).dropLast()
        let parts = body.split(separator: "D", omittingEmptySubsequences: false)
        guard parts.count == 2, let card = Int(parts[0]), let pcm = Int(parts[1]) else { return nil }
        return (card, pcm)
    }

    static func usbInfo(_ device: UdevDevice) -> USBDeviceInfo? {
        let vendor = device.attributes["usb.idVendor"] ?? device.properties["ID_VENDOR_ID"]
        let product = device.attributes["usb.idProduct"] ?? device.properties["ID_MODEL_ID"]
        guard let vendor, let product, let vendorID = UInt16(vendor, radix: 16),
            let productID = UInt16(product, radix: 16)
        else { return nil }
        return USBDeviceInfo(
            vendorID: vendorID,
            productID: productID,
            bcdDevice: device.attributes["usb.bcdDevice"].flatMap { UInt16($0, radix: 16) },
            manufacturer: device.attributes["usb.manufacturer"],
            product: device.attributes["usb.product"],
            serial: device.attributes["usb.serial"]
        )
    }
}
