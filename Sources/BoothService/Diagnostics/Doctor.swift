import BoothCore
import BoothMedia
import BoothRender
import Foundation

/// One line of `boothctl doctor`: a verdict and, when it is not PASS, what the technician should do.
public struct DoctorCheck: Sendable, Codable, Equatable {
    public enum Verdict: String, Sendable, Codable {
        case pass = "PASS"
        case warn = "WARN"
        case fail = "FAIL"
    }

    public var name: String
    public var verdict: Verdict
    public var detail: String
    public var hint: String?

    public init(name: String, verdict: Verdict, detail: String, hint: String? = nil) {
        self.name = name
        self.verdict = verdict
        self.detail = detail
        self.hint = hint
    }
}

/// The checks a technician runs first on a booth. Each one reads the machine; none changes it.
public struct Doctor: Sendable {
    /// Root of the filesystem to inspect (tests point it at a prepared tree).
    public var root: String
    public var configPath: String?
    public var environment: [String: String]

    public init(root: String = "/", configPath: String? = nil, environment: [String: String]) {
        self.root = root
        self.configPath = configPath
        self.environment = environment
    }

    public func run() -> [DoctorCheck] {
        [configuration(), gstreamer()] + mediaElements() + [
            liveEncoder(), pictures(), bluetooth(), usb(), video(), sound(),
        ]
            + setupChecks()
    }

    func path(_ relative: String) -> String {
        root == "/" ? relative : root + relative
    }

    var transports: DeviceTransports { DeviceTransports.probe(root: root) }

    func entries(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path(directory))) ?? []).sorted()
    }

    func configuration() -> DoctorCheck {
        do {
            _ = try ConfigLoader.load(path: configPath, environment: environment)
            let source = configPath ?? BoothConfig.defaultPath
            let exists = FileManager.default.fileExists(atPath: source)
            return DoctorCheck(
                name: "configuration",
                verdict: .pass,
                detail: exists ? "\(source) is valid" : "no file at \(source); built-in defaults apply"
            )
        } catch {
            return DoctorCheck(
                name: "configuration",
                verdict: .fail,
                detail: error.description,
                hint: "fix the line named above, then run `boothd --check-config`"
            )
        }
    }

    func gstreamer() -> DoctorCheck {
        DoctorCheck(name: "gstreamer", verdict: .pass, detail: MediaRuntime.version)
    }

    func mediaElements() -> [DoctorCheck] {
        let missing = MediaRuntime.requiredElements.filter { !MediaRuntime.hasElement($0.element) }
        if missing.isEmpty {
            return [
                DoctorCheck(
                    name: "gstreamer elements",
                    verdict: .pass,
                    detail: "\(MediaRuntime.requiredElements.count) elements present"
                )
            ]
        }
        let packages = Set(missing.map(\.package)).sorted().joined(separator: " ")
        return [
            DoctorCheck(
                name: "gstreamer elements",
                verdict: .fail,
                detail: "missing: \(missing.map(\.element).joined(separator: ", "))",
                hint: "apt-get install \(packages)"
            )
        ]
    }

    /// cairo is loaded when the first picture is drawn, not at start: a missing library shows here first.
    func pictures() -> DoctorCheck {
        guard PictureRuntime.cairoAvailable else {
            return DoctorCheck(
                name: "pictures",
                verdict: .fail,
                detail: "libcairo.so.2 cannot be loaded: ECG strips and phonocardiograms cannot be drawn",
                hint: "apt-get install libcairo2"
            )
        }
        return DoctorCheck(name: "pictures", verdict: .pass, detail: "cairo loads (ECG strips, phonocardiograms)")
    }

    func bluetooth() -> DoctorCheck {
        let adapters = transports.bluetoothAdapters
        guard !adapters.isEmpty else {
            // A booth whose inventory has Bluetooth devices cannot work without an adapter.
            let expected = expectedBluetoothRoles
            return DoctorCheck(
                name: "bluetooth adapter",
                verdict: expected.isEmpty ? .warn : .fail,
                detail: "no adapter in /sys/class/bluetooth"
                    + (expected.isEmpty ? "" : "; booth.inventory lists \(expected.joined(separator: ", "))"),
                hint: "plug the USB Bluetooth dongle; check `rfkill list`; BLE devices are unavailable until then"
            )
        }
        func rfkill(_ name: String, _ file: String) -> String {
            (try? String(contentsOfFile: path("/sys/class/rfkill/\(name)/\(file)"), encoding: .utf8)) ?? ""
        }
        let radios = entries("/sys/class/rfkill").filter { rfkill($0, "type").hasPrefix("bluetooth") }
        if radios.contains(where: { rfkill($0, "hard").hasPrefix("1") }) {
            return DoctorCheck(
                name: "bluetooth adapter",
                verdict: .fail,
                detail:
                    "\(adapters.joined(separator: ", ")) hard-blocked by rfkill (a hardware switch or the firmware)",
                hint: "turn the wireless switch on, or enable Bluetooth in the firmware setup"
            )
        }
        let blocked = radios.contains { rfkill($0, "soft").hasPrefix("1") }
        if blocked {
            return DoctorCheck(
                name: "bluetooth adapter",
                verdict: .fail,
                detail: "\(adapters.joined(separator: ", ")) soft-blocked by rfkill",
                hint: "rfkill unblock bluetooth"
            )
        }
        return DoctorCheck(name: "bluetooth adapter", verdict: .pass, detail: adapters.joined(separator: ", "))
    }

    func usb() -> DoctorCheck {
        let devices = entries("/sys/bus/usb/devices").filter { !$0.contains(":") }
        if devices.isEmpty {
            return DoctorCheck(
                name: "usb",
                verdict: .warn,
                detail: "no USB bus visible",
                hint: "USB serial oximeters and cameras cannot be used on this machine"
            )
        }
        return DoctorCheck(name: "usb", verdict: .pass, detail: "\(devices.count) USB devices and hubs")
    }

    func video() -> DoctorCheck {
        let cameras = transports.videoNodes
        if cameras.isEmpty {
            return DoctorCheck(
                name: "cameras",
                verdict: .warn,
                detail: "no /dev/video* device",
                hint: "plug the otoscope/dermatoscope; `boothctl devices` lists what is found"
            )
        }
        return DoctorCheck(
            name: "cameras",
            verdict: .pass,
            detail: cameras.map { "/dev/\($0)" }.joined(separator: ", ")
        )
    }

    func sound() -> DoctorCheck {
        let cards = transports.audioCaptureNodes
        if cards.isEmpty {
            return DoctorCheck(
                name: "audio capture",
                verdict: .warn,
                detail: "no ALSA capture device",
                hint: "plug the stethoscope adapter; it appears as a USB sound card"
            )
        }
        return DoctorCheck(name: "audio capture", verdict: .pass, detail: cards.joined(separator: ", "))
    }
}
