/// Errors of the V4L2 adapter: each names the device or control and why.
public enum V4L2Error: Error, Sendable, Hashable, CustomStringConvertible {
    case openFailed(path: String, errno: Int32)
    /// The node exists but is not a V4L2 video capture device (e.g. a metadata or output node).
    case notCaptureDevice(path: String)
    case ioctlFailed(request: String, path: String, errno: Int32)
    /// The device has no control of that name (or it is disabled).
    case unsupportedControl(name: String, device: String)
    /// The control's type cannot be set through this API (strings, arrays, compound controls).
    case unsupportedControlType(name: String, type: String)
    case outOfRange(control: String, value: Int64, minimum: Int64, maximum: Int64, step: Int64)
    case invalidMenuItem(control: String, value: Int64, valid: [Int64])
    case readOnly(control: String)
    case closed(path: String)

    public var description: String {
        switch self {
        case .openFailed(let path, let errno): "cannot open \(path): \(errnoText(errno))"
        case .notCaptureDevice(let path): "\(path) is not a V4L2 video capture device"
        case .ioctlFailed(let request, let path, let errno): "\(request) on \(path) failed: \(errnoText(errno))"
        case .unsupportedControl(let name, let device): "\(device) has no control '\(name)'"
        case .unsupportedControlType(let name, let type): "control '\(name)' of type \(type) cannot be set"
        case .outOfRange(let control, let value, let minimum, let maximum, let step):
            "value \(value) for '\(control)' is outside \(minimum)...\(maximum) step \(step)"
        case .invalidMenuItem(let control, let value, let valid):
            "value \(value) for '\(control)' is not one of its menu items \(valid)"
        case .readOnly(let control): "control '\(control)' is read-only"
        case .closed(let path): "\(path) is closed"
        }
    }
}

private func errnoText(_ code: Int32) -> String {
    switch code {
    case 2: "no such device node (ENOENT)"
    case 6: "device gone (ENXIO)"
    case 13: "permission denied (EACCES)"
    case 16: "device busy (EBUSY)"
    case 19: "no such device (ENODEV)"
    case 22: "invalid argument (EINVAL)"
    case 25: "not a V4L2 device (ENOTTY)"
    default: "errno \(code)"
    }
}

/// What VIDIOC_QUERYCAP says about a device node.
public struct V4L2DeviceInfo: Sendable, Hashable {
    public var path: String
    public var driver: String
    public var card: String
    public var busInfo: String
    public var driverVersion: String
    /// `device_caps` (the node's own capabilities).
    public var capabilities: UInt32

    /// V4L2_CAP_VIDEO_CAPTURE (single-planar) or V4L2_CAP_VIDEO_CAPTURE_MPLANE.
    public var isVideoCapture: Bool { capabilities & 0x0000_0001 != 0 || capabilities & 0x0000_1000 != 0 }
    public var canStream: Bool { capabilities & 0x0400_0000 != 0 }
}

/// A frame interval (seconds per frame as a fraction).
public struct V4L2Fraction: Sendable, Hashable, CustomStringConvertible {
    public var numerator: UInt32
    public var denominator: UInt32

    public init(numerator: UInt32, denominator: UInt32) {
        self.numerator = numerator
        self.denominator = denominator
    }

    public var framesPerSecond: Double { numerator == 0 ? 0 : Double(denominator) / Double(numerator) }
    public var description: String { "\(numerator)/\(denominator)" }
}

/// One frame size and the intervals offered at it.
public struct V4L2FrameSize: Sendable, Hashable {
    public var width: UInt32
    public var height: UInt32
    public var intervals: [V4L2Fraction]
}

/// A continuous or stepwise size range (cameras that scale).
public struct V4L2SizeRange: Sendable, Hashable {
    public var minWidth: UInt32
    public var maxWidth: UInt32
    public var stepWidth: UInt32
    public var minHeight: UInt32
    public var maxHeight: UInt32
    public var stepHeight: UInt32
}

/// A pixel format and its frame sizes.
public struct V4L2PixelFormat: Sendable, Hashable {
    /// FourCC as text, e.g. `YUYV`, `MJPG`.
    public var fourcc: String
    public var code: UInt32
    public var description: String
    public var isCompressed: Bool
    public var sizes: [V4L2FrameSize]
    public var sizeRange: V4L2SizeRange?

    /// FourCC text of a V4L2 pixel format code (little-endian characters).
    public static func fourcc(_ code: UInt32) -> String {
        // Bit 31 marks the big-endian variant of a format (v4l2_fourcc_be).
        let bytes = (0..<4).map { UInt8((code & 0x7FFF_FFFF) >> ($0 * 8) & 0xFF) }
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: " \0")
        return code & 0x8000_0000 != 0 ? text + "-BE" : text
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var scalars = Substring(self)
        while let last = scalars.last, set.contains(last) { scalars = scalars.dropLast() }
        return String(scalars)
    }
}

