/// One way to recognise a device. Every criterion a rule sets must hold; criteria it leaves out match anything.
public enum MatchRule: Sendable, Hashable, Codable {
    case ble(BLEMatch)
    case usb(USBMatch)
    case v4l2(V4L2Match)
    case alsa(ALSAMatch)

    /// How specific the rule is when it matches `device` (higher wins), or nil when it does not match.
    /// Specificity lets a model profile (name + service) win over the generic SIG profile (service only).
    public func score(_ device: DeviceDescription) -> Int? {
        switch (self, device) {
        case (.ble(let rule), .ble(let advertisement)): rule.score(advertisement)
        case (.usb(let rule), .usb(let info)): rule.score(info)
        case (.v4l2(let rule), .v4l2(let info)): rule.score(info)
        case (.alsa(let rule), .alsa(let info)): rule.score(info)
        default: nil
        }
    }
}

/// Matches a BLE advertisement (or a connected device's service list).
public struct BLEMatch: Sendable, Hashable, Codable {
    /// Every one of these services must be advertised.
    public var services: [GATTUUID]
    /// The local name must match one of these patterns (empty: any name).
    public var names: [NamePattern]
    /// Manufacturer-specific data that must be present.
    public var manufacturerData: ManufacturerDataMatch?

    public init(services: [GATTUUID] = [], names: [NamePattern] = [], manufacturerData: ManufacturerDataMatch? = nil) {
        self.services = services
        self.names = names
        self.manufacturerData = manufacturerData
    }

    func score(_ advertisement: BLEAdvertisement) -> Int? {
        var score = 0
        for service in services {
            guard advertisement.services.contains(service) else { return nil }
            score += 10
        }
        if !names.isEmpty {
            guard let name = advertisement.name, let pattern = names.first(where: { $0.matches(name) }) else {
                return nil
            }
            score += 20 + pattern.literalCount
        }
        if let manufacturerData {
            guard let data = advertisement.manufacturerData[manufacturerData.companyID],
                data.starts(with: manufacturerData.prefix)
            else { return nil }
            score += 30 + 2 * manufacturerData.prefix.count
        }
        return score
    }
}

/// Manufacturer-specific advertising data: the Bluetooth SIG company identifier and optional leading bytes.
public struct ManufacturerDataMatch: Sendable, Hashable, Codable {
    public var companyID: UInt16
    public var prefix: [UInt8]

    public init(companyID: UInt16, prefix: [UInt8] = []) {
        self.companyID = companyID
        self.prefix = prefix
    }
}

/// Matches a USB device by its descriptors.
public struct USBMatch: Sendable, Hashable, Codable {
    public var vendorID: UInt16
    /// nil matches every product of the vendor (`a168:*`).
    public var productID: UInt16?
    /// One of the device's interfaces must have this class (e.g. 0x0e video, 0x01 audio, 0x03 HID).
    public var interfaceClass: UInt8?
    /// Device release number range (`bcdDevice`): how USB devices tell firmware revisions apart.
    public var bcdDevice: ClosedRange<UInt16>?
    /// The product string must match one of these patterns (empty: any).
    public var productNames: [NamePattern]

    public init(
        vendorID: UInt16,
        productID: UInt16? = nil,
        interfaceClass: UInt8? = nil,
        bcdDevice: ClosedRange<UInt16>? = nil,
        productNames: [NamePattern] = []
    ) {
        self.vendorID = vendorID
        self.productID = productID
        self.interfaceClass = interfaceClass
        self.bcdDevice = bcdDevice
        self.productNames = productNames
    }

    func score(_ info: USBDeviceInfo) -> Int? {
        guard info.vendorID == vendorID else { return nil }
        var score = 40
        if let productID {
            guard info.productID == productID else { return nil }
            score += 40
        }
        if let interfaceClass {
            guard info.interfaceClasses.contains(interfaceClass) else { return nil }
            score += 10
        }
        if let bcdDevice {
            guard let release = info.bcdDevice, bcdDevice.contains(release) else { return nil }
            score += 10
        }
        if !productNames.isEmpty {
            guard let product = info.product, let pattern = productNames.first(where: { $0.matches(product) }) else {
                return nil
            }
            score += 20 + pattern.literalCount
        }
        return score
    }
}

