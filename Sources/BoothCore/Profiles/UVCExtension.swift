/// A UVC extension-unit (XU) control a camera's firmware profile declares: vendor controls (illumination LEDs,
/// polarization filters, ...) that the uvcvideo driver does not map to V4L2 controls. Reached with the
/// `UVCIOC_CTRL_QUERY` ioctl (unit id, selector, request code, a little-endian payload of `size` bytes).
public struct UVCExtensionControl: Sendable, Hashable, Codable {
    /// How the payload is read as a number.
    public enum ValueType: String, Sendable, Hashable, Codable, CaseIterable {
        /// Little-endian unsigned integer of `size` bytes.
        case unsigned
        /// Little-endian two's-complement integer of `size` bytes.
        case signed
        /// One byte, 0 or 1.
        case boolean
    }

    /// What the session may do with the control.
    public enum Access: String, Sendable, Hashable, Codable, CaseIterable {
        case read
        case write
        case readWrite = "read_write"

        public var canRead: Bool { self != .write }
        public var canWrite: Bool { self != .read }
    }

    /// Wire name (`led`, `polarization`), as `camera.control` and `boothctl camera controls` show it.
    public var name: String
    /// `bUnitID` of the extension unit in the device's UVC descriptors.
    public var unit: UInt8
    /// Control selector within the unit.
    public var selector: UInt8
    /// Payload length in bytes (1...8); the device's `GET_LEN` must agree.
    public var size: Int
    public var type: ValueType
    public var minimum: Int64
    public var maximum: Int64
    public var step: Int64
    public var defaultValue: Int64?
    public var access: Access

    public init(
        name: String,
        unit: UInt8,
        selector: UInt8,
        size: Int,
        type: ValueType = .unsigned,
        minimum: Int64,
        maximum: Int64,
        step: Int64 = 1,
        defaultValue: Int64? = nil,
        access: Access = .readWrite
    ) {
        self.name = name
        self.unit = unit
        self.selector = selector
        self.size = size
        self.type = type
        self.minimum = minimum
        self.maximum = maximum
        self.step = max(1, step)
        self.defaultValue = defaultValue
        self.access = access
    }

    /// The values `size` bytes of `type` can hold (a profile's range must lie within them).
    public static func representable(type: ValueType, size: Int) -> ClosedRange<Int64> {
        switch type {
        case .boolean: return 0...1
        case .signed:
            guard size < 8 else { return Int64.min...Int64.max }
            let half = Int64(1) << (size * 8 - 1)
            return -half...(half - 1)
        case .unsigned:
            guard size < 8 else { return 0...Int64.max }
            return 0...((Int64(1) << (size * 8)) - 1)
        }
    }

    /// The payload for `value`: `size` bytes, little endian (UVC is little endian on the wire).
    public func encode(_ value: Int64) -> [UInt8] {
        let bits = UInt64(bitPattern: value)
        return (0..<size).map { UInt8(truncatingIfNeeded: bits >> (UInt64($0) * 8)) }
    }

    /// The number in a payload the device returned; the payload must be exactly `size` bytes.
    public func decode(_ bytes: [UInt8]) throws(UVCExtensionError) -> Int64 {
        guard bytes.count == size else {
            throw .sizeMismatch(control: name, declared: size, device: bytes.count)
        }
        var bits: UInt64 = 0
        for (index, byte) in bytes.enumerated() { bits |= UInt64(byte) << (UInt64(index) * 8) }
        switch type {
        case .unsigned, .boolean:
            return Int64(bitPattern: bits)
        case .signed:
            guard size < 8 else { return Int64(bitPattern: bits) }
            let shift = UInt64(64 - size * 8)
            return Int64(bitPattern: bits << shift) >> Int64(shift)
        }
    }
}

