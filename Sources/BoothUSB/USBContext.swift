import BoothCore
import CLibUSB
import Foundation
import Synchronization

/// A libusb failure, with libusb's own name for the code.
public struct USBError: Error, Sendable, Equatable, CustomStringConvertible {
    public var operation: String
    public var code: Int32

    public init(operation: String, code: Int32) {
        self.operation = operation
        self.code = code
    }

    /// The device was unplugged.
    public var isDisconnected: Bool { code == LIBUSB_ERROR_NO_DEVICE.rawValue }

    public var description: String {
        "\(operation): \(String(cString: libusb_error_name(code))) (\(String(cString: libusb_strerror(code))))"
    }
}

/// A USB device present on the bus, with what the matcher needs.
public struct USBDeviceRecord: Sendable, Hashable {
    public var bus: UInt8
    public var address: UInt8
    /// Physical port chain, e.g. `1-2.3` (stable across re-plugs into the same port, unlike the address).
    public var port: String
    public var info: USBDeviceInfo

    public init(bus: UInt8, address: UInt8, port: String, info: USBDeviceInfo) {
        self.bus = bus
        self.address = address
        self.port = port
        self.info = info
    }
}

/// A device arrived or left (libusb hotplug).
public enum USBHotplugEvent: Sendable, Hashable {
    case arrived(USBDeviceRecord)
    case left(bus: UInt8, address: UInt8)
}

/// One libusb context. libusb contexts are thread-safe (libusb documents every API as callable from any thread,
/// except `libusb_exit`, which only `deinit` calls), so the pointer is shared without a lock.
public final class USBContext: @unchecked Sendable {
    let context: OpaquePointer

    private struct EventLoop {
        var thread: Thread?
        var running = false
        var hotplugHandle: libusb_hotplug_callback_handle = 0
        var hotplugBox: Unmanaged<HotplugBox>?
    }

    private let eventLoop = Mutex(EventLoop())

    public init() throws(USBError) {
        var created: OpaquePointer?
        let code = libusb_init(&created)
        guard code == 0, let created else { throw USBError(operation: "libusb_init", code: code) }
        context = created
    }

    deinit {
        stopEvents()
        libusb_exit(context)
    }

    /// Whether this libusb (and kernel) can report arrivals and departures.
    public static var hasHotplug: Bool { libusb_has_capability(UInt32(LIBUSB_CAP_HAS_HOTPLUG.rawValue)) != 0 }

    /// Every device on every bus. Strings are read only from devices boothd may open (udev gives it the profiled
    /// ones); others are listed with ids and classes only.
    public func devices() throws(USBError) -> [USBDeviceRecord] {
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let count = libusb_get_device_list(context, &list)
        guard count >= 0, let list else { throw USBError(operation: "libusb_get_device_list", code: Int32(count)) }
        defer { libusb_free_device_list(list, 1) }
        var records: [USBDeviceRecord] = []
        for index in 0..<Int(count) {
            guard let device = list[index], let record = Self.record(device, readStrings: true) else { continue }
            records.append(record)
        }
        return records
    }

    static func record(_ device: OpaquePointer, readStrings: Bool) -> USBDeviceRecord? {
        var descriptor = libusb_device_descriptor()
        guard libusb_get_device_descriptor(device, &descriptor) == 0 else { return nil }
        var info = USBDeviceInfo(
            vendorID: descriptor.idVendor,
            productID: descriptor.idProduct,
            bcdDevice: descriptor.bcdDevice,
            interfaceClasses: interfaceClasses(device)
        )
        if readStrings {
            var handle: OpaquePointer?
            if libusb_open(device, &handle) == 0, let handle {
                info.manufacturer = string(handle, descriptor.iManufacturer)
                info.product = string(handle, descriptor.iProduct)
                info.serial = string(handle, descriptor.iSerialNumber)
                libusb_close(handle)
            }
        }
        var ports = [UInt8](repeating: 0, count: 8)
        let depth = libusb_get_port_numbers(device, &ports, Int32(ports.count))
        let bus = libusb_get_bus_number(device)
        let chain = depth > 0 ? ports[0..<Int(depth)].map(String.init).joined(separator: ".") : "0"
        return USBDeviceRecord(
            bus: bus,
            address: libusb_get_device_address(device),
            port: "\(bus)-\(chain)",
            info: info
        )
    }

