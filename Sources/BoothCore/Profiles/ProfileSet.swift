/// The profiles in force: shipped ones overridden by site ones (same id, later layer wins). A value: the daemon
/// builds a new set on SIGHUP and swaps it in, so a lookup never sees a half-loaded set.
public struct ProfileSet: Sendable, Equatable {
    /// By id, in id order.
    public private(set) var profiles: [DeviceProfile]
    /// Profiles a later layer replaced: (replaced, replacement).
    public private(set) var overridden: [(replaced: ProfileOrigin, by: ProfileOrigin, id: String)]

    public init() {
        profiles = []
        overridden = []
    }

    /// Layers in increasing precedence (e.g. /usr/share, then /etc). Within one layer ids must be unique (the
    /// loader reports duplicates); across layers the later one wins.
    public init(layers: [[DeviceProfile]]) {
        var byID: [String: DeviceProfile] = [:]
        var overridden: [(replaced: ProfileOrigin, by: ProfileOrigin, id: String)] = []
        for layer in layers {
            for profile in layer {
                if let previous = byID[profile.id] {
                    overridden.append((previous.origin, profile.origin, profile.id))
                }
                byID[profile.id] = profile
            }
        }
        profiles = byID.values.sorted { $0.id < $1.id }
        self.overridden = overridden
    }

    public static func == (lhs: ProfileSet, rhs: ProfileSet) -> Bool { lhs.profiles == rhs.profiles }

    public subscript(id: String) -> DeviceProfile? { profiles.first { $0.id == id } }

    /// Every profile matching `device`, most specific first (ties in id order).
    public func matches(_ device: DeviceDescription) -> [ProfileMatch] {
        var result: [ProfileMatch] = []
        for profile in profiles {
            var best: (score: Int, rule: Int)?
            for (index, rule) in profile.match.enumerated() {
                if let score = rule.score(device), score > (best?.score ?? -1) { best = (score, index) }
            }
            if let best { result.append(ProfileMatch(profile: profile, score: best.score, ruleIndex: best.rule)) }
        }
        return result.sorted { $0.score != $1.score ? $0.score > $1.score : $0.profile.id < $1.profile.id }
    }

    /// The profile that claims `device`: the most specific match. When two profiles match equally well the
    /// result is ambiguous and nil is returned rather than a guess (`boothctl profiles match` shows both).
    public func bestMatch(_ device: DeviceDescription) -> ProfileMatch? {
        let all = matches(device)
        guard let first = all.first else { return nil }
        if all.count > 1, all[1].score == first.score { return nil }
        return first
    }

    /// Whether `firmware` is one a trace proved; profiles without a list accept every version unverified.
    public static func firmwareStatus(_ profile: DeviceProfile, firmware: String?) -> FirmwareStatus {
        guard let firmware else { return .unknown }
        return profile.verifiedFirmware.contains(firmware) ? .verified : .unverified
    }
}

/// A profile that matched a device.
public struct ProfileMatch: Sendable, Equatable {
    public var profile: DeviceProfile
    /// Specificity of the best matching rule (see `MatchRule.score`).
    public var score: Int
    /// Which of the profile's `match` alternatives matched.
    public var ruleIndex: Int
}

/// Whether a device's firmware is one a recorded trace proved.
public enum FirmwareStatus: String, Sendable, Equatable, Codable {
    case verified
    /// Known version, not in the profile's verified list: works as far as the protocol is the same; log it.
    case unverified
    /// The device did not report its version.
    case unknown
}
