import BoothCore
import CBoothShim
import Glibc

/// `UVCIOC_CTRL_QUERY` on an open node. ENOTTY means the node's driver is not uvcvideo (vivid, v4l2loopback):
/// reported as `notUVCDevice`, not as a failed control.
public enum UVCExtensionQuery {
    public static func perform(
        fd: Int32,
        path: String,
        unit: UInt8,
        selector: UInt8,
        request: UVCRequest,
        data: inout [UInt8]
    ) throws(UVCExtensionError) {
        let target = "unit \(unit) selector \(selector)"
        guard fd >= 0 else { throw .queryFailed(control: target, request: request, errno: EBADF) }
        guard !data.isEmpty, data.count <= Int(UInt16.max) else {
            throw .queryFailed(control: target, request: request, errno: EINVAL)
        }
        let count = UInt16(data.count)
        let result = data.withUnsafeMutableBufferPointer { buffer in
            booth_uvc_xu_query(fd, unit, selector, request.rawValue, count, buffer.baseAddress)
        }
        guard result < 0 else { return }
        if -result == ENOTTY { throw .notUVCDevice(path: path) }
        throw .queryFailed(control: target, request: request, errno: -result)
    }
}

extension V4L2Device: UVCExtensionLink {
    /// One extension-unit query on this node.
    public func query(
        unit: UInt8,
        selector: UInt8,
        request: UVCRequest,
        data: inout [UInt8]
    ) throws(UVCExtensionError) {
        try UVCExtensionQuery.perform(
            fd: fileDescriptor,
            path: path,
            unit: unit,
            selector: selector,
            request: request,
            data: &data
        )
    }
}

/// A node's extension units by path: each query opens the node (plain `open(2)`, no libv4l2 probing) and closes
/// it, so a camera re-plugged under the same path is reached without holding a stale descriptor.
public struct UVCNodeLink: UVCExtensionLink {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    public func query(
        unit: UInt8,
        selector: UInt8,
        request: UVCRequest,
        data: inout [UInt8]
    ) throws(UVCExtensionError) {
        let fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            throw .queryFailed(control: "unit \(unit) selector \(selector)", request: request, errno: errno)
        }
        defer { Glibc.close(fd) }
        try UVCExtensionQuery.perform(
            fd: fd,
            path: path,
            unit: unit,
            selector: selector,
            request: request,
            data: &data
        )
    }
}
