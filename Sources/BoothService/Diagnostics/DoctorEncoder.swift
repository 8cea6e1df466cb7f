import BoothCore
import BoothMedia

extension Doctor {
    /// The live H.264 encoder boothd would use (`media.encoder`), or why it cannot start.
    func liveEncoder() -> DoctorCheck {
        let preference = (try? ConfigLoader.load(path: configPath, environment: environment))?.media.encoder ?? .auto
        do {
            let spec = try preference.resolve(isAvailable: MediaRuntime.hasElement)
            let kind = spec.isHardware ? "hardware" : "software"
            let note = preference == .auto && !spec.isHardware ? "; no hardware H.264 encoder registered" : ""
            return DoctorCheck(
                name: "live video encoder",
                verdict: .pass,
                detail: "\(spec.element) (\(kind); media.encoder=\(preference)\(note))"
            )
        } catch {
            let required = preference == .auto ? [H264EncoderSpec.x264] : preference.candidates
            let packages = Set(required.map(\.package)).sorted().joined(separator: " or ")
            return DoctorCheck(
                name: "live video encoder",
                verdict: .fail,
                detail: error.description,
                hint: "apt-get install \(packages)" + (preference == .auto ? "" : ", or set media.encoder=auto")
            )
        }
    }
}
