import BoothCore
import CLibUSB
import Foundation
import Synchronization

/// One interface of a USB device as a `ByteStreamLink`: interrupt or bulk IN transfers become `received()` chunks
/// (read by a dedicated thread, so blocking libusb calls never occupy the cooperative pool), `send` writes the OUT
/// endpoint — or, for a HID interface without one, a SET_REPORT control transfer. A kernel driver bound to the
/// interface (usbhid, cdc_acm) is detached while boothd holds it and re-attached on close.
public final class USBTransferLink: ByteStreamLink {
    public let record: USBDeviceRecord
    public let interfaceNumber: Int32

    private struct Endpoints {
        var input: UInt8
        var inputIsInterrupt: Bool
        var output: UInt8?
        var outputIsInterrupt: Bool
        var maxPacket: Int
        var interfaceClass: UInt8
    }

    private struct State {
        var handle: SharedHandle?
        var receiving = false
        var stopping = false
        var readerDone = true
    }

    private let context: USBContext
    private let endpoints: Endpoints
    private let state: Mutex<State>

    /// Opens the device at `bus`/`address` and claims `interface`.
    public init(context: USBContext, bus: UInt8, address: UInt8, interface: Int32) throws(USBError) {
        guard let record = try context.devices().first(where: { $0.bus == bus && $0.address == address }) else {
            throw USBError(operation: "open \(bus):\(address)", code: LIBUSB_ERROR_NO_DEVICE.rawValue)
        }
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let count = libusb_get_device_list(context.context, &list)
        guard count >= 0, let list else { throw USBError(operation: "libusb_get_device_list", code: Int32(count)) }
        defer { libusb_free_device_list(list, 1) }
        var found: OpaquePointer?
        for index in 0..<Int(count) {
            if let device = list[index], libusb_get_bus_number(device) == bus,
                libusb_get_device_address(device) == address
            {
                found = device
            }
        }
        guard let device = found else {
            throw USBError(operation: "open \(bus):\(address)", code: LIBUSB_ERROR_NO_DEVICE.rawValue)
        }
        let endpoints = try Self.endpoints(device, interface: interface)
        var handle: OpaquePointer?
        let opened = libusb_open(device, &handle)
        guard opened == 0, let handle else { throw USBError(operation: "libusb_open", code: opened) }
        libusb_set_auto_detach_kernel_driver(handle, 1)
        let claimed = libusb_claim_interface(handle, interface)
        guard claimed == 0 else {
            libusb_close(handle)
            throw USBError(operation: "libusb_claim_interface \(interface)", code: claimed)
        }
        self.context = context
        self.record = record
        self.interfaceNumber = interface
        self.endpoints = endpoints
        state = Mutex(State(handle: SharedHandle(pointer: handle)))
    }

    deinit { close() }

    private static func endpoints(_ device: OpaquePointer, interface: Int32) throws(USBError) -> Endpoints {
        var config: UnsafeMutablePointer<libusb_config_descriptor>?
        let code = libusb_get_active_config_descriptor(device, &config)
        guard code == 0, let config else {
            throw USBError(operation: "libusb_get_active_config_descriptor", code: code)
        }
        defer { libusb_free_config_descriptor(config) }
        for index in 0..<Int(config.pointee.bNumInterfaces) {
            let candidate = config.pointee.interface[index]
            guard candidate.num_altsetting > 0, let setting = candidate.altsetting,
                Int32(setting.pointee.bInterfaceNumber) == interface
            else { continue }
            var input: (UInt8, Bool, Int)?
            var output: (UInt8, Bool)?
            for endpointIndex in 0..<Int(setting.pointee.bNumEndpoints) {
                let endpoint = setting.pointee.endpoint[endpointIndex]
                let type = endpoint.bmAttributes & 0x03
                let isInterrupt = type == UInt8(LIBUSB_TRANSFER_TYPE_INTERRUPT.rawValue)
                guard isInterrupt || type == UInt8(LIBUSB_TRANSFER_TYPE_BULK.rawValue) else { continue }
                if endpoint.bEndpointAddress & 0x80 != 0 {
                    if input == nil { input = (endpoint.bEndpointAddress, isInterrupt, Int(endpoint.wMaxPacketSize)) }
                } else if output == nil {
                    output = (endpoint.bEndpointAddress, isInterrupt)
                }
            }
            guard let input else {
                throw USBError(
                    operation: "interface \(interface) has no bulk/interrupt IN endpoint",
                    code: LIBUSB_ERROR_NOT_FOUND.rawValue
                )
            }
            return Endpoints(
                input: input.0,
                inputIsInterrupt: input.1,
                output: output?.0,
                outputIsInterrupt: output?.1 ?? false,
                maxPacket: max(input.2, 8),
                interfaceClass: setting.pointee.bInterfaceClass
            )
        }
        throw USBError(operation: "no interface \(interface)", code: LIBUSB_ERROR_NOT_FOUND.rawValue)
    }

