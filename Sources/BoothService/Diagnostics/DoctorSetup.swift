import BoothCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The checks of a booth's setup beyond the libraries: Bluetooth stack, storage, token and device-node
/// permissions, udev rules, clock. Each reads the machine (under `root` for sysfs, /proc and /dev, so tests can
/// prepare a broken tree) and never changes it.
extension Doctor {
    /// Groups the boothd service user is in (systemd/boothd.sysusers.conf): a device node it must open has to
    /// be read-writable by one of them.
    static let serviceGroups: Set<String> = ["boothd", "audio", "bluetooth"]

    /// Roles that are Bluetooth LE devices in the supported profiles.
    static let bluetoothRoles: Set<DeviceRole> = [.oximeter, .bp, .thermometer, .glucometer, .scale, .ecg]

    func setupChecks() -> [DoctorCheck] {
        var checks: [DoctorCheck] = []
        if let daemon = bluetoothDaemon() { checks.append(daemon) }
        checks += [storage(), tokenFile(), devicePermissions(), udevRules(), clock()]
        return checks
    }

    /// The configuration as boothd would load it, nil when it is invalid (the configuration check says why).
    var loadedConfig: BoothConfig? {
        try? ConfigLoader.load(path: configPath, environment: environment)
    }

    /// Bluetooth roles the booth inventory lists (then a missing adapter is a failure, not a warning).
    var expectedBluetoothRoles: [String] {
        guard let config = loadedConfig, config.simulator.mode != .on,
            let inventory = try? BoothInventory(config: config)
        else { return [] }
        return inventory.items.map(\.role).filter { Self.bluetoothRoles.contains($0) }.map(\.rawValue)
    }

    func bluetoothDaemon() -> DoctorCheck? {
        guard !transports.bluetoothAdapters.isEmpty else { return nil }
        let running = entries("/proc").contains { pid in
            guard pid.allSatisfy(\.isNumber) else { return false }
            let comm = (try? String(contentsOfFile: path("/proc/\(pid)/comm"), encoding: .utf8)) ?? ""
            return comm.trimmingCharacters(in: .whitespacesAndNewlines) == "bluetoothd"
        }
        if running { return DoctorCheck(name: "bluetoothd", verdict: .pass, detail: "running") }
        return DoctorCheck(
            name: "bluetoothd",
            verdict: .fail,
            detail: "bluetoothd is not running: BLE devices cannot be reached",
            hint: "systemctl enable --now bluetooth (package bluez)"
        )
    }

    func storage() -> DoctorCheck {
        let directory = loadedConfig?.storage.stateDirectory ?? BoothConfig().storage.stateDirectory
        let manager = FileManager.default
        // The nearest existing directory: boothd (systemd's StateDirectory=) creates the rest.
        var existing = directory
        while !manager.fileExists(atPath: existing), existing != "/" {
            existing = (existing as NSString).deletingLastPathComponent
        }
        if existing == directory, access(directory, W_OK) != 0 {
            return DoctorCheck(
                name: "storage",
                verdict: .fail,
                detail: "\(directory) is not writable (\(ownerAndMode(directory))): the outbox cannot be stored",
                hint: "chown -R boothd:boothd \(directory) && chmod 0750 \(directory)"
            )
        }
        var stats = statvfs()
        guard statvfs(existing, &stats) == 0 else {
            return DoctorCheck(name: "storage", verdict: .warn, detail: "cannot read free space of \(existing)")
        }
        let freeMB = Int(UInt64(stats.f_bavail) * UInt64(stats.f_frsize) / 1_048_576)
        let note = existing == directory ? "" : " (\(directory) not created yet; boothd creates it)"
        if freeMB < 50 {
            return DoctorCheck(
                name: "storage",
                verdict: .fail,
                detail: "only \(freeMB) MB free for the outbox in \(existing)\(note)",
                hint:
                    "free disk space (journalctl --vacuum-size=100M; old recordings); boothd refuses readings on a full disk"
            )
        }
        if freeMB < 500 {
            return DoctorCheck(
                name: "storage",
                verdict: .warn,
                detail: "\(freeMB) MB free in \(existing)\(note)",
                hint: "free disk space before it fills up"
            )
        }
        return DoctorCheck(name: "storage", verdict: .pass, detail: "\(directory): \(freeMB) MB free\(note)")
    }

