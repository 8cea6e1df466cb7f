import BoothCore
import BoothService
import Testing

@Suite struct BLEDeviceMatcherTests {
    static func profile(
        _ id: String,
        driver: String,
        role: DeviceRole,
        _ rule: BLEMatch,
        transport: ProfileTransport = .ble
    ) -> DeviceProfile {
        DeviceProfile(id: id, name: id, role: role, transport: transport, driver: driver, match: [.ble(rule)])
    }

    static let profiles = ProfileSet(layers: [
        [
            profile("sig.plx", driver: "ble.plx", role: .oximeter, BLEMatch(services: [GATTUUID(0x1822)])),
            profile("sig.bps", driver: "ble.bps", role: .bp, BLEMatch(services: [GATTUUID(0x1810)])),
            profile("sig.hts", driver: "ble.hts", role: .thermometer, BLEMatch(services: [GATTUUID(0x1809)])),
            profile(
                "omron.bps",
                driver: "ble.bps",
                role: .bp,
                BLEMatch(
                    services: [GATTUUID(0x1810)],
                    manufacturerData: ManufacturerDataMatch(companyID: 0x020E)
                )
            ),
            profile(
                "viatom.o2",
                driver: "viatom.o2",
                role: .oximeter,
                BLEMatch(names: [NamePattern("O2Ring*")])
            ),
        ]
    ])

    @Test func discoveryFilterListsEveryServiceOnce() {
        let matcher = BLEDeviceMatcher(profiles: Self.profiles, bondedOnly: true)
        let services = matcher.discoveryServices
        #expect(services.count == 3)
        #expect(Set(services) == [GATTUUID(0x1822), GATTUUID(0x1810), GATTUUID(0x1809)])
        // The O2Ring rule names no service: BlueZ must not filter by UUID, the name prefix goes to the filter.
        #expect(matcher.discoveryNamePrefixes == ["O2Ring"])
        let sigOnly = ProfileSet(layers: [Self.profiles.profiles.filter { $0.id.hasPrefix("sig.") }])
        #expect(BLEDeviceMatcher(profiles: sigOnly, bondedOnly: true).discoveryNamePrefixes == [])
        let anything = Self.profile(
            "acme.scale",
            driver: "ble.weight",
            role: .scale,
            BLEMatch(manufacturerData: ManufacturerDataMatch(companyID: 0x1234))
        )
        #expect(
            BLEDeviceMatcher(profiles: ProfileSet(layers: [[anything]]), bondedOnly: true).discoveryNamePrefixes == [""]
        )
    }

    @Test func bondedDeviceOfAKnownServiceIsManagedWithItsDriver() {
        let matcher = BLEDeviceMatcher(profiles: Self.profiles, bondedOnly: true)
        let verdict = matcher.verdict(BLEAdvertisement(name: "Cuff", services: [GATTUUID(0x1810)]), bonded: true)
        guard case .manage(let profile, let driver) = verdict else {
            Issue.record("expected manage, got \(verdict)")
            return
        }
        #expect(profile.id == "sig.bps")
        #expect(driver.id == "ble.bps")
        #expect(driver.measurement == GATTUUID(0x2A35))
        #expect(driver.role == .bp)
    }

    @Test func unbondedDeviceWaitsWhenOnlyBondedDevicesConnect() throws {
        let advert = BLEAdvertisement(services: [GATTUUID(0x1822)])
        let strict = BLEDeviceMatcher(profiles: Self.profiles, bondedOnly: true)
        let plx = try #require(Self.profiles["sig.plx"])
        #expect(strict.verdict(advert, bonded: false) == .waitForBonding(profile: plx))
        let open = BLEDeviceMatcher(profiles: Self.profiles, bondedOnly: false)
        guard case .manage(let profile, _) = open.verdict(advert, bonded: false) else {
            Issue.record("a matching device connects under ble.connect=matching")
            return
        }
        #expect(profile.id == "sig.plx")
    }

    @Test func moreSpecificProfileWins() {
        let matcher = BLEDeviceMatcher(profiles: Self.profiles, bondedOnly: false)
        let advert = BLEAdvertisement(services: [GATTUUID(0x1810)], manufacturerData: [0x020E: [0x01]])
        guard case .manage(let profile, _) = matcher.verdict(advert, bonded: true) else {
            Issue.record("expected manage")
            return
        }
        #expect(profile.id == "omron.bps")
    }

    @Test func unknownAmbiguousAndDriverlessDevicesAreIgnored() {
        let matcher = BLEDeviceMatcher(profiles: Self.profiles, bondedOnly: false)
        let unknown = matcher.verdict(BLEAdvertisement(name: "Headphones", services: [GATTUUID(0x110B)]), bonded: true)
        #expect(unknown == .ignore(reason: "no firmware profile matches"))
        let both = matcher.verdict(
            BLEAdvertisement(services: [GATTUUID(0x1822), GATTUUID(0x1809)]),
            bonded: true
        )
        #expect(both == .ignore(reason: "ambiguous: profiles sig.hts, sig.plx match equally well"))
        let vendor = matcher.verdict(BLEAdvertisement(name: "O2Ring 1234"), bonded: true)
        #expect(vendor == .ignore(reason: "profile viatom.o2: driver viatom.o2 needs `gatt.notify`"))
    }

    @Test func vendorProfileWithItsGATTLayoutRunsTheVendorDriver() throws {
        let service = try #require(GATTUUID(string: "49535343-fe7d-4ae5-8fa9-9fafd205e455"))
        let notify = try #require(GATTUUID(string: "49535343-1e4d-4bd9-ba61-23c647249616"))
        var berry = Self.profile(
            "berrymed.bci",
            driver: "berrymed.bci",
            role: .oximeter,
            BLEMatch(services: [service], names: [NamePattern("BerryMed*")])
        )
        berry.gatt = GATTLayout(service: service, notify: [notify])
        let matcher = BLEDeviceMatcher(profiles: ProfileSet(layers: [[berry]]), bondedOnly: false)
        #expect(matcher.discoveryServices == [service])
        let verdict = matcher.verdict(BLEAdvertisement(name: "BerryMed-1234", services: [service]), bonded: false)
        guard case .manage(let profile, let driver) = verdict else {
            Issue.record("expected manage, got \(verdict)")
            return
        }
        #expect(profile.id == "berrymed.bci")
        #expect(driver.id == "berrymed.bci" && driver.measurement == notify && driver.decoderKind == "berrymed")
        let custom = try #require(BLEDeviceMatcher.customDriver(for: berry) as? VendorGATTDriver)
        #expect(custom.notify == [notify] && custom.vendorProtocol.streamFramed)
        #expect(BLEDeviceMatcher.customDriver(for: Self.profiles["sig.plx"]!) == nil)
    }
}

