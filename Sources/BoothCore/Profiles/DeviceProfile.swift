/// What a device is for. Drives which measurements a profile may produce and the stable `/dev/booth/<role>` link.
public enum DeviceRole: String, Sendable, Hashable, Codable, CaseIterable {
    case oximeter
    case bp
    case thermometer
    case glucometer
    case scale
    case otoscope
    case dermatoscope
    case oralCamera = "oral-camera"
    case stethoscope
    case ecg
    /// A general-purpose room camera (the doctor's view of the booth).
    case roomCamera = "room-camera"
    /// A device whose role is not known yet (discovered, no profile matched).
    case other
}

/// How boothd reaches a device.
public enum ProfileTransport: String, Sendable, Hashable, Codable, CaseIterable {
    /// Bluetooth Low Energy GATT through BlueZ.
    case ble
    /// A USB serial bridge (CP210x, CDC-ACM, FTDI ...) read through the tty layer.
    case usbSerial = "usb-serial"
    /// USB HID reports (hidraw or libusb interrupt transfers).
    case usbHID = "usb-hid"
    /// Raw USB bulk/interrupt transfers through libusb.
    case usb
    /// A V4L2 camera (UVC otoscope, dermatoscope, oral camera).
    case v4l2
    /// An ALSA capture device (USB-audio stethoscope).
    case alsa

    /// Whether the device sits on the USB bus, so udev rules can match it by vendor/product id.
    public var isUSB: Bool {
        switch self {
        case .usbSerial, .usbHID, .usb: true
        case .ble, .v4l2, .alsa: false
        }
    }
}

/// One device model (or one standard device class) as boothd knows it: how to recognise it, which driver reads
/// it with which options, and what is peculiar about it. Read from one file in `firmware-profiles/`.
public struct DeviceProfile: Sendable, Hashable, Codable, Identifiable {
    /// Stable id, `vendor.model` in lowercase (`contec.cms50dplus`, `sig.plx`); a site override replaces the
    /// shipped profile with the same id.
    public var id: String
    /// Human name shown to technicians.
    public var name: String
    public var manufacturer: String?
    public var role: DeviceRole
    public var transport: ProfileTransport
    /// Id of the decoder/driver that reads the device (e.g. `ble.plx`, `contec.cms50`).
    public var driver: String
    /// Driver-specific settings, checked by the driver; see each profile file for the keys it uses.
    public var options: [String: ProfileOption]
    /// Alternatives: the profile matches a device when any one rule matches.
    public var match: [MatchRule]
    /// Line settings for `usb-serial` profiles.
    public var serial: SerialSettings?
    /// GATT layout for vendor BLE profiles (which characteristics to subscribe to and write).
    public var gatt: GATTLayout?
    /// Where the device's advertisement says "pairing mode" or "transfer mode" (BLE devices such as Omron cuffs);
    /// nil: the advertisement carries no mode and boothd connects by its policy alone.
    public var advertisingMode: BLEAdvertisingMode?
    public var quirks: ProfileQuirks
    /// Firmware versions a recorded trace proves work, as the device reports them.
    public var verifiedFirmware: [String]
    /// Path of the recorded trace (relative to the profile file) that proves the profile works.
    public var trace: String?
    /// Public documents the facts in the profile come from.
    public var references: [String]
    /// Where the profile was read from, for error messages and `boothctl profiles list`.
    public var origin: ProfileOrigin

    public init(
        id: String,
        name: String,
        manufacturer: String? = nil,
        role: DeviceRole,
        transport: ProfileTransport,
        driver: String,
        options: [String: ProfileOption] = [:],
        match: [MatchRule],
        serial: SerialSettings? = nil,
        gatt: GATTLayout? = nil,
        advertisingMode: BLEAdvertisingMode? = nil,
        quirks: ProfileQuirks = ProfileQuirks(),
        verifiedFirmware: [String] = [],
        trace: String? = nil,
        references: [String] = [],
        origin: ProfileOrigin = ProfileOrigin(file: "<memory>", line: 1)
    ) {
        self.id = id
        self.name = name
        self.manufacturer = manufacturer
        self.role = role
        self.transport = transport
        self.driver = driver
        self.options = options
        self.match = match
        self.serial = serial
        self.gatt = gatt
        self.advertisingMode = advertisingMode
        self.quirks = quirks
        self.verifiedFirmware = verifiedFirmware
        self.trace = trace
        self.references = references
        self.origin = origin
    }
}

/// The file and line a profile starts at.
public struct ProfileOrigin: Sendable, Hashable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    public var description: String { "\(file):\(line)" }
}

/// A driver option value: a scalar or a list of scalars, kept as text for the driver to interpret.
public enum ProfileOption: Sendable, Hashable, Codable, CustomStringConvertible {
    case text(String)
    case list([String])

    public var description: String {
        switch self {
        case .text(let text): text
        case .list(let items): "[" + items.joined(separator: ", ") + "]"
        }
    }
}