/// UVC class-specific request codes (USB Video Class 1.5, table A-8), the `query` of `UVCIOC_CTRL_QUERY`.
public enum UVCRequest: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case setCurrent = 0x01
    case getCurrent = 0x81
    case getMinimum = 0x82
    case getMaximum = 0x83
    case getResolution = 0x84
    case getLength = 0x85
    case getInfo = 0x86
    case getDefault = 0x87

    public var description: String {
        switch self {
        case .setCurrent: "SET_CUR"
        case .getCurrent: "GET_CUR"
        case .getMinimum: "GET_MIN"
        case .getMaximum: "GET_MAX"
        case .getResolution: "GET_RES"
        case .getLength: "GET_LEN"
        case .getInfo: "GET_INFO"
        case .getDefault: "GET_DEF"
        }
    }
}

/// The transport to a camera's extension units: one `UVCIOC_CTRL_QUERY` per call. `data` goes out for SET
/// requests and comes back for GET requests (its count is the request's size).
public protocol UVCExtensionLink: Sendable {
    func query(unit: UInt8, selector: UInt8, request: UVCRequest, data: inout [UInt8]) throws(UVCExtensionError)
}

/// Errors of extension-unit controls; each names the control (or device) and why.
public enum UVCExtensionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The node answered ENOTTY to `UVCIOC_CTRL_QUERY`: its driver is not uvcvideo (vivid, v4l2loopback, ...).
    case notUVCDevice(path: String)
    /// The ioctl failed (errno), e.g. ENOENT for a unit/selector the device does not have, EIO for a stall.
    case queryFailed(control: String, request: UVCRequest, errno: Int32)
    /// The device's `GET_LEN` (or a returned payload) disagrees with the profile's `size`.
    case sizeMismatch(control: String, declared: Int, device: Int)
    /// `GET_INFO` says the device does not support the request the profile's access needs.
    case notSupportedByDevice(control: String, request: UVCRequest)
    case outOfRange(control: String, value: Int64, minimum: Int64, maximum: Int64, step: Int64)
    case readOnly(control: String)
    case writeOnly(control: String)

    public var description: String {
        switch self {
        case .notUVCDevice(let path):
            "\(path) is not a UVC device (UVCIOC_CTRL_QUERY: ENOTTY): extension-unit controls need the uvcvideo driver"
        case .queryFailed(let control, let request, let errno):
            "\(request) of extension control '\(control)' failed: \(Self.errnoText(errno))"
        case .sizeMismatch(let control, let declared, let device):
            "extension control '\(control)' is \(device) bytes on the device, the profile declares \(declared)"
        case .notSupportedByDevice(let control, let request):
            "the device does not support \(request) on extension control '\(control)' (GET_INFO)"
        case .outOfRange(let control, let value, let minimum, let maximum, let step):
            "\(control) \(value) is outside its range \(minimum)…\(maximum) step \(step)"
        case .readOnly(let control): "extension control '\(control)' is read-only"
        case .writeOnly(let control): "extension control '\(control)' is write-only"
        }
    }

    private static func errnoText(_ code: Int32) -> String {
        switch code {
        case 2: "no such unit or selector on this device (ENOENT)"
        case 5: "the device stalled the request (EIO)"
        case 13: "permission denied (EACCES)"
        case 16: "device busy (EBUSY)"
        case 19: "no such device (ENODEV)"
        case 22: "invalid argument (EINVAL)"
        case 25: "not a UVC device (ENOTTY)"
        case 71: "protocol error (EPROTO)"
        case 110: "the device did not answer (ETIMEDOUT)"
        default: "errno \(code)"
        }
    }
}

/// What reading an extension control found: the range in force (the profile's, narrowed by the device's
/// GET_MIN/GET_MAX when it can be read) and the current value (nil for a write-only control).
public struct UVCExtensionReading: Sendable, Hashable {
    public var control: UVCExtensionControl
    public var minimum: Int64
    public var maximum: Int64
    public var value: Int64?
}

/// Reads and writes declared extension controls through a `UVCExtensionLink`, checking the device agrees with the
/// profile (GET_INFO capabilities, GET_LEN) before any value is sent.
public struct UVCExtensionUnit: Sendable {
    public let link: any UVCExtensionLink

