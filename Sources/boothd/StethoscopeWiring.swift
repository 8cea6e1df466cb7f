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

    /// Switches the live WebRTC audio to a hotplugged stethoscope (`MediaHotplug`), or back to `fallback` (the
    /// simulator's, if any) when none is plugged in; `stethoscope.mode` on the device then changes its live filter.
    static func liveStethoscopeSwitch(
        media: MediaDeviceCommands,
        liveMedia: LiveMedia
    ) async -> @Sendable (LiveStethoscope?) async -> Void {
        let fallback = await liveMedia.audioSource
        return { live in
            if let live {
                await media.levels.setLiveSource(live.source, deviceID: live.deviceID)
                await liveMedia.setAudioSource(live.source)
            } else {
                await liveMedia.setAudioSource(fallback)
            }
        }
    }
}