    public func send(_ bytes: [UInt8]) async throws {
        let handle = try state.withLock { state throws(USBError) in
            guard let handle = state.handle, !state.stopping else {
                throw USBError(operation: "send", code: LIBUSB_ERROR_NO_DEVICE.rawValue)
            }
            return handle.pointer
        }
        let endpoints = endpoints
        let interface = interfaceNumber
        let device = SharedHandle(pointer: handle)
        // A blocking transfer (bounded by its 2 s timeout) runs on its own thread, not on the cooperative pool.
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let thread = Thread {
                let handle = device.pointer
                var data = bytes
                var code: Int32
                var transferred: Int32 = 0
                if let output = endpoints.output {
                    code =
                        endpoints.outputIsInterrupt
                        ? libusb_interrupt_transfer(handle, output, &data, Int32(data.count), &transferred, 2000)
                        : libusb_bulk_transfer(handle, output, &data, Int32(data.count), &transferred, 2000)
                    if code == 0 && Int(transferred) != data.count { code = LIBUSB_ERROR_IO.rawValue }
                } else if endpoints.interfaceClass == 3 {
                    // HID SET_REPORT (output report 0): class request to the interface.
                    let result = libusb_control_transfer(
                        handle,
                        0x21,
                        0x09,
                        0x0200,
                        UInt16(interface),
                        &data,
                        UInt16(data.count),
                        2000
                    )
                    code = result < 0 ? result : 0
                } else {
                    code = LIBUSB_ERROR_NOT_SUPPORTED.rawValue
                }
                if code == 0 {
                    continuation.resume()
                } else {
                    continuation.resume(throwing: USBError(operation: "send", code: code))
                }
            }
            thread.name = "boothd.usb-send"
            thread.start()
        }
    }

    public func received() async throws -> AsyncThrowingStream<[UInt8], any Error> {
        let handle = try state.withLock { state throws(USBError) in
            guard let handle = state.handle, !state.stopping else {
                throw USBError(operation: "received", code: LIBUSB_ERROR_NO_DEVICE.rawValue)
            }
            guard !state.receiving else { throw USBError(operation: "received", code: LIBUSB_ERROR_BUSY.rawValue) }
            state.receiving = true
            state.readerDone = false
            return handle.pointer
        }
        let (stream, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        let endpoints = endpoints
        let device = SharedHandle(pointer: handle)
        let thread = Thread { [self] in
            let handle = device.pointer
            var buffer = [UInt8](repeating: 0, count: max(endpoints.maxPacket, 64))
            while !state.withLock({ $0.stopping }) {
                var transferred: Int32 = 0
                // A short timeout so close() is noticed promptly; a timeout is not an error.
                let code =
                    endpoints.inputIsInterrupt
                    ? libusb_interrupt_transfer(
                        handle,
                        endpoints.input,
                        &buffer,
                        Int32(buffer.count),
                        &transferred,
                        250
                    )
                    : libusb_bulk_transfer(handle, endpoints.input, &buffer, Int32(buffer.count), &transferred, 250)
                if transferred > 0 { continuation.yield(Array(buffer[0..<Int(transferred)])) }
                if code == 0 || code == LIBUSB_ERROR_TIMEOUT.rawValue || code == LIBUSB_ERROR_INTERRUPTED.rawValue {
                    continue
                }
                // NO_DEVICE when unplugged mid-reading; PIPE/IO/OVERFLOW are failures of the device too.
                continuation.finish(throwing: USBError(operation: "read endpoint", code: code))
                state.withLock { $0.readerDone = true }
                return
            }
            continuation.finish()
            state.withLock { $0.readerDone = true }
        }
        thread.name = "boothd.usb-read"
        thread.start()
        return stream
    }

    /// Stops the reader, releases the interface (the kernel driver is re-attached) and closes the device.
    public func close() {
        let handle = state.withLock { state -> OpaquePointer? in
            guard !state.stopping else { return nil }
            state.stopping = true
            return state.handle?.pointer
        }
        guard let handle else { return }
        // The reader leaves within one 250 ms transfer timeout.
        let deadline = ContinuousClock.now + .seconds(2)
        while !state.withLock({ $0.readerDone }) && ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.01)
        }
        libusb_release_interface(handle, interfaceNumber)
        libusb_close(handle)
        state.withLock { $0.handle = nil }
    }
}

/// A libusb device handle handed to a transfer thread. libusb allows synchronous transfers on one handle from
/// several threads; closing is ordered after the reader has stopped (see `close()`).
struct SharedHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}
