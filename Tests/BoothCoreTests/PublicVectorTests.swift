import BoothCore
import Testing

/// Every vector of `Vectors/public-vectors.json`, decoded and checked field by field.
@Suite struct PublicVectorTests {
    /// The decoder kind for each vector profile.
    static func kind(_ profile: String) -> String? {
        let table: [(String, String)] = [
            ("plx_continuous_0x2A5F", "2A5F"), ("plx_spot_check_0x2A5E", "2A5E"), ("plx_features_0x2A60", "2A60"),
            ("bp_measurement_0x2A35", "2A35"), ("intermediate_cuff_pressure_0x2A36", "2A36"),
            ("temperature_measurement_0x2A1C", "2A1C"), ("glucose_measurement_0x2A18", "2A18"),
            ("weight_measurement_0x2A9D", "2A9D"), ("racp_0x2A52", "2A52"), ("sfloat", "sfloat"),
            ("float32", "float"), ("contec_cms50dplus_live", "cms50"),
            ("contec_cms50dplus_recorded", "cms50-recorded"), ("berrymed_bci", "berrymed"),
            ("jumper_jpd500f", "jumper"), ("jumper_jpd_ha120_bp", "jumper-bp"), ("yuwell_yx110", "yuwell"),
            ("viatom_o2ring_read_sensors_payload", "viatom-sensors"), ("viatom_o2ring_command_frame", "viatom-frame"),
            ("viatom_o2ring_response_frame", "viatom-frame"),
        ]
        return table.first { profile.hasPrefix($0.0) }?.1
    }

    @Test func everyProfileHasADecoder() throws {
        for vector in try LooseVector.all() {
            let kind = try #require(Self.kind(vector.profile), "\(vector.profile)")
            #expect(DecoderRegistry.entry(kind) != nil, "\(kind)")
        }
    }

    @Test(arguments: try LooseVector.all().filter { !$0.isInvalid })
    func decodesExactly(_ vector: LooseVector) throws {
        let sheet = ExpectationSheet(vector)
        try check(vector, sheet)
        sheet.expectAllChecked()
        // The registry path (what boothctl uses) agrees with the typed decoder.
        let kind = try #require(Self.kind(vector.profile))
        #expect(try DecoderRegistry.decode(kind, vector.bytes) != nil)
    }

    @Test(arguments: try LooseVector.all().filter(\.isInvalid))
    func rejectsInvalid(_ vector: LooseVector) throws {
        let kind = try #require(Self.kind(vector.profile))
        let error = try #require(throws: DecodeError.self) { try DecoderRegistry.decode(kind, vector.bytes) }
        #expect(error.reasonName == "truncated", "\(vector): \(error)")
        let field: String =
            switch kind {
            case "2A35": "timestamp"
            case "2A1C": "temperatureType"
            default: "sensorStatusAnnunciation"
            }
        #expect(error.field == field, "\(vector): \(error)")
    }