/// Kinds of V4L2 controls.
public enum V4L2ControlType: Sendable, Hashable, CustomStringConvertible {
    case integer, boolean, menu, button, integer64, string, bitmask, integerMenu
    case other(UInt32)

    init(raw: UInt32) {
        switch raw {
        case 1: self = .integer
        case 2: self = .boolean
        case 3: self = .menu
        case 4: self = .button
        case 5: self = .integer64
        case 7: self = .string
        case 8: self = .bitmask
        case 9: self = .integerMenu
        default: self = .other(raw)
        }
    }

    public var description: String {
        switch self {
        case .integer: "int"
        case .boolean: "bool"
        case .menu: "menu"
        case .button: "button"
        case .integer64: "int64"
        case .string: "string"
        case .bitmask: "bitmask"
        case .integerMenu: "intmenu"
        case .other(let raw): "type-0x\(String(raw, radix: 16))"
        }
    }
}

/// What a remote doctor may drive: the controls a booth camera commonly exposes.
public enum CameraControlRole: String, Sendable, Hashable, CaseIterable {
    case brightness, contrast, zoom, focus, autoFocus, exposure, autoExposure, led

    /// Role of a control from its standard V4L2 id, or (UVC extension units) its name.
    public static func of(id: UInt32, name: String) -> CameraControlRole? {
        switch id {
        case 0x0098_0900: return .brightness  // V4L2_CID_BRIGHTNESS
        case 0x0098_0901: return .contrast  // V4L2_CID_CONTRAST
        case 0x009A_0901: return .autoExposure  // V4L2_CID_EXPOSURE_AUTO
        case 0x009A_0902: return .exposure  // V4L2_CID_EXPOSURE_ABSOLUTE
        case 0x009A_090A: return .focus  // V4L2_CID_FOCUS_ABSOLUTE
        case 0x009A_090C: return .autoFocus  // V4L2_CID_FOCUS_AUTO
        case 0x009A_090D: return .zoom  // V4L2_CID_ZOOM_ABSOLUTE
        default:
            // uvcvideo maps vendor LED controls ("LED1 Mode") by name, not by a standard id.
            return V4L2Control.key(for: name).hasPrefix("led") ? .led : nil
        }
    }
}

/// A control with its real range as the driver reports it.
public struct V4L2Control: Sendable, Hashable {
    public var id: UInt32
    public var name: String
    /// `name` in v4l2-ctl's style: lower case, words joined with `_` (`zoom_absolute`).
    public var key: String
    public var type: V4L2ControlType
    public var minimum: Int64
    public var maximum: Int64
    public var step: Int64
    public var defaultValue: Int64
    public var flags: UInt32
    /// Menu index → label (menu) or value (integer menu, as text).
    public var menuItems: [Int64: String]
    public var role: CameraControlRole?

    public init(
        id: UInt32,
        name: String,
        type: V4L2ControlType,
        minimum: Int64,
        maximum: Int64,
        step: Int64,
        defaultValue: Int64,
        flags: UInt32 = 0,
        menuItems: [Int64: String] = [:]
    ) {
        self.id = id
        self.name = name
        self.key = Self.key(for: name)
        self.type = type
        self.minimum = minimum
        self.maximum = maximum
        self.step = step
        self.defaultValue = defaultValue
        self.flags = flags
        self.menuItems = menuItems
        self.role = CameraControlRole.of(id: id, name: name)
    }

    public var isReadOnly: Bool { flags & 0x0004 != 0 }
    public var isInactive: Bool { flags & 0x0010 != 0 }
    public var isWriteOnly: Bool { flags & 0x0040 != 0 }
    public var isDisabled: Bool { flags & 0x0001 != 0 }

    /// `Zoom, Absolute` → `zoom_absolute`.
    public static func key(for name: String) -> String {
        var key = ""
        for character in name.lowercased() {
            if character.isLetter || character.isNumber {
                key.append(character)
            } else if !key.isEmpty, key.last != "_" {
                key.append("_")
            }
        }
        while key.last == "_" { key.removeLast() }
        return key
    }

    /// Checks a value against the control's type, range, step and menu before it reaches the driver.
    public func validate(_ value: Int64) throws(V4L2Error) {
        if isReadOnly { throw .readOnly(control: key) }
        switch type {
        case .integer, .integer64, .boolean, .bitmask:
            let inRange: Bool
            if type == .bitmask {
                inRange = value >= 0 && UInt64(value) & ~UInt64(UInt32(truncatingIfNeeded: maximum)) == 0
            } else {
                inRange =
                    value >= minimum && value <= maximum && (step <= 1 || (value - minimum) % step == 0)
            }
            guard inRange else {
                throw .outOfRange(control: key, value: value, minimum: minimum, maximum: maximum, step: step)
            }
        case .menu, .integerMenu:
            guard menuItems[value] != nil else {
                throw .invalidMenuItem(control: key, value: value, valid: menuItems.keys.sorted())
            }
        case .button:
            return
        case .string, .other:
            throw .unsupportedControlType(name: key, type: type.description)
        }
    }
}