/// Matches a V4L2 capture device.
public struct V4L2Match: Sendable, Hashable, Codable {
    /// The card name (`VIDIOC_QUERYCAP` card, `v4l2-ctl --info` "Card type") must match one of these (empty: any).
    public var names: [NamePattern]
    /// Kernel driver name (e.g. `uvcvideo`).
    public var driver: String?
    /// USB ids of the camera, when it is on USB.
    public var usb: USBMatch?

    public init(names: [NamePattern] = [], driver: String? = nil, usb: USBMatch? = nil) {
        self.names = names
        self.driver = driver
        self.usb = usb
    }

    func score(_ info: V4L2DeviceInfo) -> Int? {
        var score = 0
        if !names.isEmpty {
            guard let pattern = names.first(where: { $0.matches(info.card) }) else { return nil }
            score += 20 + pattern.literalCount
        }
        if let driver {
            guard info.driver == driver else { return nil }
            score += 5
        }
        if let usb {
            guard let device = info.usb, let usbScore = usb.score(device) else { return nil }
            score += usbScore
        }
        return score
    }
}

/// Matches an ALSA sound card.
public struct ALSAMatch: Sendable, Hashable, Codable {
    /// The card name (`/proc/asound/cards`, `arecord -l`) must match one of these (empty: any).
    public var cards: [NamePattern]
    public var usb: USBMatch?

    public init(cards: [NamePattern] = [], usb: USBMatch? = nil) {
        self.cards = cards
        self.usb = usb
    }

    func score(_ info: ALSACardInfo) -> Int? {
        var score = 0
        if !cards.isEmpty {
            guard let pattern = cards.first(where: { $0.matches(info.card) || $0.matches(info.id) }) else {
                return nil
            }
            score += 20 + pattern.literalCount
        }
        if let usb {
            guard let device = info.usb, let usbScore = usb.score(device) else { return nil }
            score += usbScore
        }
        return score
    }
}

/// A case-insensitive glob: `*` any run of characters, `?` one character, everything else literal.
public struct NamePattern: Sendable, Hashable, Codable, CustomStringConvertible {
    public let pattern: String
    private let characters: [Character]

    public init(_ pattern: String) {
        self.pattern = pattern
        characters = Array(pattern.lowercased())
    }

    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(pattern)
    }

    public var description: String { pattern }

    /// Characters that are not wildcards: a longer literal pattern is a more specific one.
    public var literalCount: Int { characters.filter { $0 != "*" && $0 != "?" }.count }

    public func matches(_ text: String) -> Bool {
        let subject = Array(text.lowercased())
        // Iterative glob with single-star backtracking: linear in practice, no recursion on hostile input.
        var patternIndex = 0
        var subjectIndex = 0
        var starIndex: Int?
        var starSubject = 0
        while subjectIndex < subject.count {
            if patternIndex < characters.count,
                characters[patternIndex] == "?" || characters[patternIndex] == subject[subjectIndex]
            {
                patternIndex += 1
                subjectIndex += 1
            } else if patternIndex < characters.count, characters[patternIndex] == "*" {
                starIndex = patternIndex
                starSubject = subjectIndex
                patternIndex += 1
            } else if let star = starIndex {
                patternIndex = star + 1
                starSubject += 1
                subjectIndex = starSubject
            } else {
                return false
            }
        }
        while patternIndex < characters.count, characters[patternIndex] == "*" { patternIndex += 1 }
        return patternIndex == characters.count
    }

    public static func == (lhs: NamePattern, rhs: NamePattern) -> Bool { lhs.pattern == rhs.pattern }
    public func hash(into hasher: inout Hasher) { hasher.combine(pattern) }
}
