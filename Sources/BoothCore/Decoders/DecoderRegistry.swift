/// The one table from a kind name (as `boothctl decode` and profiles spell it) to its decoder.
public enum DecoderRegistry {
    /// One registered decoder.
    public struct Entry: Sendable {
        /// CLI kind name: a 16-bit characteristic UUID in uppercase hex (`2A35`) or a frame name (`cms50`).
        public var kind: String
        public var summary: String
        public var decode: @Sendable ([UInt8]) throws(DecodeError) -> DecodedReading

        public init(
            kind: String,
            summary: String,
            decode: @escaping @Sendable ([UInt8]) throws(DecodeError) -> DecodedReading
        ) {
            self.kind = kind
            self.summary = summary
            self.decode = decode
        }
    }

    private static func entry<D: PayloadDecoder>(_ kind: String, _ summary: String, _ type: D.Type) -> Entry {
        Entry(kind: kind, summary: summary) { (bytes: [UInt8]) throws(DecodeError) -> DecodedReading in
            try D(bytes: bytes).reading
        }
    }

    /// Every decoder, in documentation order.
    public static let all: [Entry] = [
        entry("2A5E", "PLX Spot-check Measurement", PLXSpotCheck.self),
        entry("2A5F", "PLX Continuous Measurement", PLXContinuous.self),
        entry("2A60", "PLX Features", PLXFeatures.self),
        entry("2A35", "Blood Pressure Measurement", BloodPressureMeasurement.self),
        entry("2A36", "Intermediate Cuff Pressure", IntermediateCuffPressure.self),
        entry("2A1C", "Temperature Measurement", TemperatureMeasurement.self),
        entry("2A1E", "Intermediate Temperature (Temperature Measurement layout)", TemperatureMeasurement.self),
        entry("2A18", "Glucose Measurement", GlucoseMeasurement.self),
        entry("2A34", "Glucose Measurement Context", GlucoseMeasurementContext.self),
        entry("2A9D", "Weight Measurement", WeightMeasurement.self),
        entry("2A52", "Record Access Control Point (request or response)", RecordAccessControlPoint.self),
        entry("2A19", "Battery Level", BatteryLevel.self),
        entry("2A2B", "Current Time", CurrentTime.self),
        Entry(kind: "2A08", summary: "Date Time") { (bytes: [UInt8]) throws(DecodeError) -> DecodedReading in
            let time = try DateTimeCodec.decode(bytes)
            return DecodedReading(
                profile: "date-time",
                kind: nil,
                deviceTime: time,
                fields: [.init("dateTime", .text(time.description))]
            )
        },
        entry("2A29", "Manufacturer Name String", DeviceInformationString.self),
        entry("2A24", "Model Number String", DeviceInformationString.self),
        entry("2A25", "Serial Number String", DeviceInformationString.self),
        entry("2A27", "Hardware Revision String", DeviceInformationString.self),
        entry("2A26", "Firmware Revision String", DeviceInformationString.self),
        entry("2A28", "Software Revision String", DeviceInformationString.self),
        entry("sfloat", "IEEE 11073 SFLOAT (2 bytes LE)", SFloatValue.self),
        entry("float", "IEEE 11073 FLOAT (4 bytes LE)", FloatValue.self),
        entry("cms50", "Contec CMS50D+ live frame (5 bytes)", ContecCMS50Live.self),
        entry("cms50-recorded", "Contec CMS50D+ recorded point (3 bytes)", ContecCMS50Recorded.self),
        entry("berrymed", "BerryMed BCI frame (5 bytes)", BerryMedBCI.self),
        entry("jumper", "Jumper JPD-500F oximeter frame (0x81)", JumperOximeter.self),
        entry("jumper-bp", "Jumper JPD-HA120 blood pressure result (FD FD FC ...)", JumperBloodPressure.self),
        entry("yuwell", "Yuwell YX110 oximeter notification (FE ...)", YuwellYX110.self),
        entry("viatom-frame", "Viatom/Wellue O2Ring command or response frame", ViatomFrame.self),
        entry("viatom-sensors", "Viatom/Wellue O2Ring read-sensors payload (13 bytes)", ViatomSensors.self),
    ]

    /// The entry for `kind`: case-insensitive, and `0x2a35` is accepted for `2A35`.
    public static func entry(_ kind: String) -> Entry? {
        var key = kind.lowercased()
        if key.hasPrefix("0x") { key.removeFirst(2) }
        return all.first { $0.kind.lowercased() == key }
    }

    /// Decodes `bytes` as `kind`; nil when the kind is unknown.
    public static func decode(_ kind: String, _ bytes: [UInt8]) throws(DecodeError) -> DecodedReading? {
        guard let entry = entry(kind) else { return nil }
        return try entry.decode(bytes)
    }
}
