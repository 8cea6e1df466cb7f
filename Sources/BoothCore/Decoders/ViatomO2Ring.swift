/// CRC-8, polynomial 0x07, initial value 0, no reflection (Viatom/Wellue frames).
public enum CRC8 {
    private static let table: [UInt8] = (0..<256).map { index in
        var crc = UInt8(index)
        for _ in 0..<8 { crc = crc & 0x80 != 0 ? (crc << 1) ^ 0x07 : crc << 1 }
        return crc
    }

    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt8 {
        var crc: UInt8 = 0
        for byte in bytes { crc = table[Int(crc ^ byte)] }
        return crc
    }
}

/// Viatom/Wellue O2Ring frame (kind `viatom-frame`), both directions:
/// command `AA cmd ~cmd block(u16) length(u16) payload crc8`, response `55 status ~status block length payload crc8`.
public struct ViatomFrame: PayloadDecoder, Hashable {
    public static let profile = "viatom-frame"
    public static let commandHeader: UInt8 = 0xAA
    public static let responseHeader: UInt8 = 0x55
    /// The "read sensors" command; its response payload is `ViatomSensors`.
    public static let readSensors: UInt8 = 0x17

    /// True for a command (host to ring), false for a response.
    public var isCommand: Bool
    /// Command code, or response status (0 = OK).
    public var code: UInt8
    public var block: UInt16
    public var payload: [UInt8]

    public init(isCommand: Bool, code: UInt8, block: UInt16 = 0, payload: [UInt8] = []) {
        self.isCommand = isCommand
        self.code = code
        self.block = block
        self.payload = payload
    }

    /// Minimum frame size: header, code, complement, block, length, CRC.
    public static let overhead = 8

    public init(bytes: [UInt8]) throws(DecodeError) {
        var reader = ByteReader(bytes)
        let header = try reader.u8("header")
        guard header == Self.commandHeader || header == Self.responseHeader else {
            throw DecodeError(field: "header", offset: 0, reason: .badMarker(UInt64(header)))
        }
        isCommand = header == Self.commandHeader
        code = try reader.u8(isCommand ? "command" : "status")
        let complement = try reader.u8("complement")
        guard complement == ~code else {
            throw DecodeError(field: "complement", offset: 2, reason: .badMarker(UInt64(complement)))
        }
        block = try reader.u16("block")
        let length = Int(try reader.u16("length"))
        payload = try reader.take(length, "payload")
        let expected = CRC8.checksum(bytes[..<reader.offset])
        let crcOffset = reader.offset
        let actual = try reader.u8("crc8")
        guard expected == actual else {
            throw DecodeError(
                field: "crc8",
                offset: crcOffset,
                reason: .badChecksum(expected: UInt64(expected), actual: UInt64(actual))
            )
        }
        try reader.finish()
    }

    public func encoded() throws(EncodeError) -> [UInt8] {
        guard payload.count <= Int(UInt16.max) else {
            throw EncodeError(field: "payload", detail: "\(payload.count) bytes > 65535")
        }
        var writer = ByteWriter()
        writer.u8(isCommand ? Self.commandHeader : Self.responseHeader)
        writer.u8(code)
        writer.u8(~code)
        writer.u16(block)
        writer.u16(UInt16(payload.count))
        writer.append(payload)
        var bytes = writer.bytes
        bytes.append(CRC8.checksum(bytes))
        return bytes
    }

    public var reading: DecodedReading {
        var fields: [DecodedReading.Field] = [
            .init("direction", .text(isCommand ? "command" : "response")),
            .init(isCommand ? "command" : "status", .int(code)), .init("block", .int(block)),
            .init("length", .int(payload.count)), .init("payload", .bytes(payload)),
        ]
        // A successful response of read-sensors size is decoded in place so a pasted capture shows the reading.
        if !isCommand, code == 0, let sensors = try? ViatomSensors(bytes: payload) {
            let inner = sensors.reading
            fields += inner.fields.map { .init("sensors.\($0.name)", $0.value) }
            return DecodedReading(
                profile: Self.profile,
                kind: inner.kind,
                values: inner.values,
                status: inner.status,
                fields: fields
            )
        }
        return DecodedReading(profile: Self.profile, kind: nil, fields: fields)
    }
}