/// Serial line settings (the tty is configured with exactly these; nothing is inherited from the port's state).
public struct SerialSettings: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Parity: String, Sendable, Hashable, Codable, CaseIterable {
        case none, odd, even
    }

    public var baudRate: Int
    public var dataBits: Int
    public var parity: Parity
    public var stopBits: Int
    /// RTS/CTS hardware flow control.
    public var hardwareFlowControl: Bool

    /// Baud rates the tty layer can set (termios `B*` constants).
    public static let supportedBaudRates = [
        1200, 2400, 4800, 9600, 19200, 38400, 57600, 115_200, 230_400, 460_800, 921_600,
    ]

    public init(
        baudRate: Int,
        dataBits: Int = 8,
        parity: Parity = .none,
        stopBits: Int = 1,
        hardwareFlowControl: Bool = false
    ) {
        self.baudRate = baudRate
        self.dataBits = dataBits
        self.parity = parity
        self.stopBits = stopBits
        self.hardwareFlowControl = hardwareFlowControl
    }

    /// `19200 8O1` style.
    public var description: String {
        let parityLetter =
            switch parity {
            case .none: "N"
            case .odd: "O"
            case .even: "E"
            }
        return "\(baudRate) \(dataBits)\(parityLetter)\(stopBits)" + (hardwareFlowControl ? " rtscts" : "")
    }
}

/// The GATT characteristics a vendor BLE driver uses.
public struct GATTLayout: Sendable, Hashable, Codable {
    public var service: GATTUUID
    /// Characteristics to subscribe to (notifications or indications).
    public var notify: [GATTUUID]
    /// Characteristic commands are written to, if the protocol has commands.
    public var write: GATTUUID?
    /// Commands written once after subscribing (e.g. "start streaming"), in order.
    public var startCommands: [[UInt8]]

    public init(service: GATTUUID, notify: [GATTUUID], write: GATTUUID? = nil, startCommands: [[UInt8]] = []) {
        self.service = service
        self.notify = notify
        self.write = write
        self.startCommands = startCommands
    }
}

/// What is peculiar about a device, so the supervisor and the drivers can work around it.
public struct ProfileQuirks: Sendable, Hashable, Codable {
    /// The device only sends measurements to a bonded (paired, encrypted) central.
    public var needsBonding = false
    /// Write Current Time (0x2A2B) after connecting: the device's clock is unset after a battery change.
    public var needsTimeSync = false
    /// Do not trust the device's timestamps (use receive time; keep the device time as a claim only).
    public var clockUnreliable = false
    /// The USB vendor/product id belongs to a generic bridge chip shared by unrelated devices: confirm the
    /// device by its traffic (or its product string) before claiming it.
    public var sharedUSBID = false
    /// The device connects only briefly after a measurement (cuffs, thermometers): connect as soon as it advertises.
    public var connectsBriefly = false
    /// Camera controls the driver may set, with the ranges the hardware accepts.
    public var cameraControls: [CameraControlRange] = []
    /// A UVC extension unit driving the illumination LEDs.
    public var ledExtensionUnit: LEDExtensionUnit?
    /// UVC extension-unit controls the camera has (exposed like V4L2 controls, by their declared name).
    public var extensionControls: [UVCExtensionControl] = []

    public init(
        needsBonding: Bool = false,
        needsTimeSync: Bool = false,
        clockUnreliable: Bool = false,
        sharedUSBID: Bool = false,
        connectsBriefly: Bool = false,
        cameraControls: [CameraControlRange] = [],
        ledExtensionUnit: LEDExtensionUnit? = nil,
        extensionControls: [UVCExtensionControl] = []
    ) {
        self.needsBonding = needsBonding
        self.needsTimeSync = needsTimeSync
        self.clockUnreliable = clockUnreliable
        self.sharedUSBID = sharedUSBID
        self.connectsBriefly = connectsBriefly
        self.cameraControls = cameraControls
        self.ledExtensionUnit = ledExtensionUnit
        self.extensionControls = extensionControls
    }
}

/// A V4L2 control and the range a driver may set it to (e.g. `focus_absolute` 0...1023).
public struct CameraControlRange: Sendable, Hashable, Codable {
    /// V4L2 control name as `v4l2-ctl --list-ctrls` prints it.
    public var control: String
    public var minimum: Int
    public var maximum: Int
    public var defaultValue: Int?

    public init(control: String, minimum: Int, maximum: Int, defaultValue: Int? = nil) {
        self.control = control
        self.minimum = minimum
        self.maximum = maximum
        self.defaultValue = defaultValue
    }
}

/// A UVC extension unit control that switches the illumination LEDs.
public struct LEDExtensionUnit: Sendable, Hashable, Codable {
    /// Extension unit GUID as in the device's UVC descriptors.
    public var guid: String
    /// Control selector within the unit.
    public var selector: Int
    /// Bytes written to switch the LEDs on and off.
    public var on: [UInt8]
    public var off: [UInt8]

    public init(guid: String, selector: Int, on: [UInt8], off: [UInt8]) {
        self.guid = guid
        self.selector = selector
        self.on = on
        self.off = off
    }
}
