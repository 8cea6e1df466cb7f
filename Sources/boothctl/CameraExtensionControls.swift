import ArgumentParser
import BoothCore
import BoothProfiles
import BoothV4L2
import Foundation

/// `boothctl camera controls --profile FILE [--set NAME=VALUE]`: the profile's UVC extension-unit controls, read
/// (and set) through UVCIOC_CTRL_QUERY on the node, with the same validation as the session's `camera.control`.
enum ExtensionControlsReport {
    static func rows(
        device: V4L2Device,
        profile path: String,
        assignments: [String]
    ) throws -> [CameraControls.Control] {
        let profile: DeviceProfile
        do {
            profile = try ProfileLoader.load(path: path)
        } catch {
            throw ValidationError("\(error)")
        }
        let declared = profile.quirks.extensionControls
        guard !declared.isEmpty else {
            throw ValidationError("\(path): the profile declares no quirks.extension_controls")
        }
        let unit = UVCExtensionUnit(link: device)
        for assignment in assignments {
            let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let value = Int64(parts[1]) else {
                throw ValidationError("--set \(assignment): expected NAME=VALUE with an integer value")
            }
            guard let control = declared.first(where: { $0.name == parts[0] }) else {
                let names = declared.map(\.name).joined(separator: ", ")
                throw ValidationError("--set \(assignment): the profile declares no control '\(parts[0])' (\(names))")
            }
            do {
                _ = try unit.write(control, value: value)
            } catch {
                throw ValidationError("--set \(assignment): \(error)")
            }
        }
        return declared.map { control in
            var row = CameraControls.Control(
                key: control.name,
                role: nil,
                type: "xu-\(control.type.rawValue)\(control.size * 8)",
                minimum: control.minimum,
                maximum: control.maximum,
                step: control.step,
                defaultValue: control.defaultValue ?? control.minimum,
                value: nil,
                readOnly: !control.access.canWrite,
                menu: nil,
                extensionUnit: "unit \(control.unit) selector \(control.selector)",
                error: nil
            )
            do {
                let reading = try unit.read(control)
                row.minimum = reading.minimum
                row.maximum = reading.maximum
                row.value = reading.value
            } catch {
                row.error = "\(error)"
            }
            return row
        }
    }
}
