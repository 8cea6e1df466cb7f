import BoothCore
import Foundation
import Testing

@Suite struct FHIRObservationTests {
    static let context = MeasurementContext(
        id: "m-1",
        device: DeviceIdentity(id: "ble:C0:26:DA:01:02:03", transport: "ble"),
        receivedAtMicros: 1_764_107_000_250_000
    )

    func parse(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    func codings(_ object: Any?) -> [[String: Any]] {
        ((object as? [String: Any])?["coding"] as? [[String: Any]]) ?? []
    }

    @Test func bloodPressureIsOneObservationWithComponentsPlusPulse() throws {
        let bytes = try #require(Hex.bytes("1e8a00580078000000041114293b3c00012700"))
        let measurement = try #require(try BloodPressureMeasurement.measurement(bytes, Self.context))
        #expect(measurement.raw == bytes)
        #expect(measurement.status.contains("irregularPulse") && measurement.status.contains("deviceClockNotSet"))
        let texts = FHIRObservation.json(measurement, deviceReference: "Device/cuff-1", deviceTimeZone: "Z")
        #expect(texts.count == 2)
        let bp = try parse(texts[0])
        #expect(bp["resourceType"] as? String == "Observation")
        #expect(bp["status"] as? String == "final")
        let category = try #require((bp["category"] as? [Any])?.first)
        #expect(codings(category).first?["code"] as? String == "vital-signs")
        let code = codings(bp["code"])
        #expect(code.map { $0["code"] as? String } == ["150020", "85354-9"])
        #expect(code.first?["system"] as? String == "urn:iso:std:iso:11073:10101")
        #expect(code.last?["system"] as? String == "http://loinc.org")
        let components = try #require(bp["component"] as? [[String: Any]])
        #expect(components.count == 3)
        let loincs = components.map { codings($0["code"]).last?["code"] as? String }
        #expect(loincs == ["8480-6", "8462-4", "8478-0"])
        let systolic = try #require(components.first?["valueQuantity"] as? [String: Any])
        #expect(systolic["unit"] as? String == "mm[Hg]")
        #expect(systolic["code"] as? String == "mm[Hg]")
        #expect(systolic["system"] as? String == "http://unitsofmeasure.org")
        #expect((systolic["value"] as? NSNumber)?.doubleValue == 138)
        #expect((bp["device"] as? [String: Any])?["reference"] as? String == "Device/cuff-1")
        // Year 0: the device clock is unset, so the effective time falls back to the receive time (UTC).
        #expect(bp["effectiveDateTime"] as? String == "2025-11-25T21:43:20.250Z")
        #expect(bp["valueQuantity"] == nil)
        let pulse = try parse(texts[1])
        #expect(codings(pulse["code"]).map { $0["code"] as? String } == ["149546", "8867-4"])
    }

    @Test func precisionIsKeptInTheText() throws {
        // 0xF014 = 20e-1: FHIR must say 2.0, not 2.
        let measurement = Measurement(
            id: "m-2",
            kind: .bodyTemperature,
            values: [MDERFloat(sfloat: 0xF014).observed(.bodyTemperature, .celsius)],
            device: Self.context.device,
            receivedAtMicros: 0
        )
        let text = try #require(FHIRObservation.json(measurement).first)
        #expect(text.contains(#""value":2.0,"#))
        #expect(codings(try parse(text)["code"]).last?["code"] as? String == "8310-5")
    }

    @Test func specialValuesBecomeDataAbsentReason() throws {
        for (raw, code) in [(UInt16(0x07FF), "not-a-number"), (0x0802, "negative-infinity"), (0x0801, "error")] {
            let measurement = Measurement(
                id: "m-3",
                kind: .oxygenSaturation,
                values: [MDERFloat(sfloat: raw).observed(.spo2, .percent)],
                device: Self.context.device,
                receivedAtMicros: 0
            )
            let object = try parse(try #require(FHIRObservation.json(measurement).first))
            #expect(object["valueQuantity"] == nil)
            let reason = codings(object["dataAbsentReason"]).first
            #expect(reason?["code"] as? String == code)
            #expect(reason?["system"] as? String == "http://terminology.hl7.org/CodeSystem/data-absent-reason")
        }
    }

    @Test func deviceTimeWithKnownZoneIsTheEffectiveTime() throws {
        let bytes = try #require(Hex.bytes("0facf3bef5e8070b1d170839204022000066e3"))
        let measurement = try #require(try PLXSpotCheck.measurement(bytes, Self.context))
        let texts = FHIRObservation.json(measurement, deviceTimeZone: "+01:00")
        #expect(texts.count == 3)
        let spo2 = try parse(texts[0])
        #expect(spo2["effectiveDateTime"] as? String == "2024-11-29T23:08:57+01:00")
        #expect(spo2["issued"] as? String == "2025-11-25T21:43:20.250Z")
        #expect(texts[0].contains(#""value":94.0,"#))
        #expect(texts[2].contains(#""value":8.70,"#))
    }

    @Test func invalidVendorMarkersAreAbsent() throws {
        let bytes = try #require(Hex.bytes("8700457f7f"))
        let measurement = try #require(try BerryMedBCI.measurement(bytes, Self.context))
        for text in FHIRObservation.json(measurement) {
            let object = try parse(text)
            #expect(codings(object["dataAbsentReason"]).first?["code"] as? String == "unknown")
        }
    }

    @Test func cliJSONHasTheDocumentedNames() throws {
        let reading = try #require(
            try DecoderRegistry.decode("2A35", Hex.bytes("1e8a00580078000000041114293b3c00012700")!)
        )
        let object = try parse(reading.json(kind: "2A35").rendered(pretty: true))
        #expect(object["profile"] as? String == "blood-pressure")
        #expect(object["timestamp"] as? String == "0000-04-17T20:41:59")
        #expect(object["clockUnset"] as? Bool == true)
        let values = try #require(object["values"] as? [[String: Any]])
        #expect(values.count == 4)
        #expect(Set(values[0].keys) == ["code", "name", "loinc", "value", "unit", "absentReason"])
        #expect(values[0]["loinc"] as? String == "8480-6")
        #expect(values[0]["absentReason"] is NSNull)
        #expect(
            object["status"] as? [String] == [
                "bodyMovement", "cuffTooLoose", "irregularPulse", "improperMeasurementPosition",
            ]
        )
        let special = try #require(try DecoderRegistry.decode("sfloat", [0xFF, 0x07]))
        #expect(special.json(kind: "sfloat").rendered().contains(#""absentReason":"not-a-number""#))
    }

