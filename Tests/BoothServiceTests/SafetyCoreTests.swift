import BoothCore
import Foundation
import Testing

private func reading(
    _ code: MDCCode,
    _ mantissa: Int64,
    _ exponent: Int = 0,
    _ unit: UCUMUnit,
    kind: MeasurementKind = .bodyTemperature
) -> BoothCore.Measurement {
    BoothCore.Measurement(
        id: "m1",
        kind: kind,
        values: [ObservedValue(code: code, number: DecimalNumber(mantissa: mantissa, exponent: exponent), unit: unit)],
        device: DeviceIdentity(id: "sim:x", transport: "simulated"),
        receivedAtMicros: 1_700_000_000_000_000
    )
}

@Suite("Safety: physiological ranges")
struct SafetyRangeTests {
    @Test func verdictsAtTheBounds() {
        let cases: [(MDCCode, Int64, Int, UCUMUnit, RangeVerdict)] = [
            (.bodyTemperature, 370, -1, .celsius, .plausible),
            (.bodyTemperature, 420, -1, .celsius, .plausible),
            (.bodyTemperature, 421, -1, .celsius, .implausible),
            (.bodyTemperature, 450, -1, .celsius, .implausible),
            (.bodyTemperature, 451, -1, .celsius, .impossible),
            (.bodyTemperature, 986, -1, .fahrenheit, .plausible),
            (.systolic, 320, 0, .mmHg, .impossible),
            (.systolic, 260, 0, .mmHg, .implausible),
            (.systolic, 16, 0, .kPa, .plausible),
            (.spo2, 101, 0, .percent, .impossible),
            (.spo2, 65, 0, .percent, .implausible),
            (.spo2, 97, 0, .percent, .plausible),
            (.glucoseCapillaryPlasma, 100, 0, .milligramPerDecilitre, .plausible),
            (.glucoseCapillaryPlasma, 1200, 0, .milligramPerDecilitre, .impossible),
            (.bodyWeight, 150, 0, .pound, .plausible),
            (.pulseRateNonInvasive, 25, 0, .perMinute, .implausible),
        ]
        for (code, mantissa, exponent, unit, expected) in cases {
            let value = ObservedValue(
                code: code,
                number: DecimalNumber(mantissa: mantissa, exponent: exponent),
                unit: unit
            )
            #expect(
                PhysiologicalRanges.check(value).verdict == expected,
                "\(code.referenceID) \(mantissa)e\(exponent) \(unit)"
            )
        }
    }

    @Test func messagesNameTheValueAndTheRange() {
        let impossible = PhysiologicalRanges.check(
            ObservedValue(code: .systolic, number: DecimalNumber(320), unit: .mmHg)
        )
        #expect(impossible.message == "systolic pressure 320 mm[Hg] is impossible (20...300 mm[Hg])")
        let unusual = PhysiologicalRanges.check(
            ObservedValue(code: .bodyTemperature, number: DecimalNumber(mantissa: 425, exponent: -1), unit: .celsius)
        )
        #expect(unusual.message == "body temperature 42.5 Cel is unusual (expected 34...42 Cel): check it")
    }

    @Test func unknownCodeOrAbsentValueIsUnchecked() {
        let absent = ObservedValue(code: .spo2, number: nil, unit: .percent, absentReason: .invalid)
        #expect(PhysiologicalRanges.check(absent).verdict == .unchecked)
        let unknown = ObservedValue(code: MDCCode(1, "MDC_X"), number: DecimalNumber(5), unit: .percent)
        #expect(PhysiologicalRanges.check(unknown).verdict == .unchecked)
        let wrongUnit = ObservedValue(code: .spo2, number: DecimalNumber(5), unit: .kilogram)
        #expect(PhysiologicalRanges.check(wrongUnit).verdict == .unchecked)
    }

    @Test func decodedOutOfRangeValuesAreFlaggedNeverDropped() {
        let decoded = reading(.bodyTemperature, 480, -1, .celsius)
        let flagged = PhysiologicalRanges.flagged(decoded)
        #expect(flagged.values == decoded.values)
        #expect(flagged.status == ["impossibleValue"])
        #expect(PhysiologicalRanges.flagged(flagged).status == ["impossibleValue"])
    }
}

