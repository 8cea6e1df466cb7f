import BoothCore
import BoothYAML
import Foundation

/// Reads one profile file (YAML; the schema is documented in `firmware-profiles/README.md`). Unknown keys and bad
/// values are `ProfileError`s naming `file:line` and the key.
public enum ProfileLoader {
    /// Reads and checks `path`.
    public static func load(path: String) throws(ProfileError) -> DeviceProfile {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ProfileError(file: path, line: nil, key: "", reason: "cannot be read (\(error.localizedDescription))")
        }
        return try parse(text, file: path)
    }

    /// Parses the text of one profile; `file` is used in errors and recorded as the profile's origin.
    public static func parse(_ text: String, file: String) throws(ProfileError) -> DeviceProfile {
        let tree: YAMLTree
        do {
            tree = try YAMLTree.parse(text)
        } catch {
            throw ProfileError(file: file, line: error.line, key: "", reason: "not valid YAML: \(error.reason)")
        }
        var top = try MappingReader(tree, file: file, path: "")
        let idNode = try top.required("id")
        let id = try top.scalar(idNode, "id")
        guard isValidID(id) else {
            throw top.error(
                "id",
                idNode,
                "\"\(id)\" is not a profile id (lowercase vendor.model: letters, digits, '-', at least one '.')"
            )
        }
        let name = try top.requiredString("name")
        let manufacturer = try top.string("manufacturer")
        let role = try top.requiredChoice("role", DeviceRole.self)
        let transportNode = top.node("transport")
        let transport = try top.requiredChoice("transport", ProfileTransport.self)
        let driverNode = try top.required("driver")
        let driver = try top.scalar(driverNode, "driver")
        guard isValidID(driver) else {
            throw top.error("driver", driverNode, "\"\(driver)\" is not a driver id (lowercase, dotted, e.g. ble.plx)")
        }

        let matchNode = try top.required("match")
        let rules = try parseMatch(matchNode, file: file, transport: transport, transportLine: transportNode?.line)

        var serial: SerialSettings?
        if let node = top.node("serial") {
            guard transport == .usbSerial else {
                throw top.error("serial", node, "only usb-serial profiles have serial settings")
            }
            serial = try parseSerial(node, file: file)
        } else if transport == .usbSerial {
            throw ProfileError(file: file, line: tree.line, key: "serial", reason: "missing (required for usb-serial)")
        }

        var gatt: GATTLayout?
        if let node = top.node("gatt") {
            guard transport == .ble else { throw top.error("gatt", node, "only ble profiles have a gatt layout") }
            gatt = try parseGATT(node, file: file)
        }

        var advertisingMode: BLEAdvertisingMode?
        if let node = top.node("advertising_mode") {
            guard transport == .ble else {
                throw top.error("advertising_mode", node, "only ble profiles have an advertising mode")
            }
            advertisingMode = try parseAdvertisingMode(node, file: file)
        }

        var options: [String: ProfileOption] = [:]
        if let node = top.node("options") {
            let reader = try MappingReader(node, file: file, path: "options")
            for entry in reader.entries {
                guard isValidKey(entry.key) else {
                    throw ProfileError(
                        file: file,
                        line: entry.keyLine,
                        key: "options.\(entry.key)",
                        reason: "option names are lowercase snake_case"
                    )
                }
                switch entry.value {
                case .scalar(let text, _): options[entry.key] = .text(text)
                case .sequence: options[entry.key] = .list(try reader.stringList(entry.value, entry.key))
                case .mapping:
                    throw reader.error(entry.key, entry.value, "expected a value or a list of values, got a mapping")
                }
            }
        }

        let quirks = try top.node("quirks").map { node throws(ProfileError) in
            try parseQuirks(node, file: file, transport: transport)
        }
        var verifiedFirmware: [String] = []
        if let node = top.node("firmware") {
            var reader = try MappingReader(node, file: file, path: "firmware")
            verifiedFirmware = try reader.strings("verified")
            try reader.finish()
        }
        let trace = try top.string("trace")
        if let trace, trace.isEmpty || trace.hasPrefix("/") {
            throw ProfileError(
                file: file,
                line: tree.line,
                key: "trace",
                reason: "a path relative to the profile file, e.g. traces/model-live.trace"
            )
        }
        let references = try top.strings("references")
        try top.finish()

        return DeviceProfile(
            id: id,
            name: name,
            manufacturer: manufacturer,
            role: role,
            transport: transport,
            driver: driver,
            options: options,
            match: rules,
            serial: serial,
            gatt: gatt,
            advertisingMode: advertisingMode,
            quirks: quirks ?? ProfileQuirks(),
            verifiedFirmware: verifiedFirmware,
            trace: trace,
            references: references,
            origin: ProfileOrigin(file: file, line: tree.line)
        )
    }

    static func isValidID(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count >= 2
            && parts.allSatisfy { part in
                !part.isEmpty && part.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }
            }
    }

    static func isValidKey(_ text: String) -> Bool {
        !text.isEmpty && text.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "_" }
    }

    // MARK: match

    private static func parseMatch(
        _ node: YAMLTree,
        file: String,
        transport: ProfileTransport,
        transportLine: Int?
    ) throws(ProfileError) -> [MatchRule] {
        let items: [YAMLTree]
        switch node {
        case .sequence(let list, _): items = list
        case .mapping: items = [node]
        case .scalar:
            throw ProfileError(file: file, line: node.line, key: "match", reason: "expected a list of match rules")
        }
        guard !items.isEmpty else {
            throw ProfileError(file: file, line: node.line, key: "match", reason: "needs at least one rule")
        }
        var rules: [MatchRule] = []
        for (index, item) in items.enumerated() {
            let path = "match[\(index)]"
            guard case .mapping(let entries, _) = item, entries.count == 1, let entry = entries.first else {
                throw ProfileError(
                    file: file,
                    line: item.line,
                    key: path,
                    reason: "each rule is one of ble:, usb:, v4l2:, alsa: with its criteria"
                )
            }
            let rulePath = "\(path).\(entry.key)"
            let rule: MatchRule
            switch entry.key {
            case "ble": rule = .ble(try parseBLEMatch(entry.value, file: file, path: rulePath))
            case "usb": rule = .usb(try parseUSBMatch(entry.value, file: file, path: rulePath))
            case "v4l2": rule = .v4l2(try parseV4L2Match(entry.value, file: file, path: rulePath))
            case "alsa": rule = .alsa(try parseALSAMatch(entry.value, file: file, path: rulePath))
            default:
                throw ProfileError(
                    file: file,
                    line: entry.keyLine,
                    key: rulePath,
                    reason: "unknown rule kind (ble, usb, v4l2, alsa)"
                )
            }
            let fits: Bool =
                switch (rule, transport) {
                case (.ble, .ble), (.v4l2, .v4l2), (.alsa, .alsa): true
                case (.usb, _): transport.isUSB
                default: false
                }
            guard fits else {
                throw ProfileError(
                    file: file,
                    line: entry.keyLine,
                    key: rulePath,
                    reason: "a \(entry.key) rule cannot match a \(transport.rawValue) device (transport at line "
                        + "\(transportLine.map(String.init) ?? "?"))"
                )
            }
            rules.append(rule)
        }
        return rules
    }

    private static func parseBLEMatch(_ node: YAMLTree, file: String, path: String) throws(ProfileError) -> BLEMatch {
        var reader = try MappingReader(node, file: file, path: path)
        var match = BLEMatch()
        if let servicesNode = reader.node("services") {
            for (index, text) in try reader.stringList(servicesNode, "services").enumerated() {
                guard let uuid = GATTUUID(string: text.lowercased().hasPrefix("0x") ? String(text.dropFirst(2)) : text)
                else {
                    throw reader.error(
                        "services[\(index)]",
                        servicesNode,
                        "\"\(text)\" is not a 16-bit (0x1822) or 128-bit UUID"
                    )
                }
                match.services.append(uuid)
            }
        }
        match.names = try reader.strings("names").map(NamePattern.init)
        if let node = reader.node("manufacturer_data") {
            var data = try MappingReader(node, file: file, path: reader.keyPath("manufacturer_data"))
            guard let company = try data.hex("company", max: 0xFFFF) else {
                throw data.error("company", nil, "missing (Bluetooth SIG company identifier, e.g. 0x020e)")
            }
            var prefix: [UInt8] = []
            if let prefixNode = data.node("prefix") {
                let text = try data.scalar(prefixNode, "prefix")
                guard let bytes = Hex.bytes(text) else { throw data.error("prefix", prefixNode, "expected hex bytes") }
                prefix = bytes
            }
            try data.finish()
            match.manufacturerData = ManufacturerDataMatch(companyID: UInt16(company), prefix: prefix)
        }
        try reader.finish()
        guard !match.services.isEmpty || !match.names.isEmpty || match.manufacturerData != nil else {
            throw ProfileError(
                file: file,
                line: node.line,
                key: path,
                reason: "a rule needs at least one of services, names, manufacturer_data"
            )
        }
        return match
    }

    private static func parseUSBMatch(_ node: YAMLTree, file: String, path: String) throws(ProfileError) -> USBMatch {
        var reader = try MappingReader(node, file: file, path: path)
        guard let vendor = try reader.hex("vendor", max: 0xFFFF) else {
            throw reader.error("vendor", nil, "missing (USB vendor id in hex, e.g. 0x10c4)")
        }
        var match = USBMatch(vendorID: UInt16(vendor))
        if let productNode = reader.node("product") {
            if try reader.scalar(productNode, "product") != "*" {
                match.productID = UInt16(try reader.parseHex(productNode, "product", max: 0xFFFF))
            }
        } else {
            throw reader.error("product", nil, "missing (USB product id in hex, or \"*\" for every product)")
        }
        if let code = try reader.hex("interface_class", max: 0xFF) { match.interfaceClass = UInt8(code) }
        if let rangeNode = reader.node("bcd_device") {
            let text = try reader.scalar(rangeNode, "bcd_device")
            let bounds = text.split(separator: "-", maxSplits: 1).map {
                String($0).trimmingCharacters(in: .whitespaces)
            }
            var values: [UInt16] = []
            for bound in bounds {
                let digits = bound.lowercased().hasPrefix("0x") ? String(bound.dropFirst(2)) : bound
                guard digits.count == 4, let value = UInt16(digits, radix: 16) else {
                    throw reader.error(
                        "bcd_device",
                        rangeNode,
                        "expected 0xLLLL or 0xLLLL-0xHHHH (4 hex digits), got \"\(text)\""
                    )
                }
                values.append(value)
            }
            let low = values[0]
            let high = values.count > 1 ? values[1] : values[0]
            guard low <= high else { throw reader.error("bcd_device", rangeNode, "range is empty (low > high)") }
            match.bcdDevice = low...high
        }
        match.productNames = try reader.strings("product_names").map(NamePattern.init)
        try reader.finish()
        return match
    }

    private static func parseV4L2Match(_ node: YAMLTree, file: String, path: String) throws(ProfileError) -> V4L2Match {
        var reader = try MappingReader(node, file: file, path: path)
        var match = V4L2Match()
        match.names = try reader.strings("names").map(NamePattern.init)
        match.driver = try reader.string("driver")
        if let usbNode = reader.node("usb") {
            match.usb = try parseUSBMatch(usbNode, file: file, path: reader.keyPath("usb"))
        }
        try reader.finish()
        guard !match.names.isEmpty || match.usb != nil else {
            throw ProfileError(file: file, line: node.line, key: path, reason: "a rule needs names or usb")
        }
        return match
    }

    private static func parseALSAMatch(_ node: YAMLTree, file: String, path: String) throws(ProfileError) -> ALSAMatch {
        var reader = try MappingReader(node, file: file, path: path)
        var match = ALSAMatch()
        match.cards = try reader.strings("cards").map(NamePattern.init)
        if let usbNode = reader.node("usb") {
            match.usb = try parseUSBMatch(usbNode, file: file, path: reader.keyPath("usb"))
        }
        try reader.finish()
        guard !match.cards.isEmpty || match.usb != nil else {
            throw ProfileError(file: file, line: node.line, key: path, reason: "a rule needs cards or usb")
        }
        return match
    }

    // MARK: sections

    private static func parseSerial(_ node: YAMLTree, file: String) throws(ProfileError) -> SerialSettings {
        var reader = try MappingReader(node, file: file, path: "serial")
        let baudNode = try reader.required("baud")
        let baudText = try reader.scalar(baudNode, "baud")
        guard let baud = Int(baudText), SerialSettings.supportedBaudRates.contains(baud) else {
            let rates = SerialSettings.supportedBaudRates.map(String.init).joined(separator: ", ")
            throw reader.error("baud", baudNode, "\"\(baudText)\" is not a supported rate (\(rates))")
        }
        var settings = SerialSettings(baudRate: baud)
        settings.dataBits = try reader.int("data_bits", in: 5...8) ?? 8
        settings.parity = try reader.choice("parity", SerialSettings.Parity.self) ?? .none
        settings.stopBits = try reader.int("stop_bits", in: 1...2) ?? 1
        if let flowNode = reader.node("flow_control") {
            switch try reader.scalar(flowNode, "flow_control") {
            case "none": settings.hardwareFlowControl = false
            case "rtscts": settings.hardwareFlowControl = true
            case let other: throw reader.error("flow_control", flowNode, "expected none or rtscts, got \"\(other)\"")
            }
        }
        try reader.finish()
        return settings
    }

    private static func parseGATT(_ node: YAMLTree, file: String) throws(ProfileError) -> GATTLayout {
        var reader = try MappingReader(node, file: file, path: "gatt")
        func uuid(_ node: YAMLTree, _ key: String) throws(ProfileError) -> GATTUUID {
            let text = try reader.scalar(node, key)
            guard let uuid = GATTUUID(string: text.lowercased().hasPrefix("0x") ? String(text.dropFirst(2)) : text)
            else { throw reader.error(key, node, "\"\(text)\" is not a 16-bit or 128-bit UUID") }
            return uuid
        }
        let service = try uuid(try reader.required("service"), "service")
        let notifyNode = try reader.required("notify")
        var notify: [GATTUUID] = []
        for (index, text) in try reader.stringList(notifyNode, "notify").enumerated() {
            notify.append(try uuid(.scalar(text, line: notifyNode.line), "notify[\(index)]"))
        }
        let write = try reader.node("write").map { node throws(ProfileError) in try uuid(node, "write") }
        var commands: [[UInt8]] = []
        if let commandsNode = reader.node("start_commands") {
            for (index, text) in try reader.stringList(commandsNode, "start_commands").enumerated() {
                guard let bytes = Hex.bytes(text), !bytes.isEmpty else {
                    throw reader.error("start_commands[\(index)]", commandsNode, "expected hex bytes, got \"\(text)\"")
                }
                commands.append(bytes)
            }
            guard write != nil else {
                throw reader.error("start_commands", commandsNode, "needs gatt.write (where commands are written)")
            }
        }
        try reader.finish()
        return GATTLayout(service: service, notify: notify, write: write, startCommands: commands)
    }

    /// `advertising_mode: {company, byte, mask, pairing, transfer}`: the masked byte of the company's manufacturer
    /// data tells pairing mode from transfer mode.
    private static func parseAdvertisingMode(_ node: YAMLTree, file: String) throws(ProfileError) -> BLEAdvertisingMode
    {
        var reader = try MappingReader(node, file: file, path: "advertising_mode")
        func requiredHex(_ key: String, max: UInt64) throws(ProfileError) -> UInt64 {
            guard let value = try reader.hex(key, max: max) else {
                throw ProfileError(
                    file: file,
                    line: node.line,
                    key: "advertising_mode.\(key)",
                    reason: "missing (required)"
                )
            }
            return value
        }
        let company = UInt16(try requiredHex("company", max: 0xFFFF))
        guard let offset = try reader.int("byte", in: 0...28) else {
            throw ProfileError(file: file, line: node.line, key: "advertising_mode.byte", reason: "missing (required)")
        }
        let maskNode = reader.node("mask")
        let mask = UInt8(try requiredHex("mask", max: 0xFF))
        let pairingNode = reader.node("pairing")
        let pairing = UInt8(try requiredHex("pairing", max: 0xFF))
        let transfer = UInt8(try requiredHex("transfer", max: 0xFF))
        guard mask != 0, pairing & ~mask == 0, transfer & ~mask == 0 else {
            throw reader.error("mask", maskNode, "pairing and transfer must be values of the mask's bits (mask not 0)")
        }
        guard pairing != transfer else {
            throw reader.error("pairing", pairingNode, "pairing and transfer must differ")
        }
        try reader.finish()
        return BLEAdvertisingMode(companyID: company, offset: offset, mask: mask, pairing: pairing, transfer: transfer)
    }

    private static func parseQuirks(
        _ node: YAMLTree,
        file: String,
        transport: ProfileTransport
    ) throws(ProfileError) -> ProfileQuirks {
        var reader = try MappingReader(node, file: file, path: "quirks")
        var quirks = ProfileQuirks()
        quirks.needsBonding = try reader.bool("needs_bonding") ?? false
        quirks.needsTimeSync = try reader.bool("needs_time_sync") ?? false
        quirks.clockUnreliable = try reader.bool("clock_unreliable") ?? false
        quirks.sharedUSBID = try reader.bool("shared_usb_id") ?? false
        quirks.connectsBriefly = try reader.bool("connects_briefly") ?? false
        if quirks.needsBonding || quirks.needsTimeSync || quirks.connectsBriefly, transport != .ble {
            throw ProfileError(
                file: file,
                line: node.line,
                key: "quirks",
                reason: "needs_bonding, needs_time_sync and connects_briefly apply to ble profiles only"
            )
        }
        if let controlsNode = reader.node("camera_controls") {
            guard transport == .v4l2 else {
                throw reader.error("camera_controls", controlsNode, "only v4l2 profiles have camera controls")
            }
            guard case .sequence(let items, _) = controlsNode else {
                throw reader.error("camera_controls", controlsNode, "expected a list")
            }
            for (index, item) in items.enumerated() {
                var control = try MappingReader(item, file: file, path: "quirks.camera_controls[\(index)]")
                let name = try control.requiredString("control")
                guard let minimum = try control.int("min", in: Int(Int32.min)...Int(Int32.max)),
                    let maximum = try control.int("max", in: Int(Int32.min)...Int(Int32.max))
                else { throw control.error("min", item, "min and max are required") }
                guard minimum <= maximum else { throw control.error("max", item, "max is below min") }
                let defaultValue = try control.int("default", in: minimum...maximum)
                try control.finish()
                quirks.cameraControls.append(
                    CameraControlRange(control: name, minimum: minimum, maximum: maximum, defaultValue: defaultValue)
                )
            }
        }
        if let ledNode = reader.node("led_extension_unit") {
            guard transport == .v4l2 else {
                throw reader.error("led_extension_unit", ledNode, "only v4l2 profiles have a LED extension unit")
            }
            var led = try MappingReader(ledNode, file: file, path: "quirks.led_extension_unit")
            let guidNode = try led.required("guid")
            let guid = try led.scalar(guidNode, "guid").lowercased()
            guard GATTUUID(string: guid) != nil, guid.count == 36 else {
                throw led.error("guid", guidNode, "expected a GUID like 12345678-1234-1234-1234-123456789abc")
            }
            let selector = try led.int("selector", in: 1...255)
            var payloads: [[UInt8]] = []
            for key in ["on", "off"] {
                let payloadNode = try led.required(key)
                guard let bytes = Hex.bytes(try led.scalar(payloadNode, key)), !bytes.isEmpty else {
                    throw led.error(key, payloadNode, "expected hex bytes")
                }
                payloads.append(bytes)
            }
            guard let selector else { throw led.error("selector", ledNode, "missing (required)") }
            try led.finish()
            quirks.ledExtensionUnit = LEDExtensionUnit(
                guid: guid,
                selector: selector,
                on: payloads[0],
                off: payloads[1]
            )
        }
        if let node = reader.node("extension_controls") {
            guard transport == .v4l2 else {
                throw reader.error("extension_controls", node, "only v4l2 profiles have extension-unit controls")
            }
            quirks.extensionControls = try parseExtensionControls(node, file: file)
        }
        try reader.finish()
        return quirks
    }

    /// `extension_controls: [{name, unit, selector, size, type, min, max, step, default, access}]`.
    private static func parseExtensionControls(
        _ node: YAMLTree,
        file: String
    ) throws(ProfileError) -> [UVCExtensionControl] {
        guard case .sequence(let items, _) = node else {
            throw ProfileError(file: file, line: node.line, key: "quirks.extension_controls", reason: "expected a list")
        }
        var controls: [UVCExtensionControl] = []
        for (index, item) in items.enumerated() {
            var reader = try MappingReader(item, file: file, path: "quirks.extension_controls[\(index)]")
            let nameNode = try reader.required("name")
            let name = try reader.scalar(nameNode, "name")
            guard !name.isEmpty, name.count <= 32, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw reader.error(
                    "name",
                    nameNode,
                    "\"\(name)\" is not a control name (letters, digits, _; 32 at most)"
                )
            }
            guard !controls.contains(where: { $0.name == name }) else {
                throw reader.error("name", nameNode, "\"\(name)\" is declared twice")
            }
            guard let unit = try reader.int("unit", in: 1...255) else {
                throw reader.error("unit", item, "missing (required: the extension unit's bUnitID)")
            }
            guard let selector = try reader.int("selector", in: 1...255) else {
                throw reader.error("selector", item, "missing (required)")
            }
            let type = try reader.choice("type", UVCExtensionControl.ValueType.self) ?? .unsigned
            let size = try reader.int("size", in: 1...8) ?? (type == .boolean ? 1 : nil)
            guard let size else { throw reader.error("size", item, "missing (required: payload bytes, 1...8)") }
            if type == .boolean, size != 1 { throw reader.error("size", item, "a boolean control is 1 byte") }
            let representable = UVCExtensionControl.representable(type: type, size: size)
            let bounds = Int(representable.lowerBound)...Int(representable.upperBound)
            let minimum = try reader.int("min", in: bounds) ?? (type == .boolean ? 0 : nil)
            let maximum = try reader.int("max", in: bounds) ?? (type == .boolean ? 1 : nil)
            guard let minimum, let maximum else {
                throw reader.error("min", item, "min and max are required (the values the control accepts)")
            }
            guard minimum <= maximum else { throw reader.error("max", reader.node("max"), "max is below min") }
            let step = try reader.int("step", in: 1...Int(Int32.max)) ?? 1
            let defaultValue = try reader.int("default", in: minimum...maximum)
            let access = try reader.choice("access", UVCExtensionControl.Access.self) ?? .readWrite
            try reader.finish()
            controls.append(
                UVCExtensionControl(
                    name: name,
                    unit: UInt8(unit),
                    selector: UInt8(selector),
                    size: size,
                    type: type,
                    minimum: Int64(minimum),
                    maximum: Int64(maximum),
                    step: Int64(step),
                    defaultValue: defaultValue.map(Int64.init),
                    access: access
                )
            )
        }
        return controls
    }
}