    @Test func jsonStringsAreEscaped() {
        let text = JSONText.object([("a\"b", .string("line\n\u{1}\\"))]).rendered()
        #expect(text == #"{"a\"b":"line\n\u0001\\"}"#)
    }
}

/// Every valid vector through the whole chain: registry → Measurement → FHIR JSON and decode JSON that parse.
@Suite struct ProjectionChainTests {
    @Test(arguments: try LooseVector.all().filter { !$0.isInvalid })
    func everyVectorProjects(_ vector: LooseVector) throws {
        let kind = try #require(PublicVectorTests.kind(vector.profile))
        let reading = try #require(try DecoderRegistry.decode(kind, vector.bytes))
        let cli = try JSONSerialization.jsonObject(with: Data(reading.json(kind: kind).rendered().utf8))
        #expect((cli as? [String: Any])?["profile"] as? String == reading.profile)
        guard let measurement = reading.measurement(FHIRObservationTests.context, raw: vector.bytes) else {
            #expect(reading.kind == nil && reading.values.isEmpty)
            return
        }
        #expect(measurement.values == reading.values && measurement.raw == vector.bytes)
        #expect(measurement.device == FHIRObservationTests.context.device)
        let observations = FHIRObservation.json(measurement, deviceReference: "Device/x")
        #expect(!observations.isEmpty)
        for text in observations {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            #expect(object["resourceType"] as? String == "Observation")
            // Exactly one of a value or a reason (components carry their own for blood pressure).
            let hasValue = object["valueQuantity"] != nil || object["component"] != nil
            #expect(hasValue != (object["dataAbsentReason"] != nil), "\(vector): \(text)")
        }
    }
}
