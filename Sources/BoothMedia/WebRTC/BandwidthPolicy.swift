/// One bandwidth budget shared by the live video and audio of a session (issue 6/12: <= 1 Mbit/s together).
///
/// Audio has priority (the doctor must hear the chest piece): it takes its Opus bit rate plus the per-packet
/// overhead of RTP over SRTP/UDP/IP; video gets what is left, minus its own packet overhead. When that is
/// below `videoFloorKbps`, video is suspended (the session is told and uses snapshots instead).
public struct BandwidthPolicy: Sendable, Hashable {
    /// The site's budget for live media (kbit/s, on the wire).
    public var budgetKbps: Int
    /// Below this many kbit/s for video, the picture is useless: video stops in favour of snapshots.
    public var videoFloorKbps: Int
    /// Bytes each packet costs beyond its payload: IPv4 20 + UDP 8 + RTP 12 + SRTP tag 10 + header extensions 12.
    public var packetOverheadBytes: Int
    /// Typical video payload per packet (rtph264pay's MTU leaves ~1200 bytes).
    public var videoPacketBytes: Int

    public init(
        budgetKbps: Int = 1000,
        videoFloorKbps: Int = 150,
        packetOverheadBytes: Int = 62,
        videoPacketBytes: Int = 1200
    ) {
        self.budgetKbps = budgetKbps
        self.videoFloorKbps = videoFloorKbps
        self.packetOverheadBytes = packetOverheadBytes
        self.videoPacketBytes = videoPacketBytes
    }

    /// How the budget is shared. `measuredKbps` (from the transport or the client) lowers it, never raises it;
    /// `audioBitrate` (bit/s) is nil when no audio track is live.
    public func plan(measuredKbps: Int? = nil, audioBitrate: Int?, audioFrameMilliseconds: Int = 10) -> BandwidthPlan {
        let available = max(0, min(budgetKbps, measuredKbps ?? budgetKbps))
        var audioKbps = 0
        if let audioBitrate {
            let packetsPerSecond = 1000.0 / Double(max(1, audioFrameMilliseconds))
            let overhead = packetsPerSecond * Double(packetOverheadBytes) * 8 / 1000
            audioKbps = Int((Double(audioBitrate) / 1000 + overhead).rounded(.up))
        }
        let left = max(0, available - audioKbps)
        let payloadShare = Double(videoPacketBytes) / Double(videoPacketBytes + packetOverheadBytes)
        let videoKbps = Int((Double(left) * payloadShare).rounded(.down))
        return BandwidthPlan(
            availableKbps: available,
            audioKbps: audioKbps,
            videoKbps: videoKbps,
            videoSuspended: videoKbps < videoFloorKbps
        )
    }
}

/// The outcome of `BandwidthPolicy.plan`.
public struct BandwidthPlan: Sendable, Hashable, CustomStringConvertible {
    /// The budget in force (configured, or lower when measured lower).
    public var availableKbps: Int
    /// What the audio track costs on the wire (payload + packet overhead), 0 without audio.
    public var audioKbps: Int
    /// Video payload bit rate the camera is given (its encoder aims below it, see `BitrateLadder.headroom`).
    public var videoKbps: Int
    /// True when `videoKbps` is below the floor: no video, snapshots instead.
    public var videoSuspended: Bool

    public var description: String {
        "available \(availableKbps) kbit/s: audio \(audioKbps), video \(videoSuspended ? "suspended" : "\(videoKbps)")"
    }
}