/// Omron-style pairing/transfer modes read from the advertisement's manufacturer data.
@Suite struct BLEAdvertisingModeTests {
    static let omron: DeviceProfile = {
        var profile = BLEDeviceMatcherTests.profile(
            "omron.bps",
            driver: "ble.bps",
            role: .bp,
            BLEMatch(services: [GATTUUID(0x1810)], manufacturerData: ManufacturerDataMatch(companyID: 0x020E))
        )
        // Omron "each user data": type 0x01, then flags (bit 3 = pairing mode).
        profile.advertisingMode = BLEAdvertisingMode(
            companyID: 0x020E,
            offset: 1,
            mask: 0x08,
            pairing: 0x08,
            transfer: 0x00
        )
        profile.quirks.needsBonding = true
        return profile
    }()

    static func advert(_ data: [UInt8]) -> BLEAdvertisement {
        BLEAdvertisement(name: "BLEsmart_00000480", services: [GATTUUID(0x1810)], manufacturerData: [0x020E: data])
    }

    static func matcher(bondedOnly: Bool) -> BLEDeviceMatcher {
        BLEDeviceMatcher(profiles: ProfileSet(layers: [[omron]]), bondedOnly: bondedOnly)
    }

    @Test func modeIsReadFromTheMaskedByte() {
        let modes = Self.omron.advertisingMode
        #expect(modes?.mode(of: Self.advert([0x01, 0x08])) == .pairing)
        // Two users (bits 0-1) and the clock-not-set bit (2) do not change the mode bit.
        #expect(modes?.mode(of: Self.advert([0x01, 0x0D])) == .pairing)
        #expect(modes?.mode(of: Self.advert([0x01, 0x05])) == .transfer)
        #expect(modes?.mode(of: Self.advert([0x01, 0x00, 0x01, 0x00, 0x2A])) == .transfer)
        #expect(modes?.mode(of: Self.advert([0x01])) == nil)  // too short
        #expect(modes?.mode(of: BLEAdvertisement(services: [GATTUUID(0x1810)])) == nil)  // no Omron data
        #expect(modes?.mode(of: BLEAdvertisement(manufacturerData: [0x004C: [0x01, 0x08]])) == nil)  // other company
    }

    @Test func pairingModeIsListedNeverConnectedEvenWhenBonded() {
        for bondedOnly in [true, false] {
            for bonded in [true, false] {
                #expect(
                    Self.matcher(bondedOnly: bondedOnly).verdict(Self.advert([0x01, 0x08]), bonded: bonded)
                        == .pairingMode(profile: Self.omron)
                )
            }
        }
    }

    @Test func transferModeConnectsOnlyWhenBonded() {
        let transfer = Self.advert([0x01, 0x00])
        guard case .manage(let profile, let driver) = Self.matcher(bondedOnly: true).verdict(transfer, bonded: true)
        else {
            Issue.record("a bonded cuff in transfer mode is read")
            return
        }
        #expect(profile.id == "omron.bps" && driver.id == "ble.bps")
        // Not bonded: not even `ble.connect: matching` connects a needs_bonding cuff.
        for bondedOnly in [true, false] {
            #expect(
                Self.matcher(bondedOnly: bondedOnly).verdict(transfer, bonded: false)
                    == .notNow(
                        profile: Self.omron,
                        reason: "transfer mode but not bonded: put it in pairing mode, then boothctl pair"
                    )
            )
        }
        // A mode-advertising profile without needs_bonding follows `ble.connect: matching`.
        var relaxed = Self.omron
        relaxed.quirks.needsBonding = false
        let open = BLEDeviceMatcher(profiles: ProfileSet(layers: [[relaxed]]), bondedOnly: false)
        guard case .manage = open.verdict(transfer, bonded: false) else {
            Issue.record("matching policy connects a device in transfer mode without needs_bonding")
            return
        }
    }

    @Test func anyOtherAdvertisementIsNotActedOn() {
        let verdict = Self.matcher(bondedOnly: false).verdict(Self.advert([0x01]), bonded: true)
        #expect(
            verdict
                == .notNow(profile: Self.omron, reason: "its advertisement shows neither pairing nor transfer mode")
        )
    }
}