    func tokenFile() -> DoctorCheck {
        let config = loadedConfig ?? BoothConfig()
        let path =
            config.api.tokenFile.isEmpty
            ? (config.storage.stateDirectory as NSString).appendingPathComponent("api-token") : config.api.tokenFile
        let group = config.api.tokenGroup
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
            return DoctorCheck(
                name: "api token",
                verdict: .warn,
                detail: "no token at \(path) yet (or its directory cannot be read)",
                hint: "start boothd once (it writes the token), or `boothctl token rotate`"
            )
        }
        let mode = (attributes[.posixPermissions] as? Int) ?? 0
        let owner = ownerAndMode(path)
        if mode & 0o007 != 0 {
            return DoctorCheck(
                name: "api token",
                verdict: .fail,
                detail: "\(path) is readable by every user (\(owner)): any local program can drive the session API",
                hint: "chmod 0640 \(path) && chgrp \(group.isEmpty ? "boothd" : group) \(path)"
            )
        }
        let fileGroup = attributes[.groupOwnerAccountName] as? String
        if !group.isEmpty, getgrnam(group) != nil, fileGroup != group {
            return DoctorCheck(
                name: "api token",
                verdict: .fail,
                detail:
                    "\(path) belongs to group \(fileGroup ?? "?"), not \(group) (\(owner)): the kiosk cannot read it",
                hint: "chgrp \(group) \(path) && chmod 0640 \(path)"
            )
        }
        if access(path, R_OK) != 0 {
            return DoctorCheck(
                name: "api token",
                verdict: .warn,
                detail: "you cannot read \(path) (\(owner)): boothctl cannot talk to boothd as this user",
                hint: "usermod -aG \(group) $USER, then log in again (or use sudo)"
            )
        }
        return DoctorCheck(name: "api token", verdict: .pass, detail: "\(path) (\(owner))")
    }

    /// Device nodes boothd opens (cameras, HID, USB serial, ALSA) must be read-writable by its groups.
    func devicePermissions() -> DoctorCheck {
        let prefixes = ["video", "hidraw", "ttyUSB", "ttyACM"]
        var nodes = entries("/dev").filter { name in prefixes.contains { name.hasPrefix($0) } }.map { "/dev/\($0)" }
        nodes += entries("/dev/snd").filter { $0.hasPrefix("pcmC") && $0.hasSuffix("c") }.map { "/dev/snd/\($0)" }
        guard !nodes.isEmpty else {
            return DoctorCheck(name: "device permissions", verdict: .pass, detail: "no device node to check")
        }
        var refused: [String] = []
        for node in nodes {
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path(node)) else { continue }
            let mode = (attributes[.posixPermissions] as? Int) ?? 0
            let group = (attributes[.groupOwnerAccountName] as? String) ?? ""
            let byGroup = mode & 0o060 == 0o060 && Self.serviceGroups.contains(group)
            let byEveryone = mode & 0o006 == 0o006
            if !byGroup && !byEveryone { refused.append("\(node) (\(ownerAndMode(path(node))))") }
        }
        if refused.isEmpty {
            return DoctorCheck(
                name: "device permissions",
                verdict: .pass,
                detail: "\(nodes.count) device node\(nodes.count == 1 ? "" : "s") usable by boothd"
            )
        }
        return DoctorCheck(
            name: "device permissions",
            verdict: .fail,
            detail: "boothd (groups \(Self.serviceGroups.sorted().joined(separator: ", "))) cannot open "
                + refused.joined(separator: ", "),
            hint: "install the udev rules: boothctl profiles udev-rules > /etc/udev/rules.d/70-boothd.rules && "
                + "udevadm control --reload && udevadm trigger"
        )
    }

    func udevRules() -> DoctorCheck {
        let candidates = [
            "/etc/udev/rules.d/70-boothd.rules", "/usr/lib/udev/rules.d/70-boothd.rules",
            "/lib/udev/rules.d/70-boothd.rules",
        ]
        if let found = candidates.first(where: { FileManager.default.fileExists(atPath: path($0)) }) {
            return DoctorCheck(name: "udev rules", verdict: .pass, detail: found)
        }
        return DoctorCheck(
            name: "udev rules",
            verdict: .warn,
            detail:
                "no 70-boothd.rules in /etc/udev/rules.d or /usr/lib/udev/rules.d: USB devices keep root-only permissions",
            hint:
                "make install, or: boothctl profiles udev-rules > /etc/udev/rules.d/70-boothd.rules && udevadm trigger"
        )
    }

    /// Device timestamps and the session a reading belongs to depend on the system clock.
    func clock() -> DoctorCheck {
        // systemd-timesyncd marks a synchronized clock with this file; otherwise ask timedated (chrony, ntpd).
        if FileManager.default.fileExists(atPath: path("/run/systemd/timesync/synchronized")) {
            return DoctorCheck(name: "clock", verdict: .pass, detail: "synchronized (systemd-timesyncd)")
        }
        guard root == "/", let answer = Self.run("/usr/bin/timedatectl", ["show", "-p", "NTPSynchronized", "--value"])
        else {
            return DoctorCheck(
                name: "clock",
                verdict: .warn,
                detail: "cannot tell whether the clock is synchronized (no timesyncd flag, timedatectl unavailable)",
                hint: "check with `timedatectl`; reading times and session binding depend on the clock"
            )
        }
        return answer == "yes"
            ? DoctorCheck(name: "clock", verdict: .pass, detail: "synchronized (NTP)") : unsynchronized
    }

    /// The trimmed standard output of a short command, nil when it cannot run or fails.
    static func run(_ executable: String, _ arguments: [String]) -> String? {
        guard FileManager.default.isExecutableFile(atPath: executable) else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return nil
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private var unsynchronized: DoctorCheck {
        DoctorCheck(
            name: "clock",
            verdict: .warn,
            detail: "the system clock is not synchronized: reading times and session binding may be wrong",
            hint: "systemctl enable --now systemd-timesyncd (or chrony); check the network reaches an NTP server"
        )
    }

    func ownerAndMode(_ file: String) -> String {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: file) else { return "unreadable" }
        let mode = (attributes[.posixPermissions] as? Int) ?? 0
        let owner = (attributes[.ownerAccountName] as? String) ?? "?"
        let group = (attributes[.groupOwnerAccountName] as? String) ?? "?"
        return "\(owner):\(group) \(String(format: "%04o", mode))"
    }
}
