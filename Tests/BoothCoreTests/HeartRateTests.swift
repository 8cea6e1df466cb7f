import BoothCore
import Foundation
import Testing

@Suite struct HeartRateTests {
    @Test func publicVectorsDecode() throws {
        let vectors = try ECGVector.load("heart_rate_measurement_0x2A37")
        #expect(vectors.count == 8)
        for vector in vectors {
            let expected = vector.expected
            if let expectedError = expected.error {
                do {
                    let value = try HeartRateMeasurement.decode(vector.bytes)
                    Issue.record("\(vector.source) decoded as \(value)")
                } catch {
                    #expect(error.reasonName == expectedError)
                    #expect(error.field == expected.field)
                }
                continue
            }
            let decoded = try HeartRateMeasurement.decode(vector.bytes)
            #expect(decoded.heartRate == expected.heart_rate, "\(vector.source)")
            #expect(decoded.isUInt16 == expected.uint16)
            #expect(decoded.sensorContact.rawValue == expected.sensor_contact)
            #expect(decoded.energyExpendedKJ == expected.energy_expended_kj)
            #expect(decoded.rrIntervals1024 == expected.rr_intervals_1024)
            // Re-encoding gives the same bytes (flags bits 1–2 = 01 normalise to 00 for "not supported").
            if vector.bytes[0] & 0x06 != 0x02 {
                #expect(decoded.encoded() == vector.bytes, "\(vector.hex)")
            }
        }
    }

    @Test func everyTruncationIsATypedError() throws {
        let full: [UInt8] = [0x1f, 0x01, 0x01, 0x32, 0x01, 0x01, 0x00, 0x02, 0x01, 0xff, 0xff]
        #expect(try HeartRateMeasurement.decode(full).rrIntervals1024 == [1, 258, 65535])
        let fields = [
            "flags", "heartRate", "heartRate", "energyExpended", "energyExpended", "rrInterval[0]", "rrInterval[0]",
            "rrInterval[1]", "rrInterval[1]", "rrInterval[2]", "rrInterval[2]",
        ]
        for length in 0..<full.count {
            let prefix = Array(full.prefix(length))
            // The RR list has no count: a prefix ending on an interval boundary is a valid, shorter list.
            if length == 7 || length == 9 {
                #expect(try HeartRateMeasurement.decode(prefix).rrIntervals1024.count == (length - 5) / 2)
                continue
            }
            do {
                let value = try HeartRateMeasurement.decode(prefix)
                Issue.record("prefix of \(length) bytes decoded as \(value)")
            } catch {
                #expect(error.reasonName == "truncated", "length \(length)")
                #expect(error.field == fields[length], "length \(length): \(error)")
                #expect(error.description.contains(error.field))
            }
        }
    }

    @Test func rrIntervalsAreExactMilliseconds() throws {
        let decoded = try HeartRateMeasurement.decode(Hex.bytes("16485401ec02") ?? [])
        #expect(decoded.rrIntervalsMilliseconds.map(\.description) == ["332.0312500", "730.4687500"])
        #expect(decoded.rrIntervalsMilliseconds.map(\.doubleValue) == [332.03125, 730.46875])
    }

    @Test func measurementCarriesHeartRateAndRR() throws {
        let device = DeviceIdentity(id: "ble:AA", transport: "ble", model: "H10")
        let decoded = try HeartRateMeasurement.decode(Hex.bytes("16485401ec02") ?? [])
        let context = MeasurementContext(id: "m1", device: device, receivedAtMicros: 5)
        let measurement = try #require(decoded.reading.measurement(context, raw: decoded.encoded()))
        #expect(measurement.kind == .heartRate)
        #expect(measurement.value(.heartRate)?.number == DecimalNumber(72))
        #expect(measurement.value(.heartRate)?.loinc == "8867-4")
        #expect(measurement.values.filter { $0.code == .rrInterval }.count == 2)
        #expect(measurement.values.last?.unit == .millisecond)
        #expect(measurement.status == ["sensorContact"])
    }

    @Test func contactLostIsNotAMeasurement() throws {
        let decoded = try HeartRateMeasurement.decode([0x04, 0xff])
        #expect(decoded.isContactLost)
        let context = MeasurementContext(
            id: "x",
            device: DeviceIdentity(id: "d", transport: "ble"),
            receivedAtMicros: 0
        )
        #expect(decoded.reading.measurement(context, raw: [0x04, 0xff]) == nil)
        #expect(decoded.reading.status == ["sensorContactLost"])
        #expect(DecoderRegistry.entry("2a37") != nil)
        #expect(try DecoderRegistry.decode("2A37", [0x16, 0x48, 0x54, 0x01, 0xec, 0x02])?.kind == .heartRate)
    }

    @Test func bodySensorLocation() throws {
        for vector in try ECGVector.load("body_sensor_location_0x2A38") {
            if let expectedError = vector.expected.error {
                do {
                    _ = try BodySensorLocation.decode(vector.bytes)
                    Issue.record("\(vector.source) should fail")
                } catch {
                    #expect(error.reasonName == expectedError)
                    #expect(error.field == vector.expected.field)
                }
            } else {
                #expect(try BodySensorLocation.decode(vector.bytes) == .earLobe)
            }
        }
        #expect(try BodySensorLocation.decode([0x01]) == .chest)
        #expect(throws: DecodeError.self) { try BodySensorLocation.decode([0x07]) }
        #expect(throws: DecodeError.self) { try BodySensorLocation.decode([0x01, 0x00]) }
    }
}
