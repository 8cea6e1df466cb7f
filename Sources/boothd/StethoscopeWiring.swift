import BoothAPI
import BoothMedia
import BoothService

extension Daemon {
    /// Stethoscope level meters and live filter modes for the session API (`stethoscope.level`, `stethoscope.mode`).
    /// The simulator's live audio belongs to `sim:stethoscope`: `stethoscope.mode` on it changes the live filter.
    static func wireStethoscopes(media: MediaDeviceCommands, hub: SessionHub, liveMedia: LiveMedia) async {
        hub.stethoscopes.attach(media.levels)
        if let source = await liveMedia.audioSource as? StethoscopeLiveSource {
            await media.levels.setLiveSource(source, deviceID: "sim:stethoscope")
        }
    }
}
