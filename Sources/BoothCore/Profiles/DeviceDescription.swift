/// What boothd knows about a discovered device before choosing a profile: an advertisement, USB descriptors,
/// a V4L2 card or an ALSA card.
public enum DeviceDescription: Sendable, Hashable, Codable, CustomStringConvertible {
    case ble(BLEAdvertisement)
    case usb(USBDeviceInfo)
    case v4l2(V4L2DeviceInfo)
    case alsa(ALSACardInfo)

    public var description: String {
        switch self {
        case .ble(let advertisement):
            var parts = ["ble"]
            if let name = advertisement.name { parts.append("name=\(quoted(name))") }
            parts += advertisement.services.map { "service=\($0)" }
            for (company, data) in advertisement.manufacturerData.sorted(by: { $0.key < $1.key }) {
                parts.append("mfr=\(hex16(company)):\(Hex.string(data))")
            }
            return parts.joined(separator: " ")
        case .usb(let info):
            return "usb " + info.summary
        case .v4l2(let info):
            var parts = ["v4l2", "card=\(quoted(info.card))"]
            if let driver = info.driver { parts.append("driver=\(driver)") }
            if let usb = info.usb { parts.append("usb=\(usb.summary)") }
            return parts.joined(separator: " ")
        case .alsa(let info):
            var parts = ["alsa", "card=\(quoted(info.card))", "id=\(quoted(info.id))"]
            if let usb = info.usb { parts.append("usb=\(usb.summary)") }
            return parts.joined(separator: " ")
        }
    }
}

/// A BLE advertisement as BlueZ reports it (merged with the service list after connection, when known).
public struct BLEAdvertisement: Sendable, Hashable, Codable {
    public var name: String?
    public var services: [GATTUUID]
    /// Manufacturer-specific data by Bluetooth SIG company identifier.
    public var manufacturerData: [UInt16: [UInt8]]

    public init(name: String? = nil, services: [GATTUUID] = [], manufacturerData: [UInt16: [UInt8]] = [:]) {
        self.name = name
        self.services = services
        self.manufacturerData = manufacturerData
    }
}

/// A USB device's descriptors.
public struct USBDeviceInfo: Sendable, Hashable, Codable {
    public var vendorID: UInt16
    public var productID: UInt16
    /// Device release number (firmware revision as USB reports it).
    public var bcdDevice: UInt16?
    /// Class codes of every interface of the active configuration.
    public var interfaceClasses: [UInt8]
    public var manufacturer: String?
    public var product: String?
    public var serial: String?

    public init(
        vendorID: UInt16,
        productID: UInt16,
        bcdDevice: UInt16? = nil,
        interfaceClasses: [UInt8] = [],
        manufacturer: String? = nil,
        product: String? = nil,
        serial: String? = nil
    ) {
        self.vendorID = vendorID
        self.productID = productID
        self.bcdDevice = bcdDevice
        self.interfaceClasses = interfaceClasses
        self.manufacturer = manufacturer
        self.product = product
        self.serial = serial
    }

    /// `10c4:ea60 bcd=0100 class=ff product="CP2102 ..."`.
    public var summary: String {
        var parts = ["\(hex16(vendorID)):\(hex16(productID))"]
        if let bcdDevice { parts.append("bcd=\(hex16(bcdDevice))") }
        parts += interfaceClasses.map { "class=\(hex8($0))" }
        if let product { parts.append("product=\(quoted(product))") }
        return parts.joined(separator: " ")
    }
}

/// A V4L2 capture device (`VIDIOC_QUERYCAP`).
public struct V4L2DeviceInfo: Sendable, Hashable, Codable {
    public var card: String
    public var driver: String?
    public var usb: USBDeviceInfo?

    public init(card: String, driver: String? = nil, usb: USBDeviceInfo? = nil) {
        self.card = card
        self.driver = driver
        self.usb = usb
    }
}

/// An ALSA sound card.
public struct ALSACardInfo: Sendable, Hashable, Codable {
    /// Long card name, e.g. `USB Audio Device`.
    public var card: String
    /// Short card id, e.g. `Device`.
    public var id: String
    public var usb: USBDeviceInfo?

    public init(card: String, id: String = "", usb: USBDeviceInfo? = nil) {
        self.card = card
        self.id = id
        self.usb = usb
    }
}

/// A device description a technician typed that cannot be understood.
public struct DeviceDescriptionError: Error, Sendable, Equatable, CustomStringConvertible {
    public var token: String
    public var reason: String

    public init(token: String, reason: String) {
        self.token = token
        self.reason = reason
    }

    public var description: String { token.isEmpty ? reason : "'\(token)': \(reason)" }
}

