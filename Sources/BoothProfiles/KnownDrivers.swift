import BoothCore

/// Driver ids profiles may name, and how a trace of each is decoded: the `DecoderRegistry` kind and, for byte
/// streams (USB serial), the framing. `boothctl profiles validate` rejects any other driver id.
public enum KnownDrivers {
    /// How a driver's device bytes become readings.
    public struct Decoding: Sendable {
        /// `DecoderRegistry` kind (`boothctl decode` KIND).
        public var kind: String
        /// Framing of a serial byte stream; nil when each chunk (a BLE notification) is one frame.
        public var streamFrame: (any FrameSpec)?
    }

    /// Drivers with a frame decoder (trace expectations can be checked).
    public static let decoding: [String: Decoding] = [
        "contec.cms50": Decoding(kind: "cms50", streamFrame: SyncBitFrameSpec(length: 5)),
        "berrymed.bci": Decoding(kind: "berrymed", streamFrame: SyncBitFrameSpec(length: 5)),
        "jumper.oximeter": Decoding(kind: "jumper"),
        "yuwell.oximeter": Decoding(kind: "yuwell"),
        "viatom.o2": Decoding(kind: "viatom-frame"),
    ]

    public static let ids: Set<String> = Set(decoding.keys).union([
        // Bluetooth SIG services (GATT drivers over the characteristic decoders)
        "ble.plx", "ble.bps", "ble.hts", "ble.glucose", "ble.weight",
        // waveforms (Polar PMD ECG stream, Heart Rate service)
        "polar.pmd.ecg",
        // media
        "v4l2.uvc", "alsa.capture",
    ])
}
