import BoothCore
import Testing

/// The simulator's path: typed readings → characteristic bytes → decoders.
@Suite struct EncoderTests {
    let time = DeviceTimestamp(year: 2026, month: 11, day: 25, hour: 21, minute: 40, second: 3)

    @Test func plxContinuousRoundTrip() throws {
        let value = PLXContinuous(
            normal: .init(spo2: MDERFloat(97), pulseRate: MDERFloat(72)),
            fast: .init(spo2: MDERFloat(96), pulseRate: MDERFloat(73)),
            measurementStatus: 0x0020,
            deviceSensorStatus: 0x000020,
            pulseAmplitudeIndex: MDERFloat(35, -1)
        )
        let bytes = try value.encoded()
        #expect(bytes.first == 0x1D)
        #expect(try PLXContinuous(bytes: bytes) == value)
        #expect(try PLXContinuous(bytes: bytes).reading.status == ["measurementOngoing", "lowPerfusionDetected"])
    }

    @Test func plxSpotCheckRoundTrip() throws {
        let value = PLXSpotCheck(
            spo2: MDERFloat(985, -1),
            pulseRate: .notANumber,
            timestamp: time,
            deviceClockNotSet: true
        )
        let bytes = try value.encoded()
        let decoded = try PLXSpotCheck(bytes: bytes)
        #expect(decoded == value)
        #expect(decoded.reading.clockUnset)
        #expect(decoded.reading.value(.pulseOximetryPulseRate)?.absentReason == .notANumber)
    }

    @Test func bloodPressureRoundTripWithPulseRange() throws {
        let value = BloodPressureMeasurement(
            systolic: MDERFloat(121),
            diastolic: MDERFloat(79),
            meanArterialPressure: MDERFloat(93),
            unit: .mmHg,
            timestamp: time,
            pulseRate: MDERFloat(110),
            userID: 1,
            status: .init(rawValue: 0x0008)
        )
        let decoded = try BloodPressureMeasurement(bytes: try value.encoded())
        #expect(decoded == value)
        #expect(decoded.status?.pulseRateRange == 1)
        #expect(decoded.reading.status == ["pulseRateExceedsUpperLimit"])
        #expect(BloodPressureMeasurement.Status(rawValue: 0x0010).names == ["pulseRateBelowLowerLimit"])
        #expect(BloodPressureMeasurement.Status(rawValue: 0x0018).names == ["pulseRateRangeReserved"])
    }

    @Test func temperatureRoundTrip() throws {
        let value = TemperatureMeasurement(temperature: MDERFloat(986, -1), fahrenheit: true, temperatureType: 6)
        let decoded = try TemperatureMeasurement(bytes: try value.encoded())
        #expect(decoded == value)
        #expect(decoded.typeName == "mouth")
        #expect(decoded.reading.values.first?.unit == .fahrenheit)
    }

    @Test func batteryAndCurrentTime() throws {
        #expect(try BatteryLevel(bytes: try BatteryLevel(percent: 87).encoded()).percent == 87)
        #expect(throws: EncodeError.self) { try BatteryLevel(percent: 101) }
        let error = try #require(throws: DecodeError.self) { try BatteryLevel(bytes: [101]) }
        #expect(error.reasonName == "reserved-value" && error.field == "batteryLevel")
        let current = CurrentTime(time: time)
        let bytes = try current.encoded()
        #expect(Hex.string(bytes) == "ea070b19152803" + "03" + "00" + "01")
        #expect(try CurrentTime(bytes: bytes) == current)
    }

