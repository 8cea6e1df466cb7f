import BoothCore

/// Decides, once per Bluetooth address, what boothd does with an advertising device: read it with a firmware
/// profile's driver, show it without connecting (not bonded yet), or ignore it. Pure, so it is tested without
/// BlueZ; the BLE service keeps the verdict per address so a busy room costs one dictionary lookup per advert.
public struct BLEDeviceMatcher: Sendable {
    public enum Verdict: Sendable, Equatable {
        /// Connect and read with this driver.
        case manage(profile: DeviceProfile, driver: GATTMeasurementDriver)
        /// A device boothd could read, but the policy says not to connect (not bonded).
        case waitForBonding(profile: DeviceProfile)
        /// No profile claims it, the claim is ambiguous, or boothd has no driver for the profile.
        case ignore(reason: String)
        /// The profile reads the device's mode from its advertisement and it advertises for pairing: list it and
        /// let `boothctl pair` bond it now; never connect to read (it delivers nothing in that mode).
        case pairingMode(profile: DeviceProfile)
        /// The profile claims the device but this advertisement says not to act now (neither pairing nor transfer
        /// mode, or transfer mode to a central it is not bonded with): judge its next advertisement again.
        case notNow(profile: DeviceProfile, reason: String)
    }

    public var profiles: ProfileSet
    /// True: connect only to bonded devices (`ble.connect: bonded`).
    public var bondedOnly: Bool

    public init(profiles: ProfileSet, bondedOnly: Bool) {
        self.profiles = profiles
        self.bondedOnly = bondedOnly
    }

    /// The service UUIDs to give BlueZ's discovery filter: every service any BLE profile matches on, so BlueZ
    /// wakes boothd for medical devices only (unless `discoveryNamePrefixes` is not empty).
    public var discoveryServices: [GATTUUID] {
        var seen: Set<GATTUUID> = []
        var result: [GATTUUID] = []
        for profile in profiles.profiles where profile.transport == .ble {
            for case .ble(let rule) in profile.match {
                for service in rule.services where seen.insert(service).inserted { result.append(service) }
            }
        }
        return result
    }

    /// Name prefixes for the discovery filter, from the rules that name no service (a Yuwell oximeter or an O2Ring
    /// may advertise only its name); `[""]` when a rule has neither service nor name. With any, BlueZ's UUID filter
    /// would hide those devices, so `BLEDiscoveryFilter` asks BlueZ for every LE advertisement and the verdict
    /// (one dictionary lookup per address once decided) sorts them out.
    public var discoveryNamePrefixes: [String] {
        var result: [String] = []
        for profile in profiles.profiles where profile.transport == .ble {
            for case .ble(let rule) in profile.match where rule.services.isEmpty {
                if rule.names.isEmpty { return [""] }
                for name in rule.names {
                    let prefix = String(name.pattern.prefix { $0 != "*" && $0 != "?" })
                    if !result.contains(prefix) { result.append(prefix) }
                }
            }
        }
        return result
    }

    /// The verdict for one advertisement. `bonded` is the device's Paired property in BlueZ.
    public func verdict(_ advertisement: BLEAdvertisement, bonded: Bool) -> Verdict {
        let description = DeviceDescription.ble(advertisement)
        let all = profiles.matches(description).filter { $0.profile.transport == .ble }
        guard let best = all.first else { return .ignore(reason: "no firmware profile matches") }
        if all.count > 1, all[1].score == best.score {
            let ids = all.filter { $0.score == best.score }.map(\.profile.id).joined(separator: ", ")
            return .ignore(reason: "ambiguous: profiles \(ids) match equally well")
        }
        do {
            _ = try VendorGATTDriver(profile: best.profile)
        } catch {
            return .ignore(reason: error.description)
        }
        guard let driver = Self.driver(for: best.profile) else {
            return .ignore(
                reason: "profile \(best.profile.id) needs driver \(best.profile.driver), not run over BLE yet"
            )
        }
        if let modes = best.profile.advertisingMode {
            return verdict(modes.mode(of: advertisement), profile: best.profile, driver: driver, bonded: bonded)
        }
        if bondedOnly && !bonded { return .waitForBonding(profile: best.profile) }
        return .manage(profile: best.profile, driver: driver)
    }

    /// Devices that advertise their mode (Omron): pair only in pairing mode, connect and read only in transfer
    /// mode — when bonded, or under `ble.connect: matching` for a profile without `needs_bonding` — and ignore
    /// any other advertisement.
    func verdict(
        _ mode: BLEAdvertisingMode.Mode?,
        profile: DeviceProfile,
        driver: GATTMeasurementDriver,
        bonded: Bool
    ) -> Verdict {
        switch mode {
        case .pairing: return .pairingMode(profile: profile)
        case nil: return .notNow(profile: profile, reason: "its advertisement shows neither pairing nor transfer mode")
        case .transfer:
            guard bonded || (!bondedOnly && !profile.quirks.needsBonding) else {
                return .notNow(
                    profile: profile,
                    reason: "transfer mode but not bonded: put it in pairing mode, then boothctl pair"
                )
            }
            return .manage(profile: profile, driver: driver)
        }
    }

    /// The GATT driver a profile names, configured from the profile's options (stored records, clock).
    public static func driver(for profile: DeviceProfile) -> GATTMeasurementDriver? {
        if profile.driver == ManagedDevice.polarECGDriverID {
            // Heart rate + PMD ECG: `ManagedDevice.polarECG` runs `PolarECGDriver` on the link.
            var heartRate = Simulator.heartRateDriver
            heartRate.role = profile.role
            return heartRate
        }
        if let vendor = try? VendorGATTDriver(profile: profile), let first = vendor.notify.first {
            // A vendor protocol: `customDriver(for:)` runs it; this names its first stream for logs and tests.
            return GATTMeasurementDriver(
                id: vendor.id,
                role: profile.role,
                measurement: first,
                decoderKind: vendor.vendorProtocol.decoderKind
            )
        }
        guard var driver = GATTMeasurementDriver.standard[profile.driver] else { return nil }
        driver.role = profile.role
        switch profile.options["records"] {
        case .text("racp"): driver.records = RecordAccess()
        case .text("racp-omron"):
            // Omron's records are plain 0x2A35 readings without a sequence number: known by time and bytes.
            driver.records = RecordAccess(omronFilter: true, withoutSequenceNumbers: true)
        default: break
        }
        if profile.quirks.needsTimeSync { driver.clock = .always }
        return driver
    }

    /// The device-specific driver run instead of the standard one: the ECG strap's, or a vendor protocol's
    /// (BerryMed, Jumper, Yuwell, Viatom) configured from the profile's `gatt` section; nil for SIG services.
    public static func customDriver(for profile: DeviceProfile) -> (any GATTDeviceDriver)? {
        if profile.driver == ManagedDevice.polarECGDriverID { return PolarECGDriver() }
        if let vendor = try? VendorGATTDriver(profile: profile) { return vendor }
        return nil
    }
}