/// Payload of the O2Ring read-sensors (0x17) response (kind `viatom-sensors`), 13 bytes:
/// 0 SpO2, 1 pulse rate, 2-6 reserved, 7 battery %, 8 charging, 9 motion, 10 pulse strength, 11 finger present,
/// 12 reserved. Without a finger, and for SpO2/pulse 0xFF, there is no reading.
public struct ViatomSensors: PayloadDecoder, Hashable {
    public static let profile = "viatom-sensors"
    public static let size = 13

    public var spo2: UInt8
    public var pulseRate: UInt8
    public var battery: UInt8
    public var charging: UInt8
    public var motion: UInt8
    public var pulseStrength: UInt8
    public var fingerPresent: Bool
    /// The undocumented bytes (2-6 and 12), kept for the encoder and raw display.
    public var reserved: [UInt8]

    public init(
        spo2: UInt8,
        pulseRate: UInt8,
        battery: UInt8,
        charging: UInt8 = 0,
        motion: UInt8 = 0,
        pulseStrength: UInt8 = 0,
        fingerPresent: Bool = true
    ) {
        self.spo2 = spo2
        self.pulseRate = pulseRate
        self.battery = battery
        self.charging = charging
        self.motion = motion
        self.pulseStrength = pulseStrength
        self.fingerPresent = fingerPresent
        self.reserved = [0, 0, 0, 0, 0, 0]
    }

    public init(bytes: [UInt8]) throws(DecodeError) {
        var reader = ByteReader(bytes)
        spo2 = try reader.u8("spo2")
        pulseRate = try reader.u8("pulseRate")
        var reserved = try reader.take(5, "reserved")
        battery = try reader.u8("battery")
        guard battery <= 100 else { throw ByteReader.reserved("battery", at: 7, battery) }
        charging = try reader.u8("charging")
        motion = try reader.u8("motion")
        pulseStrength = try reader.u8("pulseStrength")
        let finger = try reader.u8("fingerPresent")
        guard finger <= 1 else { throw ByteReader.reserved("fingerPresent", at: 11, finger) }
        fingerPresent = finger == 1
        reserved.append(try reader.u8("reserved12"))
        self.reserved = reserved
        try reader.finish()
    }

    public func encoded() -> [UInt8] {
        let padding = reserved.count == 6 ? reserved : [0, 0, 0, 0, 0, 0]
        return [spo2, pulseRate] + padding[0..<5]
            + [battery, charging, motion, pulseStrength, fingerPresent ? 1 : 0, padding[5]]
    }

    public var reading: DecodedReading {
        func value(_ raw: UInt8, _ code: MDCCode, _ unit: UCUMUnit) -> ObservedValue {
            guard fingerPresent, raw != 0xFF, raw != 0 else {
                return ObservedValue(code: code, number: nil, unit: unit, absentReason: .invalid)
            }
            return ObservedValue(code: code, number: DecimalNumber(Int(raw)), unit: unit)
        }
        var status: [String] = fingerPresent ? [] : ["fingerOut"]
        if charging != 0 { status.append("charging") }
        return DecodedReading(
            profile: Self.profile,
            kind: .oxygenSaturation,
            values: [value(spo2, .spo2, .percent), value(pulseRate, .pulseOximetryPulseRate, .perMinute)],
            status: status,
            fields: [
                .init("spo2", .int(spo2)), .init("pulseRate", .int(pulseRate)), .init("battery", .int(battery)),
                .init("charging", .int(charging)), .init("motion", .int(motion)),
                .init("pulseStrength", .int(pulseStrength)), .init("fingerPresent", .flag(fingerPresent)),
            ]
        )
    }
}