@Suite("Safety: unit conversion and manual entry")
struct SafetyManualEntryTests {
    private func enter(
        _ kind: MeasurementKind,
        _ values: [(MDCCode, String, UCUMUnit)],
        operatorRef: String = "op-7f3a"
    ) throws(ManualEntryError) -> BoothCore.Measurement {
        try ManualEntry(
            kind: kind,
            values: values.map { ManualEntry.Value(code: $0.0, text: $0.1, unit: $0.2) },
            operatorRef: operatorRef
        ).measurement(id: "manual-1", enteredAtMicros: 1_700_000_000_000_000)
    }

    @Test func conversionsAreExactToTheUnitsResolution() throws {
        let cases: [(MeasurementKind, MDCCode, String, UCUMUnit, String, UCUMUnit)] = [
            (.bodyTemperature, .bodyTemperature, "98.6", .fahrenheit, "37.0", .celsius),
            (.bodyTemperature, .bodyTemperature, "101,3", .fahrenheit, "38.5", .celsius),
            (.bodyTemperature, .bodyTemperature, "37.25", .celsius, "37.25", .celsius),
            (.bodyWeight, .bodyWeight, "150", .pound, "68.0", .kilogram),
            (.bodyWeight, .bodyWeight, "72.4", .kilogram, "72.4", .kilogram),
            (.glucose, .glucoseCapillaryPlasma, "100", .milligramPerDecilitre, "5.6", .millimolePerLitre),
            (.glucose, .glucoseCapillaryPlasma, "1,26", UnitConversion.gramPerLitre, "7.0", .millimolePerLitre),
        ]
        for (kind, code, text, unit, expected, expectedUnit) in cases {
            var values = [(code, text, unit)]
            if kind == .bloodPressure { values.append((.diastolic, "80", .mmHg)) }
            let measurement = try enter(kind, values)
            #expect(measurement.values[0].number?.description == expected, "\(text) \(unit)")
            #expect(measurement.values[0].unit == expectedUnit)
        }
        let pressure = try enter(.bloodPressure, [(.systolic, "16", .kPa), (.diastolic, "10.7", .kPa)])
        #expect(pressure.values.map { $0.number?.description } == ["120", "80"])
        #expect(pressure.values.map(\.unit) == [.mmHg, .mmHg])
        #expect(
            UnitConversion.convert(5.55, from: .millimolePerLitre, to: .milligramPerDecilitre).map {
                ($0 * 10).rounded()
            } == 1000
        )
    }

    @Test func acceptedEntryIsManualWithOperatorReference() throws {
        let measurement = try enter(.bodyTemperature, [(.bodyTemperature, "37.2", .celsius)])
        #expect(measurement.method == .manual)
        #expect(measurement.origin == .live)
        #expect(measurement.device.transport == "manual")
        #expect(measurement.status == ["manualEntry"])
        #expect(measurement.raw.isEmpty)
        #expect(measurement.provenance?.operatorRef == "op-7f3a")
        #expect(measurement.provenance?.rangeFindings == nil)
        #expect(
            measurement.values == [
                ObservedValue(
                    code: .bodyTemperature,
                    number: DecimalNumber(mantissa: 372, exponent: -1),
                    unit: .celsius
                )
            ]
        )
    }

    @Test func implausibleEntryIsAcceptedWithAWarning() throws {
        let measurement = try enter(.oxygenSaturation, [(.spo2, "68", .percent)])
        #expect(measurement.status == ["manualEntry", "implausibleValue"])
        #expect(measurement.provenance?.rangeFindings?.map(\.verdict) == [.implausible])
        #expect(
            measurement.provenance?.rangeFindings?.first?.message
                == "oxygen saturation 68 % is unusual (expected 70...100 %): check it"
        )
    }

    @Test func impossibleAndMalformedEntriesAreRejectedWithTheField() {
        let cases: [(MeasurementKind, [(MDCCode, String, UCUMUnit)], String, String)] = [
            (
                .bodyTemperature, [(.bodyTemperature, "120", .fahrenheit)], "MDC_TEMP_BODY",
                "body temperature 48.9 Cel is impossible (25...45 Cel)"
            ),
            (
                .bloodPressure, [(.systolic, "400", .mmHg), (.diastolic, "80", .mmHg)], "MDC_PRESS_BLD_NONINV_SYS",
                "systolic pressure 400 mm[Hg] is impossible (20...300 mm[Hg])"
            ),
            (
                .bodyTemperature, [(.bodyTemperature, "37.2.1", .celsius)], "MDC_TEMP_BODY",
                "\"37.2.1\" is not a number (write for example 37.2 or 37,2)"
            ),
            (
                .bodyTemperature, [(.bodyTemperature, "", .celsius)], "MDC_TEMP_BODY",
                "\"\" is not a number (write for example 37.2 or 37,2)"
            ),
            (
                .bodyTemperature, [(.bodyTemperature, "37", .kPa)], "MDC_TEMP_BODY",
                "unit kPa is not accepted for body temperature (use Cel)"
            ),
            (.bodyTemperature, [(.spo2, "97", .percent)], "MDC_PULS_OXIM_SAT_O2", "is not a value of bodyTemperature"),
            (.bloodPressure, [(.systolic, "120", .mmHg)], "MDC_PRESS_BLD_NONINV_DIA", "is required for bloodPressure"),
            (.bodyTemperature, [], "values", "no value given"),
            (.cuffPressure, [(.cuffPressure, "100", .mmHg)], "kind", "cuffPressure cannot be entered by hand"),
        ]
        for (kind, values, field, reason) in cases {
            // Only a value outside the possible range is an impossible value (the API's `value_impossible`).
            let impossible = reason.contains("is impossible")
            #expect(throws: ManualEntryError(field: field, reason: reason, impossibleValue: impossible)) {
                try enter(kind, values)
            }
        }
        #expect(throws: ManualEntryError(field: "operatorRef", reason: "must be 1 to 128 characters")) {
            try enter(.bodyTemperature, [(.bodyTemperature, "37", .celsius)], operatorRef: "")
        }
    }

    @Test func numberParsingKeepsTypedPrecision() {
        #expect(ManualEntry.parseNumber("37,20") == DecimalNumber(mantissa: 3720, exponent: -2))
        #expect(ManualEntry.parseNumber(" -1.5 ") == DecimalNumber(mantissa: -15, exponent: -1))
        #expect(ManualEntry.parseNumber("120") == DecimalNumber(120))
        for bad in ["", "1.", ".5", "1e3", "12a", "１２", "--1", "1,2,3"] {
            #expect(ManualEntry.parseNumber(bad) == nil, "\(bad)")
        }
    }
}

