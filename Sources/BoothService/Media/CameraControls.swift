import BoothMedia

/// One adjustable camera control and its real range, as the device (or the simulator) reports it.
public struct CameraControlInfo: Sendable, Hashable, CustomStringConvertible {
    /// Wire name, e.g. `zoom`, `brightness`, `focus`, `led`.
    public var name: String
    public var minimum: Int64
    public var maximum: Int64
    public var step: Int64
    public var defaultValue: Int64
    public var value: Int64

    public init(name: String, minimum: Int64, maximum: Int64, step: Int64, defaultValue: Int64, value: Int64) {
        self.name = name
        self.minimum = minimum
        self.maximum = maximum
        self.step = max(1, step)
        self.defaultValue = defaultValue
        self.value = value
    }

    /// `brightness -100…100 step 1`.
    public var description: String { "\(name) \(minimum)…\(maximum) step \(step)" }

    /// Checks a requested value against the range and the step; the error names the control and its range.
    public func validate(_ requested: Int64) throws(DeviceCommandError) {
        guard (minimum...maximum).contains(requested) else {
            throw DeviceCommandError(
                code: "invalid_argument",
                message: "\(name) \(requested) is outside its range \(minimum)…\(maximum)"
            )
        }
        guard (requested - minimum) % step == 0 else {
            throw DeviceCommandError(
                code: "invalid_argument",
                message: "\(name) \(requested) is not on its step: \(minimum)…\(maximum) step \(step)"
            )
        }
    }
}

/// The controls of one camera. Implementations apply a value to the device; validation is shared
/// (`CameraControlSet.set`), so every camera refuses the same way.
public protocol CameraControlling: Sendable {
    /// Every control the camera exposes, with its current value.
    func controls() async throws(DeviceCommandError) -> [CameraControlInfo]
    /// Applies an already validated value and returns the control as it now reads.
    func apply(_ control: CameraControlInfo, value: Int64) async throws(DeviceCommandError) -> CameraControlInfo
}

extension CameraControlling {
    /// Validates `name` and `value` against the camera's real controls, then applies the value.
    /// Unknown controls give `not_supported` naming the supported ones; out-of-range values `invalid_argument`.
    public func set(_ name: String, to value: Int64) async throws(DeviceCommandError) -> CameraControlInfo {
        let available = try await controls()
        guard let control = available.first(where: { $0.name == name }) else {
            let names = available.map(\.description).joined(separator: ", ")
            throw DeviceCommandError(
                code: "not_supported",
                message:
                    "this camera has no control \"\(name.prefix(64))\"; supported: \(names.isEmpty ? "none" : names)"
            )
        }
        try control.validate(value)
        return try await apply(control, value: value)
    }
}

/// The simulated camera's controls: brightness, contrast and saturation act on the picture (`videobalance`),
/// zoom has the range of a typical UVC `zoom_absolute` and is only remembered (the test pattern does not zoom).
public actor SimulatedCameraControls: CameraControlling {
    let pipeline: CameraPipeline
    private var values: [String: Int64] = [:]

    static let ranges: [CameraControlInfo] = [
        CameraControlInfo(name: "brightness", minimum: -100, maximum: 100, step: 1, defaultValue: 0, value: 0),
        CameraControlInfo(name: "contrast", minimum: 0, maximum: 200, step: 1, defaultValue: 100, value: 100),
        CameraControlInfo(name: "saturation", minimum: 0, maximum: 200, step: 1, defaultValue: 100, value: 100),
        CameraControlInfo(name: "zoom", minimum: 100, maximum: 500, step: 10, defaultValue: 100, value: 100),
    ]

    public init(pipeline: CameraPipeline) {
        self.pipeline = pipeline
    }

    public func controls() -> [CameraControlInfo] {
        Self.ranges.map { control in
            var control = control
            control.value = values[control.name] ?? control.defaultValue
            return control
        }
    }

    public func apply(
        _ control: CameraControlInfo,
        value: Int64
    ) async throws(DeviceCommandError)
        -> CameraControlInfo
    {
        switch control.name {
        case "brightness":
            await pipeline.setPictureAdjustment(.brightness, Double(value) / 100)
        case "contrast":
            await pipeline.setPictureAdjustment(.contrast, Double(value) / 100)
        case "saturation":
            await pipeline.setPictureAdjustment(.saturation, Double(value) / 100)
        default:
            break
        }
        values[control.name] = value
        var applied = control
        applied.value = value
        return applied
    }
}
