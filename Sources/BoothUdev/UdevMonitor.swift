import CUdev
import Foundation
import Synchronization

/// One device as udev describes it, copied out of libudev (no C handle escapes the monitor thread).
public struct UdevDevice: Sendable, Hashable {
    /// `existing` for devices present when monitoring started; otherwise the uevent's action (`add`, `remove`,
    /// `change`, `bind`, ...).
    public var action: String
    public var subsystem: String
    /// `video0`, `pcmC1D0c`.
    public var sysname: String
    public var syspath: String
    /// `/dev/video0`, `/dev/snd/pcmC1D0c`.
    public var devnode: String?
    /// udev properties (`ID_VENDOR_ID`, `ID_V4L_CAPABILITIES`, ... when udevd runs; kernel ones otherwise).
    public var properties: [String: String]
    /// Attributes read when the device is present: `name` (V4L2), `card.id` and `card.number` (the ALSA card of a
    /// PCM device), `usb.idVendor`, `usb.idProduct`, `usb.product`, `usb.manufacturer`, `usb.serial`.
    public var attributes: [String: String]

    public init(
        action: String,
        subsystem: String,
        sysname: String,
        syspath: String,
        devnode: String?,
        properties: [String: String] = [:],
        attributes: [String: String] = [:]
    ) {
        self.action = action
        self.subsystem = subsystem
        self.sysname = sysname
        self.syspath = syspath
        self.devnode = devnode
        self.properties = properties
        self.attributes = attributes
    }
}

/// What the monitor reports.
public enum UdevEvent: Sendable, Hashable {
    case device(UdevDevice)
    /// Every device present at start has been reported (hotplug events follow).
    case enumerated
    /// libudev could not be set up; the stream ends.
    case failed(String)
}

/// Watches udev for devices of some subsystems: first the devices present, then hotplug events, read by a
/// dedicated thread (libudev handles never leave it) and delivered as an `AsyncStream`. The monitor is set up
/// before the enumeration so that nothing plugged in between is missed. Without udevd (containers, the lab VM)
/// it listens to the kernel's uevents directly.
public enum UdevMonitor {
    /// Events for `subsystems` (e.g. `video4linux`, `sound`) until the consumer stops iterating.
    public static func events(subsystems: [String], pollMilliseconds: Int32 = 200) -> AsyncStream<UdevEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: UdevEvent.self, bufferingPolicy: .unbounded)
        let stop = Stopper()
        continuation.onTermination = { _ in stop.flag.store(true, ordering: .releasing) }
        let thread = Thread {
            run(subsystems: subsystems, poll: pollMilliseconds, stop: stop) { continuation.yield($0) }
            continuation.finish()
        }
        thread.name = "booth-udev"
        thread.start()
        return stream
    }

    private final class Stopper: Sendable {
        let flag = Atomic<Bool>(false)
    }

    private static func run(
        subsystems: [String],
        poll timeout: Int32,
        stop: Stopper,
        emit: (UdevEvent) -> Void
    ) {
        guard let udev = udev_new() else { return emit(.failed("udev_new failed")) }
        defer { udev_unref(udev) }
        let source = access("/run/udev/control", F_OK) == 0 ? "udev" : "kernel"
        guard let monitor = udev_monitor_new_from_netlink(udev, source) else {
            return emit(.failed("cannot open the \(source) uevent socket (errno \(errno))"))
        }
        defer { udev_monitor_unref(monitor) }
        for subsystem in subsystems {
            udev_monitor_filter_add_match_subsystem_devtype(monitor, subsystem, nil)
        }
        guard udev_monitor_enable_receiving(monitor) >= 0 else {
            return emit(.failed("cannot receive \(source) uevents (errno \(errno))"))
        }
        // Present devices.
        if let enumerate = udev_enumerate_new(udev) {
            for subsystem in subsystems { udev_enumerate_add_match_subsystem(enumerate, subsystem) }
            udev_enumerate_scan_devices(enumerate)
            var entry = udev_enumerate_get_list_entry(enumerate)
            while let current = entry {
                if let path = udev_list_entry_get_name(current),
                    let device = udev_device_new_from_syspath(udev, path)
                {
                    emit(.device(copy(device, action: "existing")))
                    udev_device_unref(device)
                }
                entry = udev_list_entry_get_next(current)
            }
            udev_enumerate_unref(enumerate)
        }
        emit(.enumerated)
        var descriptor = pollfd(fd: udev_monitor_get_fd(monitor), events: Int16(POLLIN), revents: 0)
        while !stop.flag.load(ordering: .acquiring) {
            descriptor.revents = 0
            let ready = poll(&descriptor, 1, timeout)
            guard ready > 0 else { continue }
            guard let device = udev_monitor_receive_device(monitor) else { continue }
            let action = udev_device_get_action(device).map { String(cString: $0) } ?? "change"
            emit(.device(copy(device, action: action)))
            udev_device_unref(device)
        }
    }

    private static func copy(_ device: OpaquePointer, action: String) -> UdevDevice {
        func text(_ pointer: UnsafePointer<CChar>?) -> String? { pointer.map { String(cString: $0) } }
        var properties: [String: String] = [:]
        var entry = udev_device_get_properties_list_entry(device)
        while let current = entry {
            if let name = text(udev_list_entry_get_name(current)) {
                properties[name] = text(udev_list_entry_get_value(current)) ?? ""
            }
            entry = udev_list_entry_get_next(current)
        }
        var attributes: [String: String] = [:]
        let subsystem = text(udev_device_get_subsystem(device)) ?? ""
        if action != "remove" {
            if subsystem == "video4linux" {
                for key in ["name", "index"] {
                    if let value = text(udev_device_get_sysattr_value(device, key)) {
                        attributes[key] = value.trimmingCharacters(in: .whitespacesAndNewlines)
                    }
                }
            }
            if subsystem == "sound", let card = udev_device_get_parent_with_subsystem_devtype(device, "sound", nil) {
                // A PCM device's parent is its card (`card1`, attributes `id` and `number`).
                for key in ["id", "number"] {
                    if let value = text(udev_device_get_sysattr_value(card, key)) {
                        attributes["card.\(key)"] = value.trimmingCharacters(in: .whitespacesAndNewlines)
                    }
                }
            }
            if let usb = udev_device_get_parent_with_subsystem_devtype(device, "usb", "usb_device") {
                for key in ["idVendor", "idProduct", "product", "manufacturer", "serial", "bcdDevice"] {
                    if let value = text(udev_device_get_sysattr_value(usb, key)) {
                        attributes["usb.\(key)"] = value.trimmingCharacters(in: .whitespacesAndNewlines)
                    }
                }
            }
        }
        return UdevDevice(
            action: action,
            subsystem: subsystem,
            sysname: text(udev_device_get_sysname(device)) ?? "",
            syspath: text(udev_device_get_syspath(device)) ?? "",
            devnode: text(udev_device_get_devnode(device)),
            properties: properties,
            attributes: attributes
        )
    }
}
