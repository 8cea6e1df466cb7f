/// Contec CMS50D+ live data (5 bytes at 60 Hz over USB serial). Byte 0 has the sync bit 7 set, bytes 1-4
/// have it clear; the pulse rate's bit 7 travels in byte 2 bit 6. BerryMed BCI uses the same frame.
///
/// Byte 0: signal strength (bits 0-3), finger out (4), SpO2 dropping (5), beep (6).
/// Byte 1: pleth waveform. Byte 2: bar graph (0-3), probe error (4), searching (5), pulse bit 7 (6).
/// Byte 3: pulse rate bits 0-6. Byte 4: SpO2. SpO2 127 and pulse 255 mean "no reading".
public struct OximeterFiveByteFrame: Sendable, Hashable {
    public var signalStrength: UInt8
    public var fingerOut: Bool
    public var spo2Dropping: Bool
    public var beep: Bool
    public var pleth: UInt8
    public var bargraph: UInt8
    public var probeError: Bool
    public var searching: Bool
    public var pulseRate: UInt8
    public var spo2: UInt8

    public init(
        signalStrength: UInt8 = 0,
        fingerOut: Bool = false,
        spo2Dropping: Bool = false,
        beep: Bool = false,
        pleth: UInt8 = 0,
        bargraph: UInt8 = 0,
        probeError: Bool = false,
        searching: Bool = false,
        pulseRate: UInt8,
        spo2: UInt8
    ) {
        self.signalStrength = signalStrength
        self.fingerOut = fingerOut
        self.spo2Dropping = spo2Dropping
        self.beep = beep
        self.pleth = pleth
        self.bargraph = bargraph
        self.probeError = probeError
        self.searching = searching
        self.pulseRate = pulseRate
        self.spo2 = spo2
    }

    public init(bytes: [UInt8]) throws(DecodeError) {
        var reader = ByteReader(bytes)
        let byte0 = try reader.u8("status")
        guard byte0 & 0x80 != 0 else {
            throw DecodeError(field: "status", offset: 0, reason: .badMarker(UInt64(byte0)))
        }
        let names = ["pleth", "bargraph", "pulseRate", "spo2"]
        var body: [UInt8] = []
        for (index, name) in names.enumerated() {
            let byte = try reader.u8(name)
            guard byte & 0x80 == 0 else {
                throw DecodeError(field: name, offset: index + 1, reason: .badMarker(UInt64(byte)))
            }
            body.append(byte)
        }
        try reader.finish()
        signalStrength = byte0 & 0x0F
        fingerOut = byte0 & 0x10 != 0
        spo2Dropping = byte0 & 0x20 != 0
        beep = byte0 & 0x40 != 0
        pleth = body[0]
        bargraph = body[1] & 0x0F
        probeError = body[1] & 0x10 != 0
        searching = body[1] & 0x20 != 0
        pulseRate = body[2] | (body[1] & 0x40) << 1
        spo2 = body[3]
    }

    /// The 5 frame bytes (values are masked into their bit fields; SpO2 above 127 cannot be sent).
    public func encoded() -> [UInt8] {
        let byte0 =
            0x80 | signalStrength & 0x0F | (fingerOut ? 0x10 : 0) | (spo2Dropping ? 0x20 : 0) | (beep ? 0x40 : 0)
        let byte2 =
            bargraph & 0x0F | (probeError ? 0x10 : 0) | (searching ? 0x20 : 0) | (pulseRate & 0x80) >> 1
        return [byte0, pleth & 0x7F, byte2, pulseRate & 0x7F, spo2 & 0x7F]
    }

