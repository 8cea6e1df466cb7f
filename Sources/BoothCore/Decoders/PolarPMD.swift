/// Polar Measurement Data (PMD) service, as published by Polar (polar-ble-sdk technical documentation,
/// "Polar Measurement Data Specification" and "Time system explained"). Only the ECG stream of the H10 is used.
///
/// - Control point `fb005c81-…` (write with response, indications): request = op code, measurement type, then
///   settings as (setting type, count, uint16 values…). Response = 0xF0, op code, measurement type, error code,
///   more-frames flag, parameters.
/// - Data `fb005c82-…` (notifications): measurement type (0 = ECG), uint64 timestamp (ns since 2000-01-01T00:00:00
///   on the sensor clock, time of the LAST sample of the frame), frame type (0 = ECG, 3-byte samples), then signed
///   24-bit little-endian samples in microvolts.
public enum PolarPMD {
    // The literals are valid 128-bit UUIDs, so the `?? GATTUUID(0)` fallbacks are never taken.
    public static let service = GATTUUID(string: "fb005c80-02e7-f387-1cad-8acd2d8df0c8") ?? GATTUUID(0)
    public static let controlPoint = GATTUUID(string: "fb005c81-02e7-f387-1cad-8acd2d8df0c8") ?? GATTUUID(0)
    public static let data = GATTUUID(string: "fb005c82-02e7-f387-1cad-8acd2d8df0c8") ?? GATTUUID(0)

    /// Seconds from the Unix epoch to the Polar epoch (2000-01-01T00:00:00Z).
    public static let epochOffsetSeconds: Int64 = 946_684_800

    /// The H10's native (and only) ECG rate and resolution.
    public static let h10ECGSampleRate: UInt16 = 130
    public static let h10ECGResolutionBits: UInt16 = 14

    public enum OpCode: UInt8, Sendable, Hashable, Codable {
        case getMeasurementSettings = 0x01
        case startMeasurement = 0x02
        case stopMeasurement = 0x03
    }

    public enum MeasurementType: UInt8, Sendable, Hashable, Codable {
        case ecg = 0x00
        case ppg = 0x01
        case acc = 0x02
        case ppi = 0x03
        case gyro = 0x05
        case mag = 0x06
    }

    /// Setting types inside control-point requests and responses.
    public enum SettingType: UInt8, Sendable, Hashable, Codable {
        case sampleRate = 0x00
        case resolution = 0x01
        case range = 0x02
    }

    /// Control point request that starts ECG at `sampleRate` Hz and `resolution` bits.
    public static func startECG(
        sampleRate: UInt16 = h10ECGSampleRate,
        resolution: UInt16 = h10ECGResolutionBits
    ) -> [UInt8] {
        [
            OpCode.startMeasurement.rawValue, MeasurementType.ecg.rawValue,
            SettingType.sampleRate.rawValue, 0x01, UInt8(truncatingIfNeeded: sampleRate),
            UInt8(truncatingIfNeeded: sampleRate >> 8),
            SettingType.resolution.rawValue, 0x01, UInt8(truncatingIfNeeded: resolution),
            UInt8(truncatingIfNeeded: resolution >> 8),
        ]
    }

    /// Control point request that stops the ECG stream.
    public static let stopECG: [UInt8] = [OpCode.stopMeasurement.rawValue, MeasurementType.ecg.rawValue]

    /// Control point request asking which ECG settings the sensor supports.
    public static let getECGSettings: [UInt8] = [OpCode.getMeasurementSettings.rawValue, MeasurementType.ecg.rawValue]
}

/// A control point response (indication on `fb005c81-…`).
public struct PolarPMDControlResponse: PayloadDecoder, Hashable, Codable {
    public static let profile = "polar-pmd-control"

    public var opCode: UInt8
    public var measurementType: UInt8
    /// 0 = success; other codes are the sensor's refusal reason (see `errorName`).
    public var errorCode: UInt8
    public var moreFrames: Bool
    /// Bytes after the more-frames flag (settings for a get-settings response).
    public var parameters: [UInt8]

    public var isSuccess: Bool { errorCode == 0 }

    /// Names of the documented error codes.
    public var errorName: String {
        switch errorCode {
        case 0: "success"
        case 1: "invalid op code"
        case 2: "invalid measurement type"
        case 3: "not supported"
        case 4: "invalid length"
        case 5: "invalid parameter"
        case 6: "already in state"
        case 7: "invalid resolution"
        case 8: "invalid sample rate"
        case 9: "invalid range"
        case 10: "invalid MTU"
        case 11: "invalid number of channels"
        case 12: "invalid state"
        case 13: "device in charger"
        default: "unknown error \(errorCode)"
        }
    }

