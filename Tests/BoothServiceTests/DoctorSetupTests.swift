import BoothService
import Foundation
import Testing

/// `boothctl doctor` against prepared broken trees (sysfs, /proc, /dev under a temporary root): each broken
/// setup gives its FAIL line with the fix.
@Suite struct DoctorSetupTests {
    /// A temporary root with the given files (path → contents) and a configuration file for it.
    private func machine(_ files: [String: String], config: String = "") throws -> (root: String, config: String) {
        let root = NSTemporaryDirectory() + "boothd-doctor-\(UUID().uuidString)"
        for (path, contents) in files {
            let full = root + path
            try FileManager.default.createDirectory(
                atPath: (full as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true
            )
            try contents.write(toFile: full, atomically: true, encoding: .utf8)
        }
        try FileManager.default.createDirectory(atPath: root + "/state", withIntermediateDirectories: true)
        let configPath = root + "/boothd.yaml"
        try ("storage:\n  state_directory: \(root)/state\napi:\n  token_group: \"\"\n" + config)
            .write(toFile: configPath, atomically: true, encoding: .utf8)
        return (root, configPath)
    }

    private func checks(_ machine: (root: String, config: String)) -> [String: DoctorCheck] {
        let all = Doctor(root: machine.root, configPath: machine.config, environment: [:]).run()
        return Dictionary(all.map { ($0.name, $0) }) { first, _ in first }
    }

    @Test func noAdapterFailsWhenTheInventoryHasBluetoothDevices() throws {
        let expected = try machine(
            [:],
            config: "simulator:\n  mode: \"off\"\nbooth:\n  inventory: [thermometer, otoscope]\n"
        )
        let adapter = try #require(checks(expected)["bluetooth adapter"])
        #expect(adapter.verdict == .fail)
        #expect(adapter.detail == "no adapter in /sys/class/bluetooth; booth.inventory lists thermometer")
        #expect(adapter.hint?.contains("plug the USB Bluetooth dongle") == true)
        // No Bluetooth device expected (or on the simulator): only a warning.
        let optional = try machine([:], config: "booth:\n  inventory: [otoscope]\n")
        #expect(checks(optional)["bluetooth adapter"]?.verdict == .warn)
        #expect(checks(optional)["bluetoothd"] == nil)
    }

    @Test func adapterBlockedOrWithoutBluetoothdFails() throws {
        let hard = try machine([
            "/sys/class/bluetooth/hci0/type": "primary",
            "/sys/class/rfkill/rfkill0/type": "bluetooth\n",
            "/sys/class/rfkill/rfkill0/hard": "1\n",
            "/sys/class/rfkill/rfkill0/soft": "0\n",
        ])
        let hardCheck = try #require(checks(hard)["bluetooth adapter"])
        #expect(hardCheck.verdict == .fail && hardCheck.detail.contains("hci0 hard-blocked by rfkill"))
        let soft = try machine([
            "/sys/class/bluetooth/hci0/type": "primary",
            "/sys/class/rfkill/rfkill0/type": "bluetooth\n",
            "/sys/class/rfkill/rfkill0/hard": "0\n",
            "/sys/class/rfkill/rfkill0/soft": "1\n",
        ])
        #expect(checks(soft)["bluetooth adapter"]?.hint == "rfkill unblock bluetooth")
        let noDaemon = try machine(["/sys/class/bluetooth/hci0/type": "primary", "/proc/1/comm": "systemd\n"])
        let daemon = try #require(checks(noDaemon)["bluetoothd"])
        #expect(daemon.verdict == .fail)
        #expect(daemon.detail == "bluetoothd is not running: BLE devices cannot be reached")
        #expect(daemon.hint == "systemctl enable --now bluetooth (package bluez)")
        let running = try machine(["/sys/class/bluetooth/hci0/type": "primary", "/proc/412/comm": "bluetoothd\n"])
        #expect(checks(running)["bluetoothd"]?.verdict == .pass)
        #expect(checks(running)["bluetooth adapter"]?.verdict == .pass)
    }

    @Test func deviceNodesBoothdCannotOpenFailWithTheUdevFix() throws {
        let broken = try machine(["/dev/video0": "", "/dev/hidraw1": ""])
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: broken.root + "/dev/video0")
        try FileManager.default.setAttributes([.posixPermissions: 0o666], ofItemAtPath: broken.root + "/dev/hidraw1")
        let check = try #require(checks(broken)["device permissions"])
        #expect(check.verdict == .fail)
        #expect(check.detail.hasPrefix("boothd (groups audio, bluetooth, boothd) cannot open /dev/video0 ("))
        #expect(check.detail.hasSuffix(" 0600)"))
        #expect(!check.detail.contains("hidraw1"))
        #expect(check.hint?.contains("boothctl profiles udev-rules > /etc/udev/rules.d/70-boothd.rules") == true)
        // Group audio, read-write for the group: what the udev rules and ALSA give.
        let fine = try machine(["/dev/snd/pcmC1D0c": ""])
        if getuid() == 0 {
            try FileManager.default.setAttributes(
                [.posixPermissions: 0o660, .groupOwnerAccountName: "audio"],
                ofItemAtPath: fine.root + "/dev/snd/pcmC1D0c"
            )
            #expect(checks(fine)["device permissions"]?.detail == "1 device node usable by boothd")
        }
    }

    @Test func aTokenReadableByEveryoneFails() throws {
        let broken = try machine([:])
        let token = broken.root + "/state/api-token"
        try String(repeating: "ab", count: 32).write(toFile: token, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: token)
        let check = try #require(checks(broken)["api token"])
        #expect(check.verdict == .fail)
        #expect(check.detail.hasPrefix("\(token) is readable by every user ("))
        #expect(check.hint == "chmod 0640 \(token) && chgrp boothd \(token)")
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: token)
        #expect(checks(broken)["api token"]?.verdict == .pass)
    }

    @Test func udevRulesAndClock() throws {
        let bare = try machine([:])
        #expect(checks(bare)["udev rules"]?.verdict == .warn)
        #expect(checks(bare)["clock"]?.verdict == .warn)
        let installed = try machine([
            "/usr/lib/udev/rules.d/70-boothd.rules": "# rules\n",
            "/run/systemd/timesync/synchronized": "",
        ])
        #expect(checks(installed)["udev rules"]?.detail == "/usr/lib/udev/rules.d/70-boothd.rules")
        #expect(checks(installed)["clock"]?.detail == "synchronized (systemd-timesyncd)")
    }
}
