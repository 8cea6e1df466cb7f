/// Driver ids the shipped profiles may name. Issue 3's decoders and the transport drivers land in BoothCore in
/// parallel; until BoothCore has a driver registry this list is the contract between profiles and drivers, and
/// `boothctl profiles validate` checks every profile against it. Replace with the registry's ids when it lands.
public enum KnownDrivers {
    public static let ids: Set<String> = [
        // Bluetooth SIG services
        "ble.plx", "ble.bps", "ble.hts", "ble.glucose", "ble.weight",
        // vendor frames (decode kinds cms50/berrymed/jumper/yuwell/viatom-frame)
        "contec.cms50", "berrymed.bci", "jumper.oximeter", "yuwell.oximeter", "viatom.o2",
        // waveforms (Polar PMD ECG stream, Heart Rate service)
        "polar.pmd.ecg",
        // media
        "v4l2.uvc", "alsa.capture",
    ]
}