    public init(opCode: UInt8, measurementType: UInt8, errorCode: UInt8, moreFrames: Bool, parameters: [UInt8]) {
        self.opCode = opCode
        self.measurementType = measurementType
        self.errorCode = errorCode
        self.moreFrames = moreFrames
        self.parameters = parameters
    }

    /// Decodes a response. Error responses may stop after the error code; success responses carry more-frames.
    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> PolarPMDControlResponse {
        try PolarPMDControlResponse(bytes: bytes)
    }

    public init(bytes: [UInt8]) throws(DecodeError) {
        var reader = ByteReader(bytes)
        let marker = try reader.u8("responseCode")
        guard marker == 0xF0 else {
            throw DecodeError(field: "responseCode", offset: 0, reason: .badMarker(UInt64(marker)))
        }
        opCode = try reader.u8("opCode")
        measurementType = try reader.u8("measurementType")
        errorCode = try reader.u8("errorCode")
        moreFrames = false
        parameters = []
        if reader.remaining > 0 {
            moreFrames = try reader.u8("moreFrames") != 0
            parameters = reader.rest()
        }
    }

    public var reading: DecodedReading {
        DecodedReading(
            profile: Self.profile,
            kind: nil,
            fields: [
                .init("opCode", .int(opCode)), .init("measurementType", .int(measurementType)),
                .init("errorCode", .int(errorCode)), .init("error", .text(errorName)),
                .init("moreFrames", .flag(moreFrames)), .init("parameters", .bytes(parameters)),
            ]
        )
    }
}

/// One ECG data notification from the PMD data characteristic.
public struct PolarPMDECGFrame: PayloadDecoder, Hashable, Codable {
    public static let profile = "polar-pmd-ecg"

    /// Sensor time of the last sample, nanoseconds since 2000-01-01T00:00:00.
    public var timestampNanos: UInt64
    /// Samples in microvolts, oldest first.
    public var microvolts: [Int32]

    public init(timestampNanos: UInt64, microvolts: [Int32]) {
        self.timestampNanos = timestampNanos
        self.microvolts = microvolts
    }

    /// Header size: type (1) + timestamp (8) + frame type (1).
    public static let headerSize = 10

    /// Decodes one notification byte-exactly. Non-ECG measurement types, compressed or unknown frame types, a
    /// frame without samples and a sample area that is not a whole number of 3-byte samples are errors.
    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> PolarPMDECGFrame {
        try PolarPMDECGFrame(bytes: bytes)
    }

    public init(bytes: [UInt8]) throws(DecodeError) {
        var reader = ByteReader(bytes)
        let type = try reader.u8("measurementType")
        guard type == PolarPMD.MeasurementType.ecg.rawValue else {
            throw ByteReader.reserved("measurementType", at: 0, type)
        }
        timestampNanos = try reader.unsigned(8, "timestamp")
        let frameType = try reader.u8("frameType")
        guard frameType == 0x00 else { throw ByteReader.reserved("frameType", at: 9, frameType) }
        try reader.require(3, "sample[0]")
        guard reader.remaining % 3 == 0 else {
            throw DecodeError(
                field: "samples",
                offset: reader.offset,
                reason: .badLength(declared: (reader.remaining / 3 + 1) * 3, actual: reader.remaining)
            )
        }
        var samples: [Int32] = []
        samples.reserveCapacity(reader.remaining / 3)
        while reader.remaining > 0 {
            // int24 little-endian, sign-extended from bit 23.
            let raw = try reader.u24("sample[\(samples.count)]")
            samples.append(Int32(bitPattern: raw << 8) >> 8)
        }
        microvolts = samples
    }

    public var reading: DecodedReading {
        DecodedReading(
            profile: Self.profile,
            kind: nil,
            fields: [
                .init("timestampNs", .int(Int64(bitPattern: timestampNanos))),
                .init("sampleCount", .int(microvolts.count)),
                .init("microvolts", .list(microvolts.map { String($0) })),
            ]
        )
    }

    /// Encodes the frame as the sensor sends it (simulator, tests). Samples outside 24 bits are clamped.
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = [PolarPMD.MeasurementType.ecg.rawValue]
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: timestampNanos >> shift)) }
        bytes.append(0x00)
        for sample in microvolts {
            let clamped = min(max(sample, -8_388_608), 8_388_607)
            for shift in [0, 8, 16] { bytes.append(UInt8(truncatingIfNeeded: clamped >> Int32(shift))) }
        }
        return bytes
    }

    /// Sensor time of the last sample as Unix microseconds (the sensor clock may be unset: it then starts at 2000).
    public var lastSampleUnixMicros: Int64 {
        PolarPMD.epochOffsetSeconds * 1_000_000 + Int64(timestampNanos / 1000)
    }
}
