import BoothCore

/// The daemon's configuration. Every field has a default that works on a machine with no file, so
/// `boothd` with no arguments runs on the simulator on loopback.
public struct BoothConfig: Sendable, Equatable {
    public struct API: Sendable, Equatable {
        /// Interface to listen on. Loopback unless a site explicitly configures otherwise.
        public var host = "127.0.0.1"
        public var port = 8787
        /// Unix socket for `boothctl` and local clients; empty disables it.
        public var unixSocket = ""
        /// Origins allowed to open the WebSocket (the kiosk page).
        public var allowedOrigins = ["http://127.0.0.1:8787", "http://localhost:8787"]
        /// File holding the bearer token; empty means a token is generated in the state directory.
        public var tokenFile = ""
        /// Serve the sample kiosk page at `/`.
        public var serveWeb = true
        /// Largest accepted WebSocket frame, in bytes.
        public var maxFrameBytes = 64 * 1024
        public var maxClients = 16
        /// Group given read access to the generated token file (the kiosk browser's user is in it).
        public var tokenGroup = "kiosk"
        /// Directory of the sample kiosk page served at `/` when `serveWeb` is on.
        public var webDirectory = "/usr/share/boothd/web"
        /// Commands sent per second per client before replies become `rate_limited` errors.
        public var commandsPerSecond = 50
        /// Bytes of replies one client may leave unread before it is closed with 4429. Events are not counted:
        /// a client that does not read gets none until it reads again, then replays them from the outbox.
        public var clientQueueBytes = 4 * 1024 * 1024
        /// Seconds one write may wait on a client that does not read before its socket is closed.
        public var clientStallSeconds = 60.0
        /// Enables the `test.record` command (synthetic measurements for end-to-end tests). Never in production.
        public var testCommands = false
    }

    public struct Metrics: Sendable, Equatable {
        /// Expose Prometheus metrics at `/metrics` on the API listener (loopback).
        public var enabled = true
    }

    public enum SimulatorMode: String, Sendable, Equatable, CaseIterable {
        /// Run the simulator when no real device support is available on this machine.
        case auto
        case on
        case off
    }

    public struct Simulator: Sendable, Equatable {
        public var mode = SimulatorMode.auto
        /// Seconds between two simulated readings of one device.
        public var intervalSeconds = 15.0
        /// Run the simulated `videotestsrc` camera.
        public var camera = true
        /// The simulated camera's `videotestsrc` pattern: `ball` (default), `smpte`, or `snow` (noise, the worst
        /// case for the encoder's bit-rate budget).
        public var cameraPattern = "ball"
        /// Offer a simulated stethoscope (a 100 Hz `audiotestsrc` tone) as the live WebRTC audio track.
        public var stethoscope = true
    }

    /// Live media sent to session clients over WebRTC (issues 6 and 12).
    public struct Media: Sendable, Equatable {
        /// Budget for live video + audio together, kbit/s on the wire.
        public var budgetKbps = 1000
        /// Below this share for video (kbit/s), video stops in favour of snapshots.
        public var videoFloorKbps = 150
        /// `stun://host:port`; empty: none (the kiosk page runs on this machine).
        public var stunServer = ""
        /// `turn(s)://user:password@host:port`; empty: none.
        public var turnServer = ""
        /// Gather ICE candidates on 127.0.0.1 only.
        public var loopbackOnly = true
        /// A camera that sends no frame for this long while streaming is wedged: its USB device is reset.
        public var cameraStallSeconds = 5.0
        /// USB resets tried for one wedge before the camera goes to `error`.
        public var cameraMaxResets = 3
        /// A camera's pipeline runs only while it is used (preview, live video, snapshot, readiness check) and
        /// stops this many seconds after the last use; 0 keeps it running from start to shutdown.
        public var cameraIdleSeconds = 5.0

