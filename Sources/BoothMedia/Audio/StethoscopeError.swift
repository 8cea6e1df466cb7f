/// Why the stethoscope pipeline, a recording or a device look-up failed; each description is one line naming
/// the element, device or file and the reason.
public enum StethoscopeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A GStreamer element is not installed.
    case missingElement(element: String, package: String)
    /// Two elements would not link (caps or pads).
    case linkFailed(from: String, to: String)
    /// A configuration value is out of range.
    case invalidArgument(name: String, reason: String)
    /// The capture device is held by another program (ALSA names the holder in /proc when it can).
    case deviceBusy(device: String, holder: String?)
    /// The capture device does not exist or cannot be opened.
    case deviceUnavailable(device: String, detail: String)
    /// An element posted an error on the bus.
    case pipelineError(element: String, message: String, debug: String)
    /// The pipeline did not reach PLAYING, or produced no audio, in time.
    case timedOut(what: String, seconds: Double)
    /// The pipeline is not running (never started, stopped, or failed).
    case notRunning
    /// The operation needs a pushed-samples source (`StethoscopeConfiguration.Source.pushed`).
    case notPushSource
    /// Writing a recording or picture failed.
    case writeFailed(path: String, detail: String)
    /// The recording ended before any audio was captured.
    case emptyRecording(path: String)

    public var description: String {
        switch self {
        case .missingElement(let element, let package):
            "GStreamer element '\(element)' is not installed (apt-get install \(package))"
        case .linkFailed(let from, let to):
            "cannot link GStreamer element '\(from)' to '\(to)' (incompatible formats)"
        case .invalidArgument(let name, let reason):
            "invalid \(name): \(reason)"
        case .deviceBusy(let device, let holder):
            if let holder {
                "audio device \(device) is busy: held by \(holder)"
            } else {
                "audio device \(device) is busy: another program holds it"
            }
        case .deviceUnavailable(let device, let detail):
            "audio device \(device) cannot be opened: \(detail)"
        case .pipelineError(let element, let message, let debug):
            debug.isEmpty ? "\(element): \(message)" : "\(element): \(message) (\(debug))"
        case .timedOut(let what, let seconds):
            "\(what) did not happen within \(seconds) s"
        case .notRunning:
            "the stethoscope pipeline is not running"
        case .notPushSource:
            "samples can only be pushed into a pipeline whose source is .pushed"
        case .writeFailed(let path, let detail):
            "cannot write \(path): \(detail)"
        case .emptyRecording(let path):
            "recording \(path) captured no audio before the stream ended"
        }
    }
}
