import BoothCore
import CBoothShim
import CGStreamer
import Logging
import Synchronization

/// The sending side's view of one peer connection, from webrtcbin's `get-stats`.
public struct WebRTCSendStatistics: Sendable, Hashable {
    /// Worst fraction lost in the receiver's latest RTCP reports (0...1); nil before the first report.
    public var fractionLost: Double?
    /// Round-trip time from those reports (seconds).
    public var roundTripSeconds: Double?
    public var packetsLost: Int64
    public var packetsSent: UInt64
    public var bytesSent: UInt64
    /// How many remote-inbound-rtp entries (one per track with a receiver report).
    public var remoteReports: Int

    /// The estimator's input, when the receiver has reported.
    public var pathReport: PathReport? {
        guard remoteReports > 0, let fractionLost else { return nil }
        return PathReport(fractionLost: fractionLost, roundTripSeconds: roundTripSeconds)
    }
}

extension WebRTCPeer {
    /// webrtcbin's statistics (bounded wait); nil when the peer is stopping or webrtcbin does not answer.
    public func statistics(timeout: Duration = .milliseconds(500)) async -> WebRTCSendStatistics? {
        let graph = self.graph
        guard !graph.stopping.load(ordering: .relaxed) else { return nil }
        // Our own reference: a stop() while the query runs must not finalize webrtcbin under it.
        let element = ElementHandle(graph.webrtc)
        let milliseconds = guint(max(1, timeout.nanoseconds / 1_000_000))
        return await runBlocking(name: "booth-webrtc-stats") { () -> WebRTCSendStatistics? in
            defer { element.release() }
            var raw = BoothWebRTCStats()
            guard booth_webrtc_get_stats(element.pointer, milliseconds, &raw) == 1 else { return nil }
            // GStreamer reports RTCP's 8-bit fraction divided by 256; older versions gave the raw byte.
            let fraction =
                raw.fraction_lost < 0 ? nil : raw.fraction_lost > 1 ? raw.fraction_lost / 256 : raw.fraction_lost
            return WebRTCSendStatistics(
                fractionLost: fraction,
                roundTripSeconds: raw.round_trip < 0 ? nil : raw.round_trip,
                packetsLost: Int64(raw.packets_lost),
                packetsSent: UInt64(raw.packets_sent),
                bytesSent: UInt64(raw.bytes_sent),
                remoteReports: Int(raw.remote_reports)
            )
        }
    }
}

/// A strong reference to an element, released once.
final class ElementHandle: @unchecked Sendable {
    let pointer: ElementPointer

    init(_ pointer: ElementPointer) {
        self.pointer = pointer
        _ = gst_object_ref(UnsafeMutableRawPointer(pointer))
    }

    func release() { gst_object_unref(UnsafeMutableRawPointer(pointer)) }
}

/// Measures the bandwidth of live sessions from the receivers' RTCP reports and gives it to `LiveMedia`, which
/// re-plans the budget (the camera's encoder bit rate and ladder rung follow). Every `interval` it asks each video
/// peer's webrtcbin for statistics, feeds the worst report to a `BandwidthEstimator` capped at the configured
/// budget, and applies the estimate when it moved by `threshold` (5 %) or returned to the cap.
public actor BandwidthMonitor {
    private let media: LiveMedia
    private let interval: Duration
    private let threshold: Double
    private let logger: Logger
    private var estimator: BandwidthEstimator
    private var applied: Int?
    private var task: Task<Void, Never>?
    /// Estimates applied so far (kbit/s), newest last (bounded), for logs and tests.
    public private(set) var history: [Int] = []

    public init(
        media: LiveMedia,
        interval: Duration = .seconds(1),
        threshold: Double = 0.05,
        logger: Logger = Logger(label: "boothd.bandwidth")
    ) {
        self.media = media
        self.interval = interval
        self.threshold = threshold
        self.logger = logger
        self.estimator = BandwidthEstimator(
            capKbps: min(1000, media.policy.budgetKbps),
            floorKbps: media.policy.videoFloorKbps
        )
    }

    public func start() {
        guard task == nil else { return }
        // Holds the monitor until stop(): boothd keeps no other reference.
        let interval = self.interval
        task = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { return }
                await self.step()
            }
        }
    }

    public func stop() async {
        task?.cancel()
        task = nil
        if applied != nil { await media.setAutomaticBandwidth(kbps: nil) }
        applied = nil
    }

    /// One measurement round (also called by tests).
    public func step() async {
        let peers = await media.videoPeers
        guard !peers.isEmpty else {
            // No session: start the next one at the configured budget.
            estimator = BandwidthEstimator(capKbps: estimator.capKbps, floorKbps: estimator.floorKbps)
            if applied != nil {
                applied = nil
                await media.setAutomaticBandwidth(kbps: nil)
            }
            return
        }
        var worst: PathReport?
        for peer in peers {
            guard let report = await peer.statistics()?.pathReport else { continue }
            if worst == nil || report.fractionLost > (worst?.fractionLost ?? 0) { worst = report }
        }
        guard let worst else { return }
        let decision = estimator.update(worst)
        let estimate = estimator.kbps
        let atCap = estimate >= estimator.capKbps
        let current = applied ?? estimator.capKbps
        guard atCap ? applied != nil : abs(Double(estimate - current)) >= threshold * Double(current) else { return }
        applied = atCap ? nil : estimate
        history.append(estimate)
        if history.count > 256 { history.removeFirst(history.count - 256) }
        logger.info(
            "measured bandwidth",
            metadata: [
                "kbps": "\(estimate)", "decision": "\(decision)",
                "loss": "\(worst.fractionLost)", "rtt_s": "\(worst.roundTripSeconds.map { "\($0)" } ?? "-")",
            ]
        )
        await media.setAutomaticBandwidth(kbps: atCap ? nil : estimate)
    }
}
