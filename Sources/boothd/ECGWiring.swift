import BoothCore
import BoothService
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
        strips = ECGStripService(
            feed: feed,
            outbox: outbox,
            devices: devices.map(\.identity),
            logger: Logger(label: "boothd.ecg")
        )
    }

    /// The strip command handler, when there is an ECG device to record from.
    var commands: (any DeviceCommandHandler)? { devices.isEmpty ? nil : strips }

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
