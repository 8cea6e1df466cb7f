import BoothService
import Foundation
import Testing

@Suite struct DeviceTransportsTests {
    private func tree(_ paths: [String]) throws -> String {
        let root = NSTemporaryDirectory() + "boothd-transports-\(UUID().uuidString)"
        for path in paths {
            try FileManager.default.createDirectory(atPath: root + path, withIntermediateDirectories: true)
        }
        return root
    }

    @Test func adaptersCamerasAndCapturePCMsAreFoundWithoutTheirNoise() throws {
        let root = try tree([
            "/sys/class/bluetooth/hci0", "/sys/class/bluetooth/hci0:70", "/dev/video0", "/dev/video1",
            "/dev/vcs", "/dev/snd/pcmC1D0c", "/dev/snd/pcmC1D0p", "/dev/snd/controlC1",
        ])
        let found = DeviceTransports.probe(root: root)
        #expect(found.bluetoothAdapters == ["hci0"])
        #expect(found.videoNodes == ["video0", "video1"])
        #expect(found.audioCaptureNodes == ["pcmC1D0c"])
        #expect(found.hasDeviceHardware)
    }

    @Test func aMachineWithoutAdapterOrCameraRunsTheSimulator() throws {
        // A sound card alone does not count: the simulator's auto mode looks at Bluetooth and cameras.
        let found = DeviceTransports.probe(root: try tree(["/sys/class/bluetooth", "/dev/snd/pcmC0D0c"]))
        #expect(found.bluetoothAdapters.isEmpty)
        #expect(found.videoNodes.isEmpty)
        #expect(!found.hasDeviceHardware)
    }
}
