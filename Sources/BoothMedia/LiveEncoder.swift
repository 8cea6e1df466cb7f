import BoothCore
import CBoothShim
import CGStreamer

/// Chooses and configures the live branch's H.264 encoder (`media.encoder`); the choice and the per-encoder
/// property table are pure (`H264EncoderPreference.resolve`, `H264EncoderSpec.settings`), this only asks
/// GStreamer's registry what is installed and applies the properties.
public enum LiveEncoder {
    /// Hardware encoder elements register only when their device or driver is found (a V4L2 m2m encoder node,
    /// a working VA driver, CUDA/NVENC), so a registered factory means the encoder can be tried.
    public static func resolve(_ preference: H264EncoderPreference) throws(CameraError) -> H264EncoderSpec {
        do {
            return try preference.resolve(isAvailable: MediaRuntime.hasElement)
        } catch {
            throw .encoderUnavailable(error)
        }
    }

    /// Sets the encoder's low-latency CBR properties. A property this element's version lacks is skipped (the
    /// encoder's own default then applies) rather than failing the camera.
    static func configure(_ element: ElementPointer, _ spec: H264EncoderSpec, _ parameters: H264EncoderParameters) {
        for setting in spec.settings(parameters) where hasProperty(element, setting.property) {
            setArg(element, setting.property, setting.value)
        }
    }

    static func hasProperty(_ element: ElementPointer, _ name: String) -> Bool {
        guard let instanceClass = booth_g_object(element).pointee.g_type_instance.g_class else { return false }
        let objectClass = UnsafeMutableRawPointer(instanceClass).assumingMemoryBound(to: GObjectClass.self)
        return g_object_class_find_property(objectClass, name) != nil
    }
}

extension CameraPipeline {
    /// The element the live branch uses for this camera's `media.encoder` (`x264enc`, `v4l2h264enc`, ...).
    public nonisolated func liveEncoder() throws(CameraError) -> H264EncoderSpec {
        try LiveEncoder.resolve(configuration.encoder)
    }
}