        /// `cameraIdleSeconds` as the pipelines' idle stop delay (nil: always running).
        public var cameraIdleStop: Duration? {
            cameraIdleSeconds > 0 ? .milliseconds(Int64(cameraIdleSeconds * 1000)) : nil
        }
        /// Also send the live H.264 stream (the same encoded stream, no second encoder) to these outputs:
        /// `rtp://HOST:PORT` (RTP over UDP) or `srt://HOST:PORT?mode=listener|caller[&latency=MS]` (MPEG-TS over SRT).
        public var outputs: [String] = []
        /// Measure the bandwidth from the receivers' RTCP reports (loss, round-trip time) and lower the live
        /// stream below the budget when the path cannot carry it (docs/cameras.md).
        public var automaticBandwidth = true
        /// The live H.264 encoder: `auto` takes the first hardware encoder present (v4l2h264enc, vaapih264enc or
        /// vah264enc, nvh264enc), else x264enc; an explicit choice that is not available stops boothd at start.
        public var encoder = H264EncoderPreference.auto
    }

    public struct Storage: Sendable, Equatable {
        /// Directory for the outbox database and the generated token.
        public var stateDirectory = "/var/lib/boothd"
        /// Hours delivered data is kept before it is purged (GDPR: no longer than needed).
        public var retentionHours = 24.0
    }

    public enum LogFormat: String, Sendable, Equatable, CaseIterable {
        /// `journald` when started by systemd (JOURNAL_STREAM set), `text` otherwise.
        case auto
        case journald
        case text
    }

    public enum LogLevel: String, Sendable, Equatable, CaseIterable {
        case trace, debug, info, notice, warning, error, critical
    }

    public struct Logging: Sendable, Equatable {
        public var level = LogLevel.info
        public var format = LogFormat.auto
    }

    public struct Profiles: Sendable, Equatable {
        /// Directories searched for firmware profiles; later ones override earlier ones (site overrides in /etc).
        public var directories = ["/usr/share/boothd/firmware-profiles", "/etc/boothd/firmware-profiles"]
    }

    /// What this booth or nurse case is equipped with (issue 11): the readiness check's "expected" list.
    public struct Booth: Sendable, Equatable {
        /// One entry per role: `thermometer` or `thermometer=Jumper JPD-FR400` (role, then the model serving it).
        /// Roles: oximeter, bp, thermometer, glucometer, scale, otoscope, dermatoscope, oral-camera, stethoscope,
        /// ecg, room-camera. Empty: the readiness check has nothing to expect.
        public var inventory: [String] = []
        /// The user slot of a multi-user cuff that belongs to the booth; 0 = the cuff is used as single-user.
        public var cuffUserSlot = 0
        /// Battery level (percent) at or below which the readiness check warns.
        public var batteryWarningPercent = 20
        /// Seconds without news from a device before the readiness check says it is not seen.
        public var staleSeconds = 300
    }

    /// Bluetooth LE devices through bluetoothd (issue 5).
    public struct BLE: Sendable, Equatable {
        /// Which devices boothd connects to by itself when they advertise.
        public enum ConnectPolicy: String, Sendable, Equatable, CaseIterable {
            /// Only devices bonded beforehand (`boothctl pair`): a neighbour's device is never read.
            case bonded
            /// Every device a firmware profile claims (a booth in a room of its own).
            case matching
        }
        /// Runs BLE devices when an adapter is present; false never touches Bluetooth.
        public var enabled = true
        /// Adapter name (`hci1`) or address; empty: the first powered adapter.
        public var adapter = ""
        public var connect = ConnectPolicy.bonded
        /// Advertisements weaker than this (dBm) are ignored; 0 accepts any strength.
        public var minimumRSSI = 0
        /// Notifications through BlueZ's AcquireNotify (a socket per characteristic, one packet per notification)
        /// instead of StartNotify's property changes; indications and refusals fall back to StartNotify.
        public var acquireNotify = false
        /// First wait before reconnecting a device that disconnected (doubles up to 30 s while attempts fail).
        public var reconnectDelaySeconds = 1.0
        /// Longest pause between two driver runs of one device (a link that ended soon after it started doubles
        /// the pause from 0.2 s up to this); short only for power-cycle soaks.
        public var driverRestartMaxSeconds = 5.0
    }

    public var api = API()
    public var metrics = Metrics()
    public var simulator = Simulator()
    public var media = Media()
    public var storage = Storage()
    public var logging = Logging()
    public var profiles = Profiles()
    public var booth = Booth()
    public var ble = BLE()

    public init() {}

    /// Where `boothd` looks for its file when `--config` is not given.
    public static let defaultPath = "/etc/boothd/boothd.yaml"
}