extension DeviceDescription {
    /// Parses the text form `boothctl profiles match` takes, one token per argument:
    /// `ble name=CMS50D-BLE service=1822 mfr=020e:01`, `usb 10c4:ea60 bcd=0100 class=0e product=...`
    /// (or `usb:10c4:ea60`), `v4l2 card="Dino-Lite Edge" driver=uvcvideo usb=a168:0981`, `alsa card=... id=...`.
    /// A single argument holding the whole description is split on spaces, honouring double quotes.
    public static func parse(_ arguments: [String]) throws(DeviceDescriptionError) -> DeviceDescription {
        var tokens = arguments.count == 1 ? splitQuoted(arguments[0]) : arguments
        guard let first = tokens.first else {
            throw DeviceDescriptionError(token: "", reason: "empty description (start with ble, usb, v4l2 or alsa)")
        }
        tokens.removeFirst()
        if first.lowercased().hasPrefix("usb:") {
            tokens.insert(String(first.dropFirst(4)), at: 0)
            return try parseUSBDescription(tokens)
        }
        switch first.lowercased() {
        case "ble":
            var advertisement = BLEAdvertisement()
            for token in tokens {
                let (key, value) = try keyValue(token)
                switch key {
                case "name": advertisement.name = value
                case "service", "services":
                    for item in value.split(separator: ",") {
                        guard let uuid = GATTUUID(string: stripHexPrefix(String(item))) else {
                            throw DeviceDescriptionError(token: token, reason: "not a 16-bit or 128-bit UUID")
                        }
                        advertisement.services.append(uuid)
                    }
                case "mfr", "manufacturer":
                    let parts = value.split(separator: ":", maxSplits: 1).map(String.init)
                    guard let company = UInt16(stripHexPrefix(parts[0]), radix: 16) else {
                        throw DeviceDescriptionError(token: token, reason: "expected COMPANY:HEX, e.g. 020e:0102")
                    }
                    guard let data = Hex.bytes(parts.count > 1 ? parts[1] : "") else {
                        throw DeviceDescriptionError(token: token, reason: "data is not whole bytes of hex")
                    }
                    advertisement.manufacturerData[company] = data
                default:
                    throw DeviceDescriptionError(token: token, reason: "unknown key for ble (name, service, mfr)")
                }
            }
            return .ble(advertisement)
        case "usb":
            return try parseUSBDescription(tokens)
        case "v4l2":
            var card: String?
            var driver: String?
            var usb: USBDeviceInfo?
            for token in tokens {
                let (key, value) = try keyValue(token)
                switch key {
                case "card", "name": card = value
                case "driver": driver = value
                case "usb": usb = try parseUSBDescription(splitQuoted(value)).usbInfo
                default: throw DeviceDescriptionError(token: token, reason: "unknown key for v4l2 (card, driver, usb)")
                }
            }
            guard let card else { throw DeviceDescriptionError(token: "v4l2", reason: "card=NAME is required") }
            return .v4l2(V4L2DeviceInfo(card: card, driver: driver, usb: usb))
        case "alsa":
            var card: String?
            var id = ""
            var usb: USBDeviceInfo?
            for token in tokens {
                let (key, value) = try keyValue(token)
                switch key {
                case "card", "name": card = value
                case "id": id = value
                case "usb": usb = try parseUSBDescription(splitQuoted(value)).usbInfo
                default: throw DeviceDescriptionError(token: token, reason: "unknown key for alsa (card, id, usb)")
                }
            }
            guard let card else { throw DeviceDescriptionError(token: "alsa", reason: "card=NAME is required") }
            return .alsa(ALSACardInfo(card: card, id: id, usb: usb))
        default:
            throw DeviceDescriptionError(token: first, reason: "unknown transport (ble, usb, v4l2, alsa)")
        }
    }

    var usbInfo: USBDeviceInfo? {
        if case .usb(let info) = self { return info }
        return nil
    }

    private static func parseUSBDescription(_ tokens: [String]) throws(DeviceDescriptionError) -> DeviceDescription {
        guard let ids = tokens.first else {
            throw DeviceDescriptionError(token: "usb", reason: "expected VID:PID, e.g. usb 10c4:ea60")
        }
        let parts = ids.split(separator: ":").map(String.init)
        guard parts.count == 2, let vendor = UInt16(parts[0], radix: 16), let product = UInt16(parts[1], radix: 16)
        else { throw DeviceDescriptionError(token: ids, reason: "expected VID:PID in hex, e.g. 10c4:ea60") }
        var info = USBDeviceInfo(vendorID: vendor, productID: product)
        for token in tokens.dropFirst() {
            let (key, value) = try keyValue(token)
            switch key {
            case "bcd", "bcddevice":
                guard let release = UInt16(stripHexPrefix(value), radix: 16) else {
                    throw DeviceDescriptionError(token: token, reason: "bcdDevice is 4 hex digits, e.g. 0100")
                }
                info.bcdDevice = release
            case "class":
                guard let code = UInt8(stripHexPrefix(value), radix: 16) else {
                    throw DeviceDescriptionError(token: token, reason: "interface class is 2 hex digits, e.g. 0e")
                }
                info.interfaceClasses.append(code)
            case "product": info.product = value
            case "manufacturer": info.manufacturer = value
            case "serial": info.serial = value
            default:
                throw DeviceDescriptionError(
                    token: token,
                    reason: "unknown key for usb (bcd, class, product, manufacturer, serial)"
                )
            }
        }
        return .usb(info)
    }

    private static func keyValue(_ token: String) throws(DeviceDescriptionError) -> (String, String) {
        guard let equals = token.firstIndex(of: "=") else {
            throw DeviceDescriptionError(token: token, reason: "expected key=value")
        }
        var value = String(token[token.index(after: equals)...])
        if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
            value = String(value.dropFirst().dropLast())
        }
        return (token[..<equals].lowercased(), value)
    }

    private static func splitQuoted(_ text: String) -> [String] {
        var tokens: [String] = []
        var current = ""
        var inQuotes = false
        var hasToken = false
        for character in text {
            if character == "\"" {
                inQuotes.toggle()
                hasToken = true
            } else if character == " " && !inQuotes {
                if hasToken { tokens.append(current) }
                current = ""
                hasToken = false
            } else {
                current.append(character)
                hasToken = true
            }
        }
        if hasToken { tokens.append(current) }
        return tokens
    }
}

func stripHexPrefix(_ text: String) -> String {
    text.lowercased().hasPrefix("0x") ? String(text.dropFirst(2)) : text
}

func hex16(_ value: UInt16) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 4 - digits.count) + digits
}

func hex8(_ value: UInt8) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 2 - digits.count) + digits
}

private func quoted(_ text: String) -> String {
    text.contains(" ") ? "\"\(text)\"" : text
}
