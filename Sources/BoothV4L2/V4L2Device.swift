import CBoothShim
import CV4L2
import Glibc
import Synchronization

/// An open V4L2 device node (through libv4l2); the one owner of its file descriptor.
public final class V4L2Device: Sendable {
    public let path: String
    private let descriptor: Mutex<Int32>

    /// Opens the node read/write, non-blocking (so a wedged camera never blocks a query).
    public init(path: String) throws(V4L2Error) {
        self.path = path
        let fd = booth_v4l2_open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            // libv4l2 queries the node on open: a non-V4L2 file fails here with ENOTTY.
            let code = errno
            throw code == ENOTTY ? .notCaptureDevice(path: path) : .openFailed(path: path, errno: code)
        }
        descriptor = Mutex(fd)
    }

    deinit {
        let fd = descriptor.withLock { $0 }
        if fd >= 0 { _ = v4l2_close(fd) }
    }

    /// The open descriptor (-1 once closed), for ioctls outside libv4l2 (UVCIOC_CTRL_QUERY).
    var fileDescriptor: Int32 { descriptor.withLock { $0 } }

    public func close() {
        let fd = descriptor.withLock { fd in
            defer { fd = -1 }
            return fd
        }
        if fd >= 0 { _ = v4l2_close(fd) }
    }

    // MARK: queries

    public func info() throws(V4L2Error) -> V4L2DeviceInfo {
        var capability = v4l2_capability()
        do {
            try ioctl(booth_VIDIOC_QUERYCAP, "VIDIOC_QUERYCAP", &capability)
        } catch .ioctlFailed(_, _, ENOTTY) {
            throw .notCaptureDevice(path: path)
        }
        let version = capability.version
        let caps = capability.capabilities & 0x8000_0000 != 0 ? capability.device_caps : capability.capabilities
        return V4L2DeviceInfo(
            path: path,
            driver: cString(capability.driver),
            card: cString(capability.card),
            busInfo: cString(capability.bus_info),
            driverVersion: "\(version >> 16).\((version >> 8) & 0xFF).\(version & 0xFF)",
            capabilities: caps
        )
    }

    /// Capture formats with their discrete sizes and frame intervals (or a size range).
    public func formats() throws(V4L2Error) -> [V4L2PixelFormat] {
        var formats: [V4L2PixelFormat] = []
        var index: UInt32 = 0
        while true {
            var description = v4l2_fmtdesc()
            description.index = index
            description.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
            guard try ioctlUnlessEnd(booth_VIDIOC_ENUM_FMT, "VIDIOC_ENUM_FMT", &description) else { break }
            var format = V4L2PixelFormat(
                fourcc: V4L2PixelFormat.fourcc(description.pixelformat),
                code: description.pixelformat,
                description: cString(description.description),
                isCompressed: description.flags & 0x0001 != 0,
                sizes: [],
                sizeRange: nil
            )
            try enumerateSizes(of: &format)
            formats.append(format)
            index += 1
        }
        return formats
    }

    private func enumerateSizes(of format: inout V4L2PixelFormat) throws(V4L2Error) {
        var index: UInt32 = 0
        while true {
            var size = v4l2_frmsizeenum()
            size.index = index
            size.pixel_format = format.code
            guard try ioctlUnlessEnd(booth_VIDIOC_ENUM_FRAMESIZES, "VIDIOC_ENUM_FRAMESIZES", &size) else { return }
            if size.type == V4L2_FRMSIZE_TYPE_DISCRETE.rawValue {
                let width = size.discrete.width
                let height = size.discrete.height
                format.sizes.append(
                    V4L2FrameSize(
                        width: width,
                        height: height,
                        intervals: try intervals(code: format.code, width: width, height: height)
                    )
                )
            } else {
                let step = size.stepwise
                format.sizeRange = V4L2SizeRange(
                    minWidth: step.min_width,
                    maxWidth: step.max_width,
                    stepWidth: step.step_width,
                    minHeight: step.min_height,
                    maxHeight: step.max_height,
                    stepHeight: step.step_height
                )
                return
            }
            index += 1
        }
    }

    private func intervals(code: UInt32, width: UInt32, height: UInt32) throws(V4L2Error) -> [V4L2Fraction] {
        var result: [V4L2Fraction] = []
        var index: UInt32 = 0
        while true {
            var interval = v4l2_frmivalenum()
            interval.index = index
            interval.pixel_format = code
            interval.width = width
            interval.height = height
            guard try ioctlUnlessEnd(booth_VIDIOC_ENUM_FRAMEINTERVALS, "VIDIOC_ENUM_FRAMEINTERVALS", &interval)
            else { return result }
            if interval.type == V4L2_FRMIVAL_TYPE_DISCRETE.rawValue {
                result.append(
                    V4L2Fraction(numerator: interval.discrete.numerator, denominator: interval.discrete.denominator)
                )
            } else {
                // Stepwise/continuous: report the bounds (fastest first, as discrete lists are ordered).
                let range = interval.stepwise
                return [
                    V4L2Fraction(numerator: range.min.numerator, denominator: range.min.denominator),
                    V4L2Fraction(numerator: range.max.numerator, denominator: range.max.denominator),
                ]
            }
            index += 1
        }
    }

    /// Every enabled control with its range, default and menu items (control-class headers skipped).
    public func controls() throws(V4L2Error) -> [V4L2Control] {
        var controls: [V4L2Control] = []
        var id: UInt32 = 0x8000_0000 | 0x4000_0000  // V4L2_CTRL_FLAG_NEXT_CTRL | V4L2_CTRL_FLAG_NEXT_COMPOUND
        while true {
            var query = v4l2_query_ext_ctrl()
            query.id = id
            guard try ioctlUnlessEnd(booth_VIDIOC_QUERY_EXT_CTRL, "VIDIOC_QUERY_EXT_CTRL", &query) else { break }
            id = query.id | 0x8000_0000 | 0x4000_0000
            let type = V4L2ControlType(raw: query.type)
            if query.type == 6 || query.flags & 0x0001 != 0 { continue }  // control class / disabled
            var items: [Int64: String] = [:]
            if type == .menu || type == .integerMenu {
                items = menuItems(
                    id: query.id,
                    minimum: query.minimum,
                    maximum: query.maximum,
                    integer: type == .integerMenu
                )
            }
            controls.append(
                V4L2Control(
                    id: query.id,
                    name: cString(query.name),
                    type: type,
                    minimum: query.minimum,
                    maximum: query.maximum,
                    step: Int64(clamping: query.step),
                    defaultValue: query.default_value,
                    flags: query.flags,
                    menuItems: items
                )
            )
        }
        return controls
    }

    private func menuItems(id: UInt32, minimum: Int64, maximum: Int64, integer: Bool) -> [Int64: String] {
        var items: [Int64: String] = [:]
        guard minimum >= 0, maximum >= minimum, maximum - minimum < 1024 else { return items }
        for index in minimum...maximum {
            var item = v4l2_querymenu()
            item.id = id
            item.index = UInt32(index)
            // Gaps are normal (EINVAL for an index the driver skips).
            guard (try? ioctl(booth_VIDIOC_QUERYMENU, "VIDIOC_QUERYMENU", &item)) != nil else { continue }
            items[index] = integer ? "\(item.value)" : cString(item.name)
        }
        return items
    }

    /// The control whose key (`zoom_absolute`), name or role name matches.
    public func control(_ name: String) throws(V4L2Error) -> V4L2Control {
        let key = V4L2Control.key(for: name)
        let all = try controls()
        if let control = all.first(where: { $0.key == key })
            ?? all.first(where: { $0.role?.rawValue.lowercased() == name.lowercased() })
        {
            return control
        }
        throw .unsupportedControl(name: name, device: path)
    }

    /// Current value of an integer/boolean/menu control.
    public func value(of control: V4L2Control) throws(V4L2Error) -> Int64 {
        guard [.integer, .boolean, .menu, .integerMenu, .bitmask].contains(control.type) else {
            throw .unsupportedControlType(name: control.key, type: control.type.description)
        }
        var request = v4l2_control(id: control.id, value: 0)
        try ioctl(booth_VIDIOC_G_CTRL, "VIDIOC_G_CTRL", &request)
        return Int64(request.value)
    }

    /// Sets a control after validating the value against the driver's range, step and menu.
    @discardableResult
    public func set(_ name: String, to value: Int64) throws(V4L2Error) -> V4L2Control {
        let control = try control(name)
        try set(control, to: value)
        return control
    }

    public func set(_ control: V4L2Control, to value: Int64) throws(V4L2Error) {
        try control.validate(value)
        guard control.type != .integer64, let value32 = Int32(exactly: value) else {
            throw .unsupportedControlType(name: control.key, type: control.type.description)
        }
        var request = v4l2_control(id: control.id, value: value32)
        try ioctl(booth_VIDIOC_S_CTRL, "VIDIOC_S_CTRL", &request)
    }

    // MARK: ioctl

    /// One ioctl through libv4l2, retried on EINTR/EAGAIN, failing with a typed errno.
    func ioctl<T>(_ request: UInt, _ name: String, _ argument: inout T) throws(V4L2Error) {
        let fd = descriptor.withLock { $0 }
        guard fd >= 0 else { throw .closed(path: path) }
        var attempts = 0
        while true {
            let result = withUnsafeMutablePointer(to: &argument) { booth_v4l2_ioctl(fd, request, $0) }
            if result >= 0 { return }
            let code = errno
            attempts += 1
            if (code == EINTR || code == EAGAIN) && attempts < 5 { continue }
            throw .ioctlFailed(request: name, path: path, errno: code)
        }
    }

    /// Enumeration ioctls end with EINVAL; returns false there.
    private func ioctlUnlessEnd<T>(_ request: UInt, _ name: String, _ argument: inout T) throws(V4L2Error) -> Bool {
        do {
            try ioctl(request, name, &argument)
            return true
        } catch .ioctlFailed(_, _, EINVAL) {
            return false
        }
    }
}

/// A fixed-size C char array (imported as a tuple) as a String.
func cString<T>(_ tuple: T) -> String {
    withUnsafeBytes(of: tuple) { raw in
        let bytes = raw.prefix { $0 != 0 }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Finds V4L2 capture devices.
public enum V4L2Discovery {
    /// A capture device with its formats.
    public struct Device: Sendable, Hashable {
        public var info: V4L2DeviceInfo
        public var formats: [V4L2PixelFormat]
    }

    /// `/dev/video*` nodes that are video capture devices, sorted by path; nodes that fail to open are skipped.
    public static func captureDevices(directory: String = "/dev") -> [Device] {
        guard let entries = try? directoryEntries(directory) else { return [] }
        let nodes = entries.filter { $0.hasPrefix("video") }.sorted {
            $0.count != $1.count ? $0.count < $1.count : $0 < $1
        }
        return nodes.compactMap { node in
            guard let device = try? V4L2Device(path: "\(directory)/\(node)"), let info = try? device.info(),
                info.isVideoCapture
            else { return nil }
            return Device(info: info, formats: (try? device.formats()) ?? [])
        }
    }

    private static func directoryEntries(_ path: String) throws -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            names.append(cString(entry.pointee.d_name))
        }
        return names
    }
}
