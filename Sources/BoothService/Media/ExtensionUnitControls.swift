import BoothCore

/// A camera's controls plus the UVC extension-unit controls its profile declares (`quirks.extension_controls`).
/// A declared control replaces a V4L2 control of the same name (the profile knows the hardware better than
/// uvcvideo's generic mapping). Values are validated against the declared range, narrowed by the device's
/// GET_MIN/GET_MAX, before SET_CUR goes out.
public struct ExtensionUnitCameraControls: CameraControlling {
    public let base: (any CameraControlling)?
    public let declared: [UVCExtensionControl]
    public let unit: UVCExtensionUnit

    public init(base: (any CameraControlling)?, declared: [UVCExtensionControl], link: any UVCExtensionLink) {
        self.base = base
        self.declared = declared
        self.unit = UVCExtensionUnit(link: link)
    }

    public func controls() async throws(DeviceCommandError) -> [CameraControlInfo] {
        let names = Set(declared.map(\.name))
        var result = try await base?.controls().filter { !names.contains($0.name) } ?? []
        for control in declared {
            // A control the device refuses to describe is still listed with its declared range, so that
            // setting it reports why (not a UVC device, size mismatch...) instead of "no such control".
            let reading = try? unit.read(control)
            result.append(
                CameraControlInfo(
                    name: control.name,
                    minimum: reading?.minimum ?? control.minimum,
                    maximum: reading?.maximum ?? control.maximum,
                    step: control.step,
                    defaultValue: control.defaultValue ?? control.minimum,
                    value: reading?.value ?? control.defaultValue ?? control.minimum
                )
            )
        }
        return result
    }

    public func apply(_ control: CameraControlInfo, value: Int64) async throws(DeviceCommandError) -> CameraControlInfo
    {
        guard let extensionControl = declared.first(where: { $0.name == control.name }) else {
            guard let base else {
                throw DeviceCommandError(
                    code: "not_supported",
                    message: "this camera has no control \"\(control.name)\""
                )
            }
            return try await base.apply(control, value: value)
        }
        do {
            let reading = try unit.write(extensionControl, value: value)
            var applied = control
            applied.minimum = reading.minimum
            applied.maximum = reading.maximum
            applied.value = reading.value ?? value
            return applied
        } catch {
            throw Self.commandError(error)
        }
    }

    /// The session's error code for an extension-unit failure.
    static func commandError(_ error: UVCExtensionError) -> DeviceCommandError {
        let code =
            switch error {
            case .outOfRange, .readOnly, .writeOnly: "invalid_argument"
            case .notUVCDevice, .notSupportedByDevice: "not_supported"
            case .queryFailed, .sizeMismatch: "device_error"
            }
        return DeviceCommandError(code: code, message: "\(error)")
    }
}
