import BoothCore
import Foundation
import Synchronization

/// The embedded default on a machine with no devices: an oximeter, a blood-pressure cuff and a thermometer
/// that encode plausible readings into the real Bluetooth SIG characteristic bytes, behind `GATTLink`, so the
/// supervisor, the drivers, the decoders and the outbox all run exactly as they do for real devices.
public enum Simulator {
    /// The simulated devices. `interval` paces the oximeter; the cuff and the thermometer measure less often,
    /// as they do in a real consultation.
    public static func devices(interval: Duration, seed: UInt64 = 0x600D_B007) -> [ManagedDevice] {
        let vitals = Mutex(VitalSignsModel(seed: seed))
        let firstReading = Duration.milliseconds(1500)
        return [
            device(
                id: "sim:oximeter",
                model: "Simulated PLX oximeter",
                driver: .plx,
                emitter: SimulatedGATTPeripheral.Emitter(interval: interval, firstAfter: firstReading) {
                    let sample = vitals.withLock { $0.next() }
                    let reading = PLXContinuous(
                        normal: .init(spo2: MDERFloat(Int64(sample.spo2)), pulseRate: MDERFloat(Int64(sample.pulse))),
                        pulseAmplitudeIndex: MDERFloat(Int64(sample.perfusionTenths), -1)
                    )
                    return (try? reading.encoded()) ?? []
                }
            ),
            device(
                id: "sim:bp-cuff",
                model: "Simulated BPS cuff",
                driver: .bps,
                emitter: SimulatedGATTPeripheral.Emitter(interval: interval * 4, firstAfter: firstReading * 2) {
                    let sample = vitals.withLock { $0.next() }
                    let mean = (sample.systolic + 2 * sample.diastolic) / 3
                    let reading = BloodPressureMeasurement(
                        systolic: MDERFloat(Int64(sample.systolic)),
                        diastolic: MDERFloat(Int64(sample.diastolic)),
                        meanArterialPressure: MDERFloat(Int64(mean)),
                        timestamp: deviceClock(),
                        pulseRate: MDERFloat(Int64(sample.pulse)),
                        userID: 1,
                        status: .init(rawValue: 0)
                    )
                    return (try? reading.encoded()) ?? []
                }
            ),
            device(
                id: "sim:thermometer",
                model: "Simulated HTS thermometer",
                driver: .hts,
                emitter: SimulatedGATTPeripheral.Emitter(interval: interval * 3, firstAfter: firstReading * 3) {
                    let sample = vitals.withLock { $0.next() }
                    let reading = TemperatureMeasurement(
                        temperature: MDERFloat(Int64(sample.temperatureTenths), -1),
                        timestamp: deviceClock(),
                        temperatureType: 3
                    )
                    return (try? reading.encoded()) ?? []
                }
            ),
        ]
    }

    private static func device(
        id: String,
        model: String,
        driver: GATTMeasurementDriver,
        emitter: SimulatedGATTPeripheral.Emitter
    ) -> ManagedDevice {
        let peripheral = SimulatedGATTPeripheral(
            readable: [
                GATTUUID(0x2A19): [92],
                GATTUUID(0x2A24): Array(model.utf8),
                GATTUUID(0x2A25): Array("SIM-\(id.dropFirst(4))".utf8),
                GATTUUID(0x2A26): Array("sim-1.0".utf8),
            ],
            emitters: [driver.measurement: emitter]
        )
        return ManagedDevice(
            identity: DeviceIdentity(id: id, transport: "simulated", model: model, manufacturer: "boothd simulator"),
            role: driver.role,
            driver: driver,
            measurementControl: peripheral,
            connect: { peripheral }
        )
    }

    /// The simulated devices' clock: UTC now, as a device would keep it after a Current Time write.
    static func deviceClock() -> DeviceTimestamp {
        .wallClock(in: TimeZone(identifier: "UTC") ?? .current)
    }
}
