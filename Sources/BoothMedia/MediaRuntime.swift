import CGStreamer

/// Process-wide GStreamer state. `gst_init` must run once before any element is created.
public enum MediaRuntime {
    private static let initialized: Bool = {
        gst_init(nil, nil)
        return true
    }()

    /// Initializes GStreamer (idempotent, thread-safe through Swift's lazy static initialization).
    public static func initialize() {
        _ = initialized
    }

    /// GStreamer's version string, e.g. `GStreamer 1.22.0`.
    public static var version: String {
        initialize()
        guard let text = gst_version_string() else { return "GStreamer (unknown)" }
        defer { g_free(text) }
        return String(cString: text)
    }

    /// True when an element factory of that name is registered (its plugin is installed).
    public static func hasElement(_ name: String) -> Bool {
        initialize()
        guard let factory = gst_element_factory_find(name) else { return false }
        gst_object_unref(UnsafeMutableRawPointer(factory))
        return true
    }

    /// Elements boothd's pipelines need, with the Debian package that provides each.
    public static let requiredElements: [(element: String, package: String)] = [
        ("videotestsrc", "gstreamer1.0-plugins-base"),
        ("videoconvert", "gstreamer1.0-plugins-base"),
        ("videoscale", "gstreamer1.0-plugins-base"),
        ("videorate", "gstreamer1.0-plugins-base"),
        ("appsink", "gstreamer1.0-plugins-base"),
        ("tee", "libgstreamer1.0-0"),
        ("queue", "libgstreamer1.0-0"),
        ("v4l2src", "gstreamer1.0-plugins-good"),
        ("jpegdec", "gstreamer1.0-plugins-good"),
        ("jpegenc", "gstreamer1.0-plugins-good"),
        ("x264enc", "gstreamer1.0-plugins-ugly"),
        ("h264parse", "gstreamer1.0-plugins-bad"),
        ("rtph264pay", "gstreamer1.0-plugins-good"),
        ("webrtcbin", "gstreamer1.0-plugins-bad"),
        ("nicesrc", "gstreamer1.0-nice"),
        ("rtpopuspay", "gstreamer1.0-plugins-good"),
        ("alsasrc", "gstreamer1.0-alsa"),
        ("opusenc", "gstreamer1.0-plugins-base"),
        ("flacenc", "gstreamer1.0-plugins-good"),
        ("audiocheblimit", "gstreamer1.0-plugins-good"),
    ]
}

extension MediaRuntime {
    /// The Debian package that provides an element factory (for "install X" errors).
    public static func package(providing element: String) -> String {
        requiredElements.first { $0.element == element }?.package
            ?? (element == "valve" ? "libgstreamer1.0-0" : "gstreamer1.0-plugins-good")
    }
}