    public init(link: any UVCExtensionLink) {
        self.link = link
    }

    /// GET_INFO bits (UVC 1.5 §4.1.2): D0 supports GET, D1 supports SET.
    static let supportsGet: UInt8 = 0x01
    static let supportsSet: UInt8 = 0x02

    /// Checks the control exists as declared, then reads its range and value.
    /// Queries in order: GET_INFO (1 byte), GET_LEN (2 bytes), then when readable GET_MIN, GET_MAX, GET_CUR.
    public func read(_ control: UVCExtensionControl) throws(UVCExtensionError) -> UVCExtensionReading {
        let info = try checkDeclaration(control)
        guard control.access.canRead, info & Self.supportsGet != 0 else {
            return UVCExtensionReading(
                control: control,
                minimum: control.minimum,
                maximum: control.maximum,
                value: nil
            )
        }
        let deviceMinimum = try get(control, .getMinimum)
        let deviceMaximum = try get(control, .getMaximum)
        let value = try get(control, .getCurrent)
        return UVCExtensionReading(
            control: control,
            minimum: max(control.minimum, deviceMinimum),
            maximum: min(control.maximum, deviceMaximum),
            value: value
        )
    }

    /// Validates `value` against the range in force, sends SET_CUR and returns the control as it now reads.
    public func write(_ control: UVCExtensionControl, value: Int64) throws(UVCExtensionError) -> UVCExtensionReading {
        guard control.access.canWrite else { throw .readOnly(control: control.name) }
        let reading = try read(control)
        guard (reading.minimum...reading.maximum).contains(value), (value - reading.minimum) % control.step == 0
        else {
            throw .outOfRange(
                control: control.name,
                value: value,
                minimum: reading.minimum,
                maximum: reading.maximum,
                step: control.step
            )
        }
        // `read` checked GET_INFO's SET bit already (the access is writable).
        var payload = control.encode(value)
        try call(control, .setCurrent, &payload)
        var applied = reading
        applied.value = reading.value == nil ? value : try get(control, .getCurrent)
        return applied
    }

    /// GET_INFO, GET_LEN; the device must support what the declared access needs.
    private func checkDeclaration(_ control: UVCExtensionControl) throws(UVCExtensionError) -> UInt8 {
        let info = try info(control)
        var length: [UInt8] = [0, 0]
        try call(control, .getLength, &length)
        let deviceSize = Int(length[0]) | Int(length[1]) << 8
        guard deviceSize == control.size else {
            throw .sizeMismatch(control: control.name, declared: control.size, device: deviceSize)
        }
        if control.access.canRead, info & Self.supportsGet == 0 {
            throw .notSupportedByDevice(control: control.name, request: .getCurrent)
        }
        if control.access.canWrite, info & Self.supportsSet == 0 {
            throw .notSupportedByDevice(control: control.name, request: .setCurrent)
        }
        return info
    }

    private func info(_ control: UVCExtensionControl) throws(UVCExtensionError) -> UInt8 {
        var info: [UInt8] = [0]
        try call(control, .getInfo, &info)
        return info[0]
    }

    private func get(_ control: UVCExtensionControl, _ request: UVCRequest) throws(UVCExtensionError) -> Int64 {
        var payload = [UInt8](repeating: 0, count: control.size)
        try call(control, request, &payload)
        return try control.decode(payload)
    }

    /// One query; a link's failure is reported under the control's declared name.
    private func call(
        _ control: UVCExtensionControl,
        _ request: UVCRequest,
        _ data: inout [UInt8]
    ) throws(UVCExtensionError) {
        do {
            try link.query(unit: control.unit, selector: control.selector, request: request, data: &data)
        } catch .queryFailed(_, let failed, let errno) {
            throw .queryFailed(control: control.name, request: failed, errno: errno)
        }
    }
}