    private static func interfaceClasses(_ device: OpaquePointer) -> [UInt8] {
        var config: UnsafeMutablePointer<libusb_config_descriptor>?
        guard
            libusb_get_active_config_descriptor(device, &config) == 0
                || libusb_get_config_descriptor(device, 0, &config) == 0,
            let config
        else { return [] }
        defer { libusb_free_config_descriptor(config) }
        var classes: [UInt8] = []
        for index in 0..<Int(config.pointee.bNumInterfaces) {
            let interface = config.pointee.interface[index]
            guard interface.num_altsetting > 0, let setting = interface.altsetting else { continue }
            classes.append(setting.pointee.bInterfaceClass)
        }
        return classes
    }

    private static func string(_ handle: OpaquePointer, _ index: UInt8) -> String? {
        guard index != 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 256)
        let length = libusb_get_string_descriptor_ascii(handle, index, &buffer, Int32(buffer.count))
        guard length > 0 else { return nil }
        return String(decoding: buffer[0..<Int(length)], as: UTF8.self)
    }

    /// Arrivals (including devices already present) and departures, while the stream is consumed. Runs libusb's
    /// event loop on a dedicated thread (libusb delivers hotplug callbacks from `libusb_handle_events`).
    public func hotplugEvents() throws(USBError) -> AsyncStream<USBHotplugEvent> {
        guard Self.hasHotplug else {
            throw USBError(operation: "hotplug", code: LIBUSB_ERROR_NOT_SUPPORTED.rawValue)
        }
        let (stream, continuation) = AsyncStream<USBHotplugEvent>.makeStream()
        let box = Unmanaged.passRetained(HotplugBox(continuation))
        var handle: libusb_hotplug_callback_handle = 0
        let events = Int32(LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED.rawValue | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT.rawValue)
        let code = libusb_hotplug_register_callback(
            context,
            events,
            Int32(LIBUSB_HOTPLUG_ENUMERATE.rawValue),
            LIBUSB_HOTPLUG_MATCH_ANY,
            LIBUSB_HOTPLUG_MATCH_ANY,
            LIBUSB_HOTPLUG_MATCH_ANY,
            { _, device, event, userData in
                guard let device, let userData else { return 0 }
                let box = Unmanaged<HotplugBox>.fromOpaque(userData).takeUnretainedValue()
                if event == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED {
                    // No I/O inside the callback (libusb forbids it): descriptors only, they are cached.
                    if let record = USBContext.record(device, readStrings: false) {
                        box.continuation.yield(.arrived(record))
                    }
                } else {
                    box.continuation.yield(
                        .left(bus: libusb_get_bus_number(device), address: libusb_get_device_address(device))
                    )
                }
                return 0
            },
            box.toOpaque(),
            &handle
        )
        guard code == 0 else {
            box.release()
            throw USBError(operation: "libusb_hotplug_register_callback", code: code)
        }
        eventLoop.withLock { loop in
            loop.hotplugHandle = handle
            loop.hotplugBox = box
        }
        continuation.onTermination = { [weak self] _ in self?.stopEvents() }
        startEvents()
        return stream
    }

    private func startEvents() {
        eventLoop.withLock { loop in
            guard !loop.running else { return }
            loop.running = true
            let thread = Thread { [self] in
                var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
                while eventLoop.withLock({ $0.running }) {
                    _ = libusb_handle_events_timeout_completed(context, &timeout, nil)
                }
            }
            thread.name = "boothd.libusb-events"
            loop.thread = thread
            thread.start()
        }
    }

    /// Stops the event thread (it notices within its 200 ms poll) and unregisters hotplug.
    public func stopEvents() {
        let (handle, box) = eventLoop.withLock { loop in
            loop.running = false
            let result = (loop.hotplugHandle, loop.hotplugBox)
            loop.hotplugHandle = 0
            loop.hotplugBox = nil
            return result
        }
        if let box {
            libusb_hotplug_deregister_callback(context, handle)
            box.takeUnretainedValue().continuation.finish()
            box.release()
        }
    }
}

final class HotplugBox: Sendable {
    let continuation: AsyncStream<USBHotplugEvent>.Continuation
    init(_ continuation: AsyncStream<USBHotplugEvent>.Continuation) { self.continuation = continuation }
}
