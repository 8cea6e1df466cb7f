/// Which H.264 encoder the live stream uses (`media.encoder`).
public enum H264EncoderPreference: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The first hardware encoder present (`v4l2`, `vaapi`, `nvenc` in that order), else x264.
    case auto
    /// `x264enc` (software, zerolatency).
    case x264
    /// `v4l2h264enc`: a stateful V4L2 memory-to-memory encoder (Raspberry Pi and other SoCs).
    case v4l2
    /// `vaapih264enc` (gstreamer-vaapi) or `vah264enc` (the newer `va` plugin): Intel/AMD VA-API.
    case vaapi
    /// `nvh264enc`: NVIDIA NVENC.
    case nvenc

    public var description: String { rawValue }

    /// The encoders this preference accepts, in the order they are tried.
    public var candidates: [H264EncoderSpec] {
        switch self {
        case .auto: [.v4l2, .vaapi, .va, .nvenc, .x264]
        case .x264: [.x264]
        case .v4l2: [.v4l2]
        case .vaapi: [.vaapi, .va]
        case .nvenc: [.nvenc]
        }
    }
}

/// How an encoder is told its target bit rate.
public enum H264BitrateControl: Sendable, Hashable {
    /// An unsigned property in kbit/s (x264enc, vaapih264enc, vah264enc, nvh264enc `bitrate`).
    case kilobitsPerSecond(property: String)
    /// V4L2 control `video_bitrate` in bit/s, carried in the `extra-controls` structure (v4l2h264enc).
    case v4l2ExtraControls
}

/// What the live branch needs to configure an encoder: its target and keyframe spacing.
public struct H264EncoderParameters: Sendable, Hashable {
    /// Target bit rate, kbit/s.
    public var targetKbps: Int
    /// Frames between keyframes.
    public var keyframeInterval: Int
    /// x264 `speed-preset` nickname; other encoders ignore it.
    public var x264Preset: String
    /// x264 VBV buffer (ms); bounds the overshoot over a window. Other encoders use their own CBR buffer.
    public var vbvMilliseconds: Int

    public init(targetKbps: Int, keyframeInterval: Int, x264Preset: String = "veryfast", vbvMilliseconds: Int = 500) {
        self.targetKbps = targetKbps
        self.keyframeInterval = keyframeInterval
        self.x264Preset = x264Preset
        self.vbvMilliseconds = vbvMilliseconds
    }
}

/// One H.264 encoder element: its factory, the Debian package that provides it and the properties that make it
/// a low-latency constant-bit-rate encoder. Property values are strings as `gst_util_set_object_arg` parses them
/// (numbers, enum nicknames, booleans, a serialized `GstStructure`).
public struct H264EncoderSpec: Sendable, Hashable, CustomStringConvertible {
    /// GStreamer element factory name.
    public var element: String
    /// Debian package that provides the element.
    public var package: String
    public var isHardware: Bool
    public var bitrate: H264BitrateControl
    /// Raw format fed to the encoder (`video/x-raw,format=…`): vah264enc takes NV12 only; NV12 is the native
    /// surface format of the VA-API and NVENC encoders too.
    public var inputFormat: String = "I420"

    public var description: String { element }

    /// `x264enc`: zerolatency tuning (no look-ahead, no B-frames), kbit/s, VBV buffer bounds the overshoot.
    public static let x264 = H264EncoderSpec(
        element: "x264enc",
        package: "gstreamer1.0-plugins-ugly",
        isHardware: false,
        bitrate: .kilobitsPerSecond(property: "bitrate")
    )
    /// `v4l2h264enc`: bitrate mode CBR (1), bit rate in bit/s, I-frame period, SPS/PPS with every keyframe.
    public static let v4l2 = H264EncoderSpec(
        element: "v4l2h264enc",
        package: "gstreamer1.0-plugins-good",
        isHardware: true,
        bitrate: .v4l2ExtraControls
    )
    /// `vaapih264enc`: rate-control cbr, kbit/s, no B-frames.
    public static let vaapi = H264EncoderSpec(
        element: "vaapih264enc",
        package: "gstreamer1.0-vaapi",
        isHardware: true,
        bitrate: .kilobitsPerSecond(property: "bitrate"),
        inputFormat: "NV12"
    )
    /// `vah264enc`: rate-control cbr, kbit/s, no B-frames.
    public static let va = H264EncoderSpec(
        element: "vah264enc",
        package: "gstreamer1.0-plugins-bad",
        isHardware: true,
        bitrate: .kilobitsPerSecond(property: "bitrate"),
        inputFormat: "NV12"
    )
    /// `nvh264enc`: preset low-latency, rc-mode cbr, kbit/s, zero latency, no B-frames.
    public static let nvenc = H264EncoderSpec(
        element: "nvh264enc",
        package: "gstreamer1.0-plugins-bad",
        isHardware: true,
        bitrate: .kilobitsPerSecond(property: "bitrate"),
        inputFormat: "NV12"
    )

