/// Intermediate Cuff Pressure (0x2A36): the Blood Pressure Measurement layout where the systolic slot carries
/// the current cuff pressure and the diastolic and mean slots are unused.
public struct IntermediateCuffPressure: PayloadDecoder, Hashable {
    public static let profile = "intermediate-cuff-pressure"

    /// The decoded layout; `systolic` is the cuff pressure.
    public var fields: BloodPressureMeasurement

    public var cuffPressure: MDERFloat { fields.systolic }

    public init(fields: BloodPressureMeasurement) {
        self.fields = fields
    }

    public init(bytes: [UInt8]) throws(DecodeError) {
        fields = try BloodPressureMeasurement(bytes: bytes, names: ("cuffPressure", "unused1", "unused2"))
    }

    public func encoded() throws(EncodeError) -> [UInt8] { try fields.encoded() }

    public var reading: DecodedReading {
        var values = [cuffPressure.observed(.cuffPressure, fields.unit.ucum)]
        if let pulseRate = fields.pulseRate { values.append(pulseRate.observed(.pulseRateNonInvasive, .perMinute)) }
        return DecodedReading(
            profile: Self.profile,
            kind: .cuffPressure,
            values: values,
            status: fields.status?.names ?? [],
            deviceTime: fields.timestamp,
            fields: fields.commonFields([.init("cuffPressure", .float(cuffPressure))])
        )
    }
}