    func reading(profile: String) -> DecodedReading {
        var status: [String] = []
        if fingerOut { status.append("fingerOut") }
        if spo2Dropping { status.append("spo2Dropping") }
        if probeError { status.append("probeError") }
        if searching { status.append("searching") }
        if beep { status.append("pulseBeep") }
        return DecodedReading(
            profile: profile,
            kind: .oxygenSaturation,
            values: [
                vendorValue(spo2, invalid: 127, .spo2, .percent),
                vendorValue(pulseRate, invalid: 255, .pulseOximetryPulseRate, .perMinute),
            ],
            status: status,
            fields: [
                .init("signalStrength", .int(signalStrength)), .init("fingerOut", .flag(fingerOut)),
                .init("spo2Dropping", .flag(spo2Dropping)), .init("beep", .flag(beep)), .init("pleth", .int(pleth)),
                .init("bargraph", .int(bargraph)), .init("probeError", .flag(probeError)),
                .init("searching", .flag(searching)), .init("pulseRate", .int(pulseRate)), .init("spo2", .int(spo2)),
            ]
        )
    }
}

/// An integer vendor reading with its "no reading" marker turned into an absent value.
func vendorValue(_ raw: UInt8, invalid: UInt8, _ code: MDCCode, _ unit: UCUMUnit) -> ObservedValue {
    raw == invalid
        ? ObservedValue(code: code, number: nil, unit: unit, absentReason: .invalid)
        : ObservedValue(code: code, number: DecimalNumber(Int(raw)), unit: unit)
}

/// Contec CMS50D+ live frame (kind `cms50`).
public struct ContecCMS50Live: PayloadDecoder, Hashable {
    public static let profile = "cms50-live"

    public var frame: OximeterFiveByteFrame

    public init(frame: OximeterFiveByteFrame) { self.frame = frame }

    public init(bytes: [UInt8]) throws(DecodeError) { frame = try OximeterFiveByteFrame(bytes: bytes) }

    public func encoded() -> [UInt8] { frame.encoded() }

    public var reading: DecodedReading { frame.reading(profile: Self.profile) }
}

/// Contec CMS50D+ recorded data point (kind `cms50-recorded`): 3 bytes per second of memory.
/// Byte 0 is 0xF0 | pulse bit 7; byte 1 has bit 7 set and pulse bits 0-6; byte 2 is SpO2 (bit 7 clear).
public struct ContecCMS50Recorded: PayloadDecoder, Hashable {
    public static let profile = "cms50-recorded"

    public var pulseRate: UInt8
    public var spo2: UInt8

    public init(pulseRate: UInt8, spo2: UInt8) {
        self.pulseRate = pulseRate
        self.spo2 = spo2
    }

    public init(bytes: [UInt8]) throws(DecodeError) {
        var reader = ByteReader(bytes)
        let byte0 = try reader.u8("marker")
        guard byte0 & 0xFE == 0xF0 else {
            throw DecodeError(field: "marker", offset: 0, reason: .badMarker(UInt64(byte0)))
        }
        let byte1 = try reader.u8("pulseRate")
        guard byte1 & 0x80 != 0 else {
            throw DecodeError(field: "pulseRate", offset: 1, reason: .badMarker(UInt64(byte1)))
        }
        let byte2 = try reader.u8("spo2")
        guard byte2 & 0x80 == 0 else { throw DecodeError(field: "spo2", offset: 2, reason: .badMarker(UInt64(byte2))) }
        try reader.finish()
        pulseRate = byte1 & 0x7F | (byte0 & 0x01) << 7
        spo2 = byte2
    }

    public func encoded() -> [UInt8] { [0xF0 | pulseRate >> 7, 0x80 | pulseRate & 0x7F, spo2 & 0x7F] }

    public var reading: DecodedReading {
        DecodedReading(
            profile: Self.profile,
            kind: .oxygenSaturation,
            values: [
                vendorValue(spo2, invalid: 127, .spo2, .percent),
                vendorValue(pulseRate, invalid: 255, .pulseOximetryPulseRate, .perMinute),
            ],
            fields: [.init("pulseRate", .int(pulseRate)), .init("spo2", .int(spo2))],
            origin: .stored
        )
    }
}