@Suite("Safety: device clock")
struct SafetyClockTests {
    // 2026-11-25T14:00:00Z; booth in Paris (UTC+1 in November).
    let received: Int64 = 1_795_615_200_000_000
    let paris = 3600

    private func measured(at time: DeviceTimestamp?, origin: BoothCore.Measurement.Origin) -> BoothCore.Measurement {
        BoothCore.Measurement(
            id: "bp-1",
            kind: .bloodPressure,
            values: [],
            device: DeviceIdentity(id: "ble:cuff", transport: "ble"),
            deviceTime: time,
            receivedAtMicros: received,
            origin: origin
        )
    }

    @Test func localDeviceTimeToEpoch() {
        let time = DeviceTimestamp(year: 2026, month: 11, day: 25, hour: 15, minute: 0, second: 0)
        #expect(DeviceClock.epochMicros(of: time, utcOffsetSeconds: paris) == received)
        #expect(
            DeviceClock.epochMicros(
                of: DeviceTimestamp(year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0),
                utcOffsetSeconds: 0
            ) == nil
        )
        #expect(
            DeviceClock.epochMicros(
                of: DeviceTimestamp(year: 2026, month: 13, day: 1, hour: 0, minute: 0, second: 0),
                utcOffsetSeconds: 0
            ) == nil
        )
    }

    @Test func offsetEstimateAtConnection() {
        let twoHoursAhead = DeviceTimestamp(year: 2026, month: 11, day: 25, hour: 17, minute: 0, second: 0)
        #expect(
            DeviceClock.estimate(deviceNow: twoHoursAhead, receivedAtMicros: received, utcOffsetSeconds: paris)
                == ClockEstimate(offsetMicros: 7_200_000_000, trust: .untrusted)
        )
        let fourMinutesBehind = DeviceTimestamp(year: 2026, month: 11, day: 25, hour: 14, minute: 56, second: 0)
        #expect(
            DeviceClock.estimate(deviceNow: fourMinutesBehind, receivedAtMicros: received, utcOffsetSeconds: paris)
                == ClockEstimate(offsetMicros: -240_000_000, trust: .trusted)
        )
        let unset = DeviceTimestamp(year: 0, month: 1, day: 1, hour: 0, minute: 0, second: 0)
        #expect(
            DeviceClock.estimate(deviceNow: unset, receivedAtMicros: received, utcOffsetSeconds: paris).trust == .unset
        )
        #expect(
            DeviceClock.estimate(deviceNow: nil, receivedAtMicros: received, utcOffsetSeconds: paris).trust == .unknown
        )
    }

    @Test func liveReadingWithClockTwoHoursOffIsFlaggedAndBoundByReceiveTime() {
        let twoHoursAhead = DeviceTimestamp(year: 2026, month: 11, day: 25, hour: 17, minute: 0, second: 0)
        let assessment = DeviceClock.assess(
            measured(at: twoHoursAhead, origin: .live),
            connection: nil,
            utcOffsetSeconds: paris
        )
        #expect(
            assessment
                == ClockAssessment(
                    trust: .untrusted,
                    offsetMicros: 7_200_000_000,
                    trustedTakenAtMicros: nil,
                    bindingTimeMicros: received,
                    flags: ["deviceClockUntrusted"]
                )
        )
    }

    @Test func storedRecordIsCorrectedByASmallOffset() {
        // Device clock 4 min behind; a record stamped 14:30 device time was taken at 14:34 real time.
        let estimate = ClockEstimate(offsetMicros: -240_000_000, trust: .trusted)
        let stamped = DeviceTimestamp(year: 2026, month: 11, day: 25, hour: 14, minute: 30, second: 0)
        let assessment = DeviceClock.assess(
            measured(at: stamped, origin: .stored),
            connection: estimate,
            utcOffsetSeconds: paris
        )
        let expected = received - 26 * 60_000_000
        #expect(
            assessment
                == ClockAssessment(
                    trust: .trusted,
                    offsetMicros: -240_000_000,
                    trustedTakenAtMicros: expected,
                    bindingTimeMicros: expected,
                    flags: []
                )
        )
    }

    @Test func storedRecordFromAnUntrustedClockHasNoBindingTime() {
        let estimate = ClockEstimate(offsetMicros: 7_200_000_000, trust: .untrusted)
        let stamped = DeviceTimestamp(year: 2026, month: 11, day: 25, hour: 16, minute: 59, second: 0)
        let assessment = DeviceClock.assess(
            measured(at: stamped, origin: .stored),
            connection: estimate,
            utcOffsetSeconds: paris
        )
        #expect(assessment.trustedTakenAtMicros == nil)
        #expect(assessment.bindingTimeMicros == nil)
        #expect(assessment.flags == ["deviceClockUntrusted"])
    }

    @Test func storedRecordWithoutAnyClockEstimateIsNotTrusted() {
        let stamped = DeviceTimestamp(year: 2026, month: 11, day: 25, hour: 14, minute: 59, second: 0)
        let assessment = DeviceClock.assess(
            measured(at: stamped, origin: .stored),
            connection: nil,
            utcOffsetSeconds: paris
        )
        #expect(assessment.trust == .unknown)
        #expect(assessment.trustedTakenAtMicros == nil)
        #expect(assessment.flags == ["deviceClockUntrusted"])
    }

    @Test func futureTimeFromATrustedClockIsRejected() {
        // The estimate said the clock was right, but this record claims to be from 20 minutes in the future.
        let estimate = ClockEstimate(offsetMicros: 0, trust: .trusted)
        let stamped = DeviceTimestamp(year: 2026, month: 11, day: 25, hour: 15, minute: 20, second: 0)
        let assessment = DeviceClock.assess(
            measured(at: stamped, origin: .stored),
            connection: estimate,
            utcOffsetSeconds: paris
        )
        #expect(assessment.trust == .untrusted)
        #expect(assessment.trustedTakenAtMicros == nil)
    }

    @Test func unsetClockAndMissingTimeAreFlagged() {
        let unset = DeviceTimestamp(year: 0, month: 0, day: 0, hour: 10, minute: 0, second: 0)
        let live = DeviceClock.assess(measured(at: unset, origin: .live), connection: nil, utcOffsetSeconds: paris)
        #expect(
            live
                == ClockAssessment(
                    trust: .unset,
                    offsetMicros: nil,
                    trustedTakenAtMicros: nil,
                    bindingTimeMicros: received,
                    flags: ["deviceClockUnset"]
                )
        )
        let stored = DeviceClock.assess(measured(at: nil, origin: .stored), connection: nil, utcOffsetSeconds: paris)
        #expect(stored.flags == ["deviceTimeMissing"])
        #expect(stored.bindingTimeMicros == nil)
    }
}