    @Test func glucoseWithContextAndWeightWithBMI() throws {
        let glucose = GlucoseMeasurement(
            sequenceNumber: 7,
            baseTime: time,
            timeOffsetMinutes: 30,
            concentration: MDERFloat(90, -5),
            type: 1,
            sampleLocation: 1
        )
        let decoded = try GlucoseMeasurement(bytes: try glucose.encoded())
        #expect(decoded == glucose)
        #expect(decoded.effectiveTime.description == "2026-11-25T22:10:03")
        #expect(decoded.reading.values.first?.code == .glucoseCapillaryWholeBlood)
        #expect(decoded.reading.values.first?.loinc == "41653-7")
        let context = try GlucoseMeasurementContext(
            bytes: Hex.bytes("47" + "0700" + "01" + "14f0" + "02" + "21" + "3400")!
        )
        #expect(context.sequenceNumber == 7 && context.meal == 2 && context.carbohydrateID == 1)
        #expect(context.hbA1cPercent == MDERFloat(52))
        #expect(context.carbohydrate == MDERFloat(20, -1))
        #expect(context.reading.field("health") == .integer(2))
        let weight = WeightMeasurement(weightRaw: 14000, userID: 1, bmiRaw: 229, heightRaw: 1750)
        let reading = try WeightMeasurement(bytes: try weight.encoded()).reading
        #expect(reading.value(.bodyWeight)?.number?.description == "70.000")
        #expect(reading.value(.bodyMassIndex)?.number?.description == "22.9")
        #expect(reading.value(.bodyHeight)?.number?.description == "1.750")
        #expect(try WeightMeasurement(bytes: [0x00, 0xFF, 0xFF]).reading.value(.bodyWeight)?.absentReason == .invalid)
    }

    @Test func vendorFramesRoundTrip() throws {
        let cms = OximeterFiveByteFrame(signalStrength: 4, pleth: 60, bargraph: 3, pulseRate: 180, spo2: 97)
        #expect(try OximeterFiveByteFrame(bytes: cms.encoded()) == cms)
        let viatom = ViatomFrame(
            isCommand: false,
            code: 0,
            payload: ViatomSensors(spo2: 97, pulseRate: 61, battery: 80).encoded()
        )
        let decoded = try ViatomFrame(bytes: try viatom.encoded())
        #expect(decoded.reading.value(.spo2)?.number == DecimalNumber(97))
        var corrupted = try viatom.encoded()
        corrupted[corrupted.count - 1] ^= 0xFF
        let error = try #require(throws: DecodeError.self) { try ViatomFrame(bytes: corrupted) }
        #expect(error.field == "crc8" && error.reasonName == "bad-checksum")
        let noFinger = ViatomSensors(spo2: 0xFF, pulseRate: 0xFF, battery: 50, fingerPresent: false)
        #expect(noFinger.reading.values.allSatisfy { $0.number == nil && $0.absentReason == .invalid })
        let yuwell = YuwellYX110(pulseRate: 70, spo2: 99)
        #expect(try YuwellYX110(bytes: yuwell.encoded()) == yuwell)
        let racp = RecordAccessControlPoint.reportFrom(sequence: 0xFFFF, omron: true)
        #expect(Hex.string(racp.encoded()) == "010304ffff")
        let filter = try #require(throws: DecodeError.self) {
            try RecordAccessControlPoint(bytes: [0x01, 0x03, 0x09, 0x00, 0x00])
        }
        #expect(filter.field == "filterType" && filter.offset == 2)
    }

    @Test func racpRejectsReservedValues() throws {
        let opCode = try #require(throws: DecodeError.self) { try RecordAccessControlPoint(bytes: [0x07, 0x00]) }
        #expect(opCode.field == "opCode")
        let op = try #require(throws: DecodeError.self) { try RecordAccessControlPoint(bytes: [0x01, 0x09]) }
        #expect(op.field == "operator")
    }

    @Test func disStrings() throws {
        #expect(try DeviceInformationString(bytes: Array("Omron\0\0".utf8)).text == "Omron")
        #expect(throws: DecodeError.self) { try DeviceInformationString(bytes: [0xC3]) }
        #expect(throws: DecodeError.self) { try DeviceInformationString(bytes: [0x41, 0x00, 0x42]) }
    }
}