    func check(_ vector: LooseVector, _ sheet: ExpectationSheet) throws {
        let bytes = vector.bytes
        switch Self.kind(vector.profile) {
        case "2A5F":
            let decoded = try PLXContinuous(bytes: bytes)
            sheet.int("flags", decoded.flags)
            sheet.number("spo2", decoded.normal.spo2.number)
            sheet.number("pulse_rate", decoded.normal.pulseRate.number)
            if vector.expected["measurement_status"] != nil {
                sheet.int("measurement_status", decoded.measurementStatus)
                sheet.int("device_sensor_status", decoded.deviceSensorStatus)
                sheet.number("pulse_amplitude_index", decoded.pulseAmplitudeIndex?.number)
                sheet.strings("_status_names", decoded.reading.status)
            }
            #expect(try decoded.encoded() == bytes)
        case "2A5E":
            let decoded = try PLXSpotCheck(bytes: bytes)
            sheet.int("flags", decoded.flags)
            sheet.number("spo2", decoded.spo2.number)
            sheet.number("pulse_rate", decoded.pulseRate.number)
            sheet.text("timestamp", decoded.timestamp?.description)
            sheet.int("measurement_status", decoded.measurementStatus)
            sheet.int("device_sensor_status", decoded.deviceSensorStatus)
            sheet.number("pulse_amplitude_index", decoded.pulseAmplitudeIndex?.number)
            sheet.strings("_status_names", PLXStatus.names(measurement: decoded.measurementStatus))
            sheet.strings("_device_status_names", PLXStatus.names(device: decoded.deviceSensorStatus))
            #expect(try decoded.encoded() == bytes)
        case "2A60":
            let decoded = try PLXFeatures(bytes: bytes)
            sheet.int("supported_features", decoded.supportedFeatures)
            sheet.int("measurement_status_support", decoded.measurementStatusSupport)
            sheet.int("device_sensor_status_support", decoded.deviceSensorStatusSupport)
            // The vector lists names in its own order; ours follow the bit order.
            sheet.strings("_names", decoded.names.sorted(), sortExpected: true)
            #expect(decoded.encoded() == bytes)
        case "2A35":
            let decoded = try BloodPressureMeasurement(bytes: bytes)
            sheet.text("unit", decoded.unit.rawValue)
            sheet.number("systolic", decoded.systolic.number)
            sheet.number("diastolic", decoded.diastolic.number)
            sheet.number("mean_arterial_pressure", decoded.meanArterialPressure.number)
            if vector.expected["timestamp"] != nil {
                sheet.text("timestamp", decoded.timestamp?.description)
                sheet.number("pulse_rate", decoded.pulseRate?.number)
                sheet.int("user_id", decoded.userID)
                sheet.int("measurement_status", decoded.status?.rawValue)
                // bits 0,1,2,5 set; pulse-rate range bits 3-4 = 00 (within range).
                #expect(
                    decoded.status?.names == [
                        "bodyMovement", "cuffTooLoose", "irregularPulse", "improperMeasurementPosition",
                    ]
                )
                #expect(decoded.status?.pulseRateRange == 0)
                #expect(decoded.reading.clockUnset)
            }
            #expect(try decoded.encoded() == bytes)
        case "2A36":
            let decoded = try IntermediateCuffPressure(bytes: bytes)
            sheet.text("unit", decoded.fields.unit.rawValue)
            sheet.number("cuff_pressure", decoded.cuffPressure.number)
            if vector.expected["timestamp"] != nil {
                sheet.text("timestamp", decoded.fields.timestamp?.description)
                sheet.number("pulse_rate", decoded.fields.pulseRate?.number)
                sheet.int("user_id", decoded.fields.userID)
                sheet.int("measurement_status", decoded.fields.status?.rawValue)
            }
            #expect(decoded.reading.kind == .cuffPressure)
            #expect(try decoded.encoded() == bytes)
        case "2A1C":
            let decoded = try TemperatureMeasurement(bytes: bytes)
            sheet.text("unit", decoded.fahrenheit ? "Fahrenheit" : "Celsius")
            sheet.number("temperature", decoded.temperature.number)
            #expect(decoded.temperature.number?.description == "37.60")
            sheet.text("timestamp", decoded.timestamp?.description)
            sheet.int("temperature_type", decoded.temperatureType)
            sheet.text("_type_name", decoded.typeName)
            #expect(try decoded.encoded() == bytes)
        case "2A18":
            let decoded = try GlucoseMeasurement(bytes: bytes)
            sheet.int("sequence_number", decoded.sequenceNumber)
            sheet.text("base_time", decoded.baseTime.description)
            sheet.int("time_offset_min", decoded.timeOffsetMinutes)
            sheet.number("concentration", decoded.concentration?.number)
            sheet.text("concentration_unit", decoded.molPerLitre ? "mol/L" : "kg/L")
            sheet.int("type", decoded.type)
            sheet.int("sample_location", decoded.sampleLocation)
            sheet.int("sensor_status_annunciation", decoded.sensorStatusAnnunciation)
            sheet.flag("context_follows", decoded.contextFollows)
            sheet.text("_effective_time", decoded.effectiveTime.description)
            #expect(
                decoded.reading.status == ["deviceBatteryLow", "sampleSizeInsufficient", "sensorTemperatureTooLow"]
            )
            #expect(decoded.reading.field("typeName") == .text("capillaryPlasma"))
            #expect(decoded.reading.field("sampleLocationName") == .text("finger"))
            #expect(decoded.reading.values.first?.unit == .kgPerLitre)
            #expect(try decoded.encoded() == bytes)
        case "2A9D":
            let decoded = try WeightMeasurement(bytes: bytes)
            sheet.number("weight", decoded.weight)
            if vector.expected["weight_unit"] != nil { sheet.text("weight_unit", decoded.imperial ? "lb" : "kg") }
            if vector.expected["timestamp"] != nil { sheet.text("timestamp", decoded.timestamp?.description) }
            if vector.expected["user_id"] != nil { sheet.int("user_id", decoded.userID) }
            #expect(try decoded.encoded() == bytes)
        case "2A52":
            let decoded = try RecordAccessControlPoint(bytes: bytes)
            sheet.int("opcode", decoded.opCode.rawValue)
            sheet.int("operator", decoded.operator.rawValue)
            sheet.ints("operand", decoded.operand)
            if let count = vector.expected["_number_of_records"]?.double { #expect(decoded.count == UInt16(count)) }
            #expect(decoded.encoded() == bytes)
        case "sfloat", "float":
            let value =
                vector.profile.hasPrefix("sfloat")
                ? try SFloatValue(bytes: bytes).value : try FloatValue(bytes: bytes).value
            if let reason = vector.expected["fhir_dataAbsentReason"]?.string {
                sheet.text("fhir_dataAbsentReason", value.absentReason?.fhirCode)
                sheet.text("value", value.description == "reserved" ? "RFU" : value.description)
                #expect(value.number == nil, "\(reason)")
            } else {
                sheet.number("value", value.number)
                if vector.expected["fhir_decimal"] != nil { sheet.text("fhir_decimal", value.number?.description) }
            }
            let reencoded =
                vector.profile.hasPrefix("sfloat")
                ? try SFloatValue(value: value).encoded() : try FloatValue(value: value).encoded()
            #expect(reencoded == bytes)
        case "cms50", "berrymed":
            let frame = try OximeterFiveByteFrame(bytes: bytes)
            if vector.expected["pulse_rate"] != nil { sheet.int("pulse_rate", frame.pulseRate) }
            if vector.expected["spo2"] != nil { sheet.int("spo2", frame.spo2) }
            if vector.expected["signal_strength"] != nil { sheet.int("signal_strength", frame.signalStrength) }
            if vector.expected["beep"] != nil { sheet.flag("beep", frame.beep) }
            if vector.expected["searching"] != nil { sheet.flag("searching", frame.searching) }
            if vector.expected["pleth"] != nil { sheet.int("pleth", frame.pleth) }
            if vector.expected["bargraph"] != nil { sheet.int("bargraph", frame.bargraph) }
            if vector.profile.hasSuffix("_invalid_values") {
                let reading = try BerryMedBCI(bytes: bytes).reading
                #expect(reading.value(.spo2)?.number == nil)
                #expect(reading.value(.spo2)?.absentReason == .invalid)
                #expect(reading.value(.pulseOximetryPulseRate)?.number == nil)
            }
            #expect(frame.encoded() == bytes)
        case "cms50-recorded":
            let decoded = try ContecCMS50Recorded(bytes: bytes)
            sheet.int("pulse_rate", decoded.pulseRate)
            sheet.int("spo2", decoded.spo2)
            #expect(decoded.encoded() == bytes)
        case "jumper":
            let decoded = try JumperOximeter(bytes: bytes)
            sheet.int("pulse_rate", decoded.pulseRate)
            sheet.int("spo2", decoded.spo2)
            sheet.int("perfusion_index_raw", decoded.perfusionIndexRaw)
            #expect(decoded.reading.value(.perfusionIndex)?.number?.description == "6.8")
            #expect(decoded.encoded() == bytes)
        case "jumper-bp":
            let decoded = try JumperBloodPressure(bytes: bytes)
            sheet.int("systolic", decoded.systolic)
            sheet.int("diastolic", decoded.diastolic)
            sheet.int("pulse_rate", decoded.pulseRate)
            #expect(decoded.encoded() == bytes)
        case "yuwell":
            let decoded = try YuwellYX110(bytes: bytes)
            sheet.int("pulse_rate", decoded.pulseRate)
            sheet.int("spo2", decoded.spo2)
            #expect(decoded.encoded() == bytes)
        case "viatom-sensors":
            let decoded = try ViatomSensors(bytes: bytes)
            sheet.int("spo2", decoded.spo2)
            sheet.int("pulse_rate", decoded.pulseRate)
            sheet.int("battery", decoded.battery)
            sheet.int("charging", decoded.charging)
            sheet.int("motion", decoded.motion)
            sheet.int("pulse_strength", decoded.pulseStrength)
            sheet.flag("finger_present", decoded.fingerPresent)
            #expect(decoded.encoded() == bytes)
        case "viatom-frame":
            let decoded = try ViatomFrame(bytes: bytes)
            sheet.int("crc8", bytes.last)
            if decoded.isCommand {
                sheet.int("header", bytes[0])
                sheet.int("cmd", decoded.code)
                sheet.int("cmd_complement", ~decoded.code)
                sheet.int("block", decoded.block)
                sheet.int("length", decoded.payload.count)
            } else {
                let sensors = try ViatomSensors(bytes: decoded.payload)
                sheet.int("spo2", sensors.spo2)
                sheet.int("pulse_rate", sensors.pulseRate)
                #expect(decoded.reading.value(.spo2)?.number == DecimalNumber(98))
            }
            #expect(try decoded.encoded() == bytes)
        default:
            Issue.record("no decoder for \(vector.profile)")
        }
    }
}