@Suite("Safety: cuff user slot and provenance")
struct SafetyProvenanceTests {
    @Test func onlyTheInventorySlotAutoAssigns() throws {
        #expect(UserSlotRule.mayAutoAssign(slot: 1, boothSlot: 1))
        #expect(!UserSlotRule.mayAutoAssign(slot: 2, boothSlot: 1))
        #expect(!UserSlotRule.mayAutoAssign(slot: 255, boothSlot: 1))
        #expect(UserSlotRule.mayAutoAssign(slot: nil, boothSlot: 1))
        #expect(UserSlotRule.mayAutoAssign(slot: 2, boothSlot: nil))
        // Blood Pressure Measurement with flags 0x08 (user ID present): 120/80/93 mmHg, user 2.
        let bytes: [UInt8] = [0x08, 0x78, 0x00, 0x50, 0x00, 0x5D, 0x00, 0x02]
        let reading = try BloodPressureMeasurement(bytes: bytes).reading
        #expect(UserSlotRule.slot(of: reading) == 2)
    }

    @Test func annotateRecordsProvenanceAndFlags() {
        let decoded = BoothCore.Measurement(
            id: "bp-2",
            kind: .bloodPressure,
            values: [
                ObservedValue(code: .systolic, number: DecimalNumber(260), unit: .mmHg),
                ObservedValue(code: .diastolic, number: DecimalNumber(80), unit: .mmHg),
            ],
            status: ["bodyMovement"],
            device: DeviceIdentity(id: "ble:cuff", transport: "ble", model: "BP7000", serial: "S1", firmware: "1.2"),
            receivedAtMicros: 10,
            raw: [0x08]
        )
        let clock = ClockAssessment(
            trust: .untrusted,
            offsetMicros: 7_200_000_000,
            trustedTakenAtMicros: nil,
            bindingTimeMicros: 10,
            flags: ["deviceClockUntrusted"]
        )
        let annotated = Provenance.annotate(
            decoded,
            profile: "omron-bp7000",
            decoderVersion: "ble.bps@1",
            clock: clock,
            userSlot: 2,
            boothSlot: 1
        )
        #expect(annotated.values == decoded.values)
        #expect(annotated.raw == [0x08])
        #expect(annotated.device.profile == "omron-bp7000")
        #expect(annotated.status == ["bodyMovement", "deviceClockUntrusted", "otherUserSlot", "implausibleValue"])
        #expect(
            annotated.provenance
                == MeasurementProvenance(
                    decoderVersion: "ble.bps@1",
                    clockOffsetMicros: 7_200_000_000,
                    clockTrust: .untrusted,
                    takenAtMicros: nil,
                    bindingTimeMicros: 10,
                    userSlot: 2,
                    rangeFindings: [PhysiologicalRanges.check(decoded.values[0])]
                )
        )
    }

    @Test func oldMeasurementJSONStillDecodesAndNewOneRoundTrips() throws {
        let old = """
            {"id":"m-old","kind":"bodyTemperature","values":[{"code":{"value":150364,"referenceID":"MDC_TEMP_BODY"},\
            "number":{"mantissa":372,"exponent":-1},"unit":{"code":"Cel"}}],"status":[],\
            "device":{"id":"sim:thermo","transport":"simulated"},"receivedAtMicros":5,"origin":"live",\
            "method":"automatic","raw":[1,2]}
            """
        let decoded = try JSONDecoder().decode(BoothCore.Measurement.self, from: Data(old.utf8))
        #expect(decoded.provenance == nil)
        #expect(decoded.raw == [1, 2])
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        // With no provenance, the encoding has no new key: old readers keep working.
        #expect(!String(decoding: try encoder.encode(decoded), as: UTF8.self).contains("provenance"))
        let annotated = Provenance.annotate(decoded, decoderVersion: "ble.hts@1")
        let again = try JSONDecoder().decode(BoothCore.Measurement.self, from: try encoder.encode(annotated))
        #expect(again == annotated)
        #expect(again.provenance?.decoderVersion == "ble.hts@1")
    }
}
