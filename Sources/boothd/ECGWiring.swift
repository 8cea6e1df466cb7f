import BoothCore
import BoothService
import Foundation
import Logging
import ServiceLifecycle

/// ECG in boothd: the live waveform feed (session API `waveform.subscribe`), strips on command (`ecg.strip`), and
/// the simulator's Polar-H10-like strap supervised like every other device.
struct ECGWiring {
    let feed = WaveformFeed()
    let devices: [ManagedDevice]
    let strips: ECGStripService

    init(config: BoothConfig, outbox: Outbox) {
        devices = Daemon.shouldSimulate(config.simulator.mode) ? [Simulator.ecgDevice()] : []
        let adapters = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/bluetooth")) ?? []
        bluetooth = config.ble.enabled && !adapters.isEmpty
        strips = ECGStripService(
            feed: feed,
            outbox: outbox,
            devices: devices.map(\.identity),
            logger: Logger(label: "boothd.ecg")
        )
    }

    /// The strip command handler, when there may be an ECG device to record from (the simulator's, or a strap found
    /// by BLE discovery on a machine with an adapter).
    var commands: (any DeviceCommandHandler)? { devices.isEmpty && !bluetooth ? nil : strips }
    let bluetooth: Bool

    /// The supervisor of the ECG devices (heart rate → `sink`, waveform chunks → `feed`).
    func services(sink: any MeasurementSink, registry: DeviceRegistry) -> [any Service] {
        guard !devices.isEmpty else { return [] }
        return [
            DeviceSupervisor(
                devices: devices,
                sink: sink,
                registry: registry,
                logger: Logger(label: "boothd.supervisor.ecg"),
                waveforms: feed
            )
        ]
    }
}