    /// Every known encoder.
    public static let all: [H264EncoderSpec] = [.x264, .v4l2, .vaapi, .va, .nvenc]

    /// Properties set when the element is created, in order.
    public func settings(_ parameters: H264EncoderParameters) -> [(property: String, value: String)] {
        let target = max(1, parameters.targetKbps)
        let gop = max(1, parameters.keyframeInterval)
        switch element {
        case "x264enc":
            return [
                ("tune", "zerolatency"), ("speed-preset", parameters.x264Preset), ("bitrate", "\(target)"),
                ("vbv-buf-capacity", "\(parameters.vbvMilliseconds)"), ("key-int-max", "\(gop)"),
            ]
        case "v4l2h264enc":
            // V4L2_MPEG_VIDEO_BITRATE_MODE_CBR = 1.
            return [
                (
                    "extra-controls",
                    "controls,video_bitrate_mode=1,video_bitrate=\(target * 1000),h264_i_frame_period=\(gop),"
                        + "repeat_sequence_header=1"
                )
            ]
        case "vaapih264enc":
            return [
                ("rate-control", "cbr"), ("bitrate", "\(target)"), ("keyframe-period", "\(gop)"), ("max-bframes", "0"),
            ]
        case "vah264enc":
            return [("rate-control", "cbr"), ("bitrate", "\(target)"), ("key-int-max", "\(gop)"), ("b-frames", "0")]
        case "nvh264enc":
            return [
                ("preset", "low-latency"), ("rc-mode", "cbr"), ("bitrate", "\(target)"), ("gop-size", "\(gop)"),
                ("zerolatency", "true"), ("bframes", "0"),
            ]
        default:
            return bitrateSetting(kbps: target).map { [$0] } ?? []
        }
    }

    /// The property change that sets a new target while playing (bandwidth adaptation).
    public func bitrateSetting(kbps: Int) -> (property: String, value: String)? {
        let target = max(1, kbps)
        switch bitrate {
        case .kilobitsPerSecond(let property): return (property, "\(target)")
        case .v4l2ExtraControls: return ("extra-controls", "controls,video_bitrate=\(target * 1000)")
        }
    }
}

/// An explicit `media.encoder` whose element is not installed (or whose hardware is absent: hardware encoder
/// elements register only when their device or driver is found).
public struct H264EncoderUnavailable: Error, Sendable, Hashable, CustomStringConvertible {
    public var preference: H264EncoderPreference

    public init(preference: H264EncoderPreference) {
        self.preference = preference
    }

    public var description: String {
        // `auto` can always fall back to x264, so only x264's package is a must.
        let required = preference == .auto ? [H264EncoderSpec.x264] : preference.candidates
        let options = required.map { "\($0.element) (Debian package \($0.package))" }
        let fallback = preference == .auto ? "" : ", or set media.encoder=auto"
        return "media.encoder=\(preference): H.264 encoder element "
            + options.joined(separator: " or ")
            + " is not available: install the package, check that the hardware and its driver are present "
            + "(gst-inspect-1.0 \(required.first?.element ?? ""))\(fallback)"
    }
}

extension H264EncoderPreference {
    /// The encoder to use: the first candidate `isAvailable` accepts. An explicit choice that is not available
    /// is an error; `auto` falls back to x264 (and fails, naming x264's package, when even that is missing).
    public func resolve(
        isAvailable: (String) -> Bool
    ) throws(H264EncoderUnavailable) -> H264EncoderSpec {
        if let found = candidates.first(where: { isAvailable($0.element) }) { return found }
        throw H264EncoderUnavailable(preference: self)
    }
}
