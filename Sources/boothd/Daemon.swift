import ArgumentParser
import BoothAPI
import BoothCore
import BoothMedia
import BoothProfiles
import BoothService
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import UnixSignals

/// Wires the services together and runs them until SIGTERM/SIGINT.
struct Daemon {
    let config: BoothConfig
    let environment: [String: String]

    func run() async throws {
        let style: BoothLogHandler.Style =
            switch config.logging.format {
            case .journald: .journald
            case .text: .text
            case .auto: environment["JOURNAL_STREAM"] == nil ? .text : .journald
            }
        let level = Logger.Level(rawValue: config.logging.level.rawValue) ?? .info
        LoggingSystem.bootstrap { label in
            BoothLogHandler(label: label, level: level, style: style, sink: BoothLogHandler.standardError)
        }
        let logger = Logger(label: "boothd")
        if config.metrics.enabled {
            MetricsSystem.bootstrap(PrometheusMetricsFactory())
        }
        // Health data: files boothd creates (outbox, recordings, snapshots) are never readable by other users.
        umask(0o027)
        let notifier = SystemdNotifier(environment: environment)
        let startedAt = ContinuousClock.now
        let apiURL = "http://\(config.api.host):\(config.api.port)"

        // Session API: durable outbox, device registry, token. The device supervisor records into `outbox`
        // (a MeasurementSink) and publishes into `devices`.
        let outbox = Outbox.open(
            directory: config.storage.stateDirectory,
            logger: Logger(label: "boothd.outbox"),
            projector: PHDObservationProjector()
        )
        // Consultation safety sits in front of the outbox: clock trust, ranges, cuff user slot, provenance.
        let inventory: BoothInventory
        do {
            inventory = try BoothInventory(config: config)
        } catch {
            FileHandle.standardError.write(Data("boothd: configuration error: \(error)\n".utf8))
            throw ExitCode(78)
        }
        let recorder = SafeRecorder(outbox: outbox, inventory: inventory)
        let safety = Self.sessionSafety(recorder: recorder, inventory: inventory, config: config)
        let devices = DeviceRegistry()
        // Usage statistics (sessions, readings, retakes, failures per device by day) outlive the outbox's purge.
        let usage = UsageStatistics.open(
            directory: config.storage.stateDirectory,
            logger: Logger(label: "boothd.usage")
        )
        let tokenPath = TokenFile.path(for: config)
        let token: String
        do {
            token = try TokenFile.ensure(path: tokenPath, group: config.api.tokenGroup)
        } catch {
            logger.critical("cannot read or create the API token", metadata: ["error": "\(error)"])
            throw ExitCode(73)  // EX_CANTCREAT
        }
        let ecg = ECGWiring(config: config, outbox: outbox)
        let media = MediaWiring.commands(config: config, outbox: outbox, devices: devices)
        // Media devices first, then ECG, then the device supervisor (registered below when it runs): each passes a
        // device it does not know to the next.
        let deviceCommands = DeviceCommandRouter(
            [.init(commands: MediaDeviceCommands.commandNames, handler: media)]
                + (ecg.commands.map { [.init(commands: ECGStripService.commands, handler: $0)] } ?? [])
        )
        let hub = SessionHub(
            outbox: outbox,
            devices: devices,
            verifier: TokenVerifier(path: tokenPath, initialToken: token),
            commands: deviceCommands,
            config: config,
            fhir: true,
            logger: Logger(label: "boothd.api"),
            waveforms: ecg.feed,
            usage: usage,
            safety: safety
        )
        let simulate = Self.shouldSimulate(config.simulator.mode)
        // The simulator's camera: a real GStreamer pipeline on videotestsrc, previewed at /camera/preview.mjpg.
        let camera: CameraPipeline? =
            simulate && config.simulator.camera
            ? SimulatedCamera.make(
                pattern: TestPattern(rawValue: config.simulator.cameraPattern) ?? .ball,
                mode: VideoMode(width: 640, height: 360, framesPerSecond: 15),
                idleStopDelay: config.media.cameraIdleStop,
                launchesAtStart: false,
                encoder: config.media.encoder,
                logger: Logger(label: "boothd.camera.simulated")
            ) : nil
        let liveMedia: LiveMedia
        let outputs: StreamOutputs?
        do {
            liveMedia = try Self.liveMedia(config: config, camera: camera, simulate: simulate)
            outputs = try Self.streamOutputs(config: config)
            if config.media.automaticBandwidth { await BandwidthMonitor(media: liveMedia).start() }
            await outputs?.follow(camera)
            hub.liveMedia.attach(liveMedia)
            await Self.wireStethoscopes(media: media, hub: hub, liveMedia: liveMedia)
        } catch {
            FileHandle.standardError.write(Data("boothd: configuration error: \(error)\n".utf8))
            throw ExitCode(78)
        }
        var preview: (@Sendable () -> AsyncStream<[UInt8]>)?
        if let camera {
            preview = { Self.jpegs(of: camera) }
            Self.addReadinessProbe(for: camera, id: "sim:camera", model: "Simulated camera", to: safety)
        }
        let apiServices = APIServer.makeApplications(
            config: config,
            hub: hub,
            logger: Logger(label: "boothd.api"),
            preview: preview
        ) {
            let elapsed = ContinuousClock.now - startedAt
            logger.notice(
                "boothd ready",
                metadata: [
                    "websocket": "\(apiURL.replacingOccurrences(of: "http", with: "ws"))/ws",
                    "metrics": "\(apiURL)/metrics",
                    "startup_ms":
                        "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)",
                ]
            )
            do {
                try notifier.ready(status: "listening on \(apiURL)")
            } catch {
                logger.error("sd_notify READY failed", metadata: ["error": "\(error)"])
            }
            Self.releaseStartupPages(logger: logger)
        }
        // Firmware profiles: /usr/share then /etc overrides. Errors stop boothd like a bad configuration does.
        let profiles: ProfileLibrary
        do {
            profiles = try ProfileLibrary(
                loader: ProfileDirectoryLoader(directories: config.profiles.directories, knownDrivers: KnownDrivers.ids)
            )
        } catch {
            for problem in error.errors {
                logger.critical("firmware profile error", metadata: ["problem": "\(problem)"])
            }
            throw ExitCode(78)
        }
        logger.info("firmware profiles loaded", metadata: ["profiles": "\(profiles.current.profiles.count)"])
        let buttons = CameraButtons(media: media, logger: Logger(label: "boothd.media"))
        let liveAudio = await Self.liveStethoscopeSwitch(media: media, liveMedia: liveMedia)
        var deviceServices: [any Service] = [
            ProfileReloadService(library: profiles, logger: Logger(label: "boothd.profiles")),
            buttons,
            MediaHotplug(
                media: media,
                profiles: profiles,
                logger: Logger(label: "boothd.media"),
                mediaConfig: config.media,
                buttons: buttons,
                liveAudio: liveAudio
            ) {
                await liveMedia.setCamera($0)
                await outputs?.follow($0)
            },
            UsageAggregator(
                statistics: usage,
                outbox: outbox,
                registry: devices,
                logger: Logger(label: "boothd.usage")
            ),
        ]
        if simulate {
            let interval = Duration.milliseconds(Int64(config.simulator.intervalSeconds * 1000))
            logger.notice("no real devices configured here: running the built-in simulator")
            let supervisor = DeviceSupervisor(
                devices: Simulator.devices(interval: interval),
                sink: recorder,
                registry: devices,
                logger: Logger(label: "boothd.supervisor")
            )
            deviceCommands.register(DeviceSupervisorCommands.names, to: supervisor.commands)
            deviceServices.append(supervisor)
            if let camera {
                deviceServices.append(CameraService(pipeline: camera, logger: Logger(label: "boothd.camera")))
            }
            await MediaWiring.registerSimulated(camera: camera, with: media)
        }
        deviceServices += ecg.services(sink: recorder, registry: devices)
        deviceServices += BLEDeviceService.services(
            config: config,
            profiles: profiles,
            sink: recorder,
            registry: devices,
            waveforms: ecg.feed
        )
        deviceServices.append(
            MetricsSampler(
                outbox: outbox,
                registry: devices,
                clients: { hub.connectionCount },
                camera: camera,
                logger: Logger(label: "boothd.metrics")
            )
        )
        let watchdog = WatchdogService(
            notifier: notifier,
            interval: SystemdNotifier.watchdogInterval(environment: environment),
            logger: Logger(label: "boothd.watchdog")
        )
        let group = ServiceGroup(
            configuration: .init(
                services: (apiServices + deviceServices).map {
                    ServiceGroupConfiguration.ServiceConfiguration(service: $0)
                } + [
                    .init(service: watchdog),
                    .init(
                        service: OutboxMaintenance(
                            outbox: outbox,
                            retentionHours: config.storage.retentionHours,
                            logger: Logger(label: "boothd.outbox")
                        )
                    ),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch {
            await Self.checkpointDatabases(outbox: outbox, usage: usage, logger: logger)
            throw error
        }
        await Self.checkpointDatabases(outbox: outbox, usage: usage, logger: logger)
        logger.notice("boothd stopped")
    }

    /// `auto` simulates when this machine offers no device transport at all (no Bluetooth adapter, no camera):
    /// a development machine or CI. A booth with hardware runs its real devices.
    static func shouldSimulate(_ mode: BoothConfig.SimulatorMode) -> Bool {
        switch mode {
        case .on: return true
        case .off: return false
        case .auto: return !DeviceTransports.probe().hasDeviceHardware
        }
    }

    /// Once every service has started, drops the executable's startup-only code pages (docs/reliability.md).
    static func releaseStartupPages(logger: Logger) {
        Task {
            try? await Task.sleep(for: .seconds(5))
            let report = StartupPages.release()
            logger.info(
                "startup code pages released",
                metadata: [
                    "rss_before_kib": "\(report.residentBefore / 1024)",
                    "rss_after_kib": "\(report.residentAfter / 1024)",
                ]
            )
        }
    }

    /// The camera's preview frames as JPEG bytes, for the MJPEG endpoint; ends when the client goes away.
    static func jpegs(of camera: CameraPipeline) -> AsyncStream<[UInt8]> {
        AsyncStream(bufferingPolicy: .bufferingNewest(2)) { continuation in
            let task = Task {
                for await frame in camera.previewFrames() { continuation.yield(frame.jpeg) }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
