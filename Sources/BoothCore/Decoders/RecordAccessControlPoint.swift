/// Record Access Control Point (0x2A52): requests the booth writes and the responses the device indicates,
/// including the Omron vendor opcodes (0x10 "latest sequence number" request, 0x11 its response) and the
/// Omron sequence-number filter type 0x04.
public struct RecordAccessControlPoint: PayloadDecoder, Hashable {
    public static let profile = "racp"

    /// Op codes.
    public enum OpCode: UInt8, Sendable, Hashable {
        case reportStoredRecords = 0x01
        case deleteStoredRecords = 0x02
        case abortOperation = 0x03
        case reportNumberOfStoredRecords = 0x04
        case numberOfStoredRecordsResponse = 0x05
        case responseCode = 0x06
        /// Omron vendor: ask for the sequence number of the latest record.
        case omronReportLatestSequenceNumber = 0x10
        /// Omron vendor: the sequence number of the latest record (u16).
        case omronLatestSequenceNumberResponse = 0x11
    }

    /// Operators.
    public enum Operator: UInt8, Sendable, Hashable {
        case null = 0x00
        case allRecords = 0x01
        case lessThanOrEqual = 0x02
        case greaterThanOrEqual = 0x03
        case withinRange = 0x04
        case firstRecord = 0x05
        case lastRecord = 0x06
    }

    /// Response codes (operand byte 2 of `responseCode`).
    public static let responseCodeNames: [UInt8: String] = [
        0x01: "success", 0x02: "opCodeNotSupported", 0x03: "invalidOperator", 0x04: "operatorNotSupported",
        0x05: "invalidOperand", 0x06: "noRecordsFound", 0x07: "abortUnsuccessful", 0x08: "procedureNotCompleted",
        0x09: "operandNotSupported",
    ]

    public var opCode: OpCode
    public var `operator`: Operator
    public var operand: [UInt8]

    public init(opCode: OpCode, operator: Operator, operand: [UInt8] = []) {
        self.opCode = opCode
        self.operator = `operator`
        self.operand = operand
    }

    /// For `responseCode`: the request op code and the result.
    public var response: (requestOpCode: UInt8, code: UInt8)? {
        guard opCode == .responseCode, operand.count == 2 else { return nil }
        return (operand[0], operand[1])
    }

    /// For `numberOfStoredRecordsResponse` and the Omron latest-sequence response: the u16 operand.
    public var count: UInt16? {
        guard opCode == .numberOfStoredRecordsResponse || opCode == .omronLatestSequenceNumberResponse,
            operand.count == 2
        else { return nil }
        return UInt16(operand[0]) | UInt16(operand[1]) << 8
    }

    public init(bytes: [UInt8]) throws(DecodeError) {
        var reader = ByteReader(bytes)
        let rawOpCode = try reader.u8("opCode")
        guard let opCode = OpCode(rawValue: rawOpCode) else { throw ByteReader.reserved("opCode", at: 0, rawOpCode) }
        let rawOperator = try reader.u8("operator")
        guard let op = Operator(rawValue: rawOperator) else {
            throw ByteReader.reserved("operator", at: 1, rawOperator)
        }
        self.opCode = opCode
        self.operator = op
        let operandStart = reader.offset
        switch opCode {
        case .numberOfStoredRecordsResponse, .omronLatestSequenceNumberResponse:
            try Self.expect(op == .null, "operator", 1, rawOperator)
            _ = try reader.u16("numberOfRecords")
        case .responseCode:
            try Self.expect(op == .null, "operator", 1, rawOperator)
            _ = try reader.u8("requestOpCode")
            let codeOffset = reader.offset
            let code = try reader.u8("responseCodeValue")
            try Self.expect(Self.responseCodeNames[code] != nil, "responseCodeValue", codeOffset, code)
        case .abortOperation, .omronReportLatestSequenceNumber:
            try Self.expect(op == .null, "operator", 1, rawOperator)
        case .reportStoredRecords, .deleteStoredRecords, .reportNumberOfStoredRecords:
            try Self.expect(op != .null, "operator", 1, rawOperator)
            switch op {
            case .lessThanOrEqual, .greaterThanOrEqual: try Self.readFilter(&reader, values: 1)
            case .withinRange: try Self.readFilter(&reader, values: 2)
            default: break
            }
        }
        try reader.finish()
        operand = Array(bytes[operandStart...])
    }

    private static func expect(_ condition: Bool, _ field: String, _ offset: Int, _ value: UInt8) throws(DecodeError) {
        guard condition else { throw ByteReader.reserved(field, at: offset, value) }
    }

    /// Filter type then one or two values: 0x01 sequence number (u16), 0x02 user facing time (Date Time),
    /// 0x04 Omron sequence number (u16).
    private static func readFilter(_ reader: inout ByteReader, values: Int) throws(DecodeError) {
        let offset = reader.offset
        let filterType = try reader.u8("filterType")
        for index in 0..<values {
            switch filterType {
            case 0x01, 0x04: _ = try reader.u16(index == 0 ? "filterValue" : "filterValueMax")
            case 0x02: _ = try reader.dateTime(index == 0 ? "filterValue" : "filterValueMax")
            default: throw ByteReader.reserved("filterType", at: offset, filterType)
            }
        }
    }

    public func encoded() -> [UInt8] { [opCode.rawValue, `operator`.rawValue] + operand }

    /// Request: report all stored records.
    public static let reportAll = RecordAccessControlPoint(opCode: .reportStoredRecords, operator: .allRecords)

    /// Request: report records with sequence number >= `sequence` (filter type 0x01, or Omron's 0x04).
    public static func reportFrom(sequence: UInt16, omron: Bool = false) -> RecordAccessControlPoint {
        RecordAccessControlPoint(
            opCode: .reportStoredRecords,
            operator: .greaterThanOrEqual,
            operand: [omron ? 0x04 : 0x01, UInt8(sequence & 0xFF), UInt8(sequence >> 8)]
        )
    }

    public var reading: DecodedReading {
        var fields: [DecodedReading.Field] = [
            .init("opCode", .int(opCode.rawValue)), .init("opCodeName", .text("\(opCode)")),
            .init("operator", .int(`operator`.rawValue)), .init("operatorName", .text("\(`operator`)")),
            .init("operand", .bytes(operand)),
        ]
        if let response {
            fields.append(.init("requestOpCode", .int(response.requestOpCode)))
            fields.append(.init("responseCode", .int(response.code)))
            fields.append(.init("responseCodeName", .text(Self.responseCodeNames[response.code] ?? "reserved")))
        }
        if let count {
            fields.append(
                .init(
                    opCode == .numberOfStoredRecordsResponse ? "numberOfRecords" : "latestSequenceNumber",
                    .int(count)
                )
            )
        }
        return DecodedReading(profile: Self.profile, kind: nil, fields: fields)
    }
}
