import Foundation

/// The device transports this machine has, read from sysfs and /dev. One probe serves boothd's decision to run
/// the simulator, the BLE service's start and `boothctl doctor`, so they can never disagree.
public struct DeviceTransports: Sendable, Equatable {
    /// Bluetooth controllers (`hci0`...), without their per-connection entries (`hci0:70`).
    public var bluetoothAdapters: [String]
    /// V4L2 nodes (`video0`...), as names under /dev.
    public var videoNodes: [String]
    /// ALSA capture PCMs (`pcmC1D0c`...), as names under /dev/snd.
    public var audioCaptureNodes: [String]

    public init(bluetoothAdapters: [String], videoNodes: [String], audioCaptureNodes: [String]) {
        self.bluetoothAdapters = bluetoothAdapters
        self.videoNodes = videoNodes
        self.audioCaptureNodes = audioCaptureNodes
    }

    /// Reads the machine (or a prepared tree under `root`, for tests).
    public static func probe(root: String = "/") -> DeviceTransports {
        func entries(_ directory: String) -> [String] {
            let path = root == "/" ? directory : root + directory
            return ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
        }
        return DeviceTransports(
            bluetoothAdapters: entries("/sys/class/bluetooth").filter { $0.hasPrefix("hci") && !$0.contains(":") },
            videoNodes: entries("/dev").filter { $0.hasPrefix("video") },
            audioCaptureNodes: entries("/dev/snd").filter { $0.hasPrefix("pcmC") && $0.hasSuffix("c") }
        )
    }

    /// True when a Bluetooth adapter or a camera is present: the simulator's `auto` mode then stays off.
    public var hasDeviceHardware: Bool { !bluetoothAdapters.isEmpty || !videoNodes.isEmpty }
}
