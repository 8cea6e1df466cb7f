import BoothCore
import Foundation
import Synchronization

/// Loads every profile from a list of directories (later directories override earlier ones by profile id: the
/// shipped `/usr/share/boothd/firmware-profiles`, then the site's `/etc/boothd/firmware-profiles`) and checks them
/// together: duplicate ids within one directory, driver ids, trace files.
public struct ProfileDirectoryLoader: Sendable {
    public var directories: [String]
    /// Driver ids boothd has; nil skips the check (e.g. before the drivers are linked in).
    public var knownDrivers: Set<String>?
    /// Also parse every trace a profile points at.
    public var checkTraces: Bool

    public init(directories: [String], knownDrivers: Set<String>? = nil, checkTraces: Bool = true) {
        self.directories = directories
        self.knownDrivers = knownDrivers
        self.checkTraces = checkTraces
    }

    /// The profile files of one directory, in name order. A missing directory has none (a site need not have /etc
    /// overrides); a path that is a file is taken as one profile.
    public static func profileFiles(in path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [] }
        guard isDirectory.boolValue else { return [path] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { "\(path)/\($0)" }
    }

    /// Loads all directories; throws every problem found, not only the first.
    public func load() throws(ProfileLoadErrors) -> ProfileSet {
        var errors: [ProfileError] = []
        var layers: [[DeviceProfile]] = []
        for directory in directories {
            var layer: [DeviceProfile] = []
            var seen: [String: ProfileOrigin] = [:]
            for file in Self.profileFiles(in: directory) {
                do {
                    let profile = try ProfileLoader.load(path: file)
                    if let first = seen[profile.id] {
                        errors.append(
                            ProfileError(
                                file: file,
                                line: profile.origin.line,
                                key: "id",
                                reason: "\"\(profile.id)\" is already defined in \(first) (same directory)"
                            )
                        )
                        continue
                    }
                    seen[profile.id] = profile.origin
                    errors += check(profile)
                    layer.append(profile)
                } catch {
                    errors.append(error)
                }
            }
            layers.append(layer)
        }
        guard errors.isEmpty else { throw ProfileLoadErrors(errors) }
        return ProfileSet(layers: layers)
    }

    /// Checks that need more than the file itself: the driver exists, the trace exists and parses.
    public func check(_ profile: DeviceProfile) -> [ProfileError] {
        var errors: [ProfileError] = []
        if let knownDrivers, !knownDrivers.contains(profile.driver) {
            errors.append(
                ProfileError(
                    file: profile.origin.file,
                    line: nil,
                    key: "driver",
                    reason: "no driver \"\(profile.driver)\" in this build (known: "
                        + "\(knownDrivers.sorted().joined(separator: ", ")))"
                )
            )
        }
        if checkTraces, let path = Self.tracePath(of: profile) {
            do {
                _ = try Self.loadTrace(path)
            } catch {
                errors.append(ProfileError(file: profile.origin.file, line: nil, key: "trace", reason: "\(error)"))
            }
        }
        return errors
    }

    /// The trace file of a profile, resolved against the profile's directory.
    public static func tracePath(of profile: DeviceProfile) -> String? {
        guard let trace = profile.trace else { return nil }
        return URL(fileURLWithPath: profile.origin.file).deletingLastPathComponent().appendingPathComponent(trace).path
    }

    /// Reads and parses a trace; errors name the trace file.
    public static func loadTrace(_ path: String) throws(ProfileError) -> DeviceTrace {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ProfileError(file: path, line: nil, key: "", reason: "trace cannot be read")
        }
        do {
            return try DeviceTrace.parse(text)
        } catch {
            throw ProfileError(file: path, line: error.line, key: "", reason: error.reason)
        }
    }
}

/// The profile set the daemon uses, swapped whole on reload (SIGHUP): readers never see a partial set, and a
/// reload with errors keeps the set in force.
public final class ProfileLibrary: Sendable {
    private let loader: ProfileDirectoryLoader
    private let state: Mutex<ProfileSet>

    /// Loads once; throws (the daemon exits 78) when the profiles in force at start have errors.
    public init(loader: ProfileDirectoryLoader) throws(ProfileLoadErrors) {
        self.loader = loader
        state = Mutex(try loader.load())
    }

    public var current: ProfileSet { state.withLock { $0 } }

    /// Reloads from disk. On error the previous set stays in force and the errors are thrown for logging.
    @discardableResult
    public func reload() throws(ProfileLoadErrors) -> ProfileReloadSummary {
        let fresh = try loader.load()
        let previous = state.withLock { current in
            let old = current
            current = fresh
            return old
        }
        return ProfileReloadSummary(previous: previous, current: fresh)
    }
}

/// What a reload changed, by profile id.
public struct ProfileReloadSummary: Sendable, Equatable, CustomStringConvertible {
    public var added: [String]
    public var removed: [String]
    public var changed: [String]

    public init(previous: ProfileSet, current: ProfileSet) {
        let old = Dictionary(uniqueKeysWithValues: previous.profiles.map { ($0.id, $0) })
        let new = Dictionary(uniqueKeysWithValues: current.profiles.map { ($0.id, $0) })
        added = new.keys.filter { old[$0] == nil }.sorted()
        removed = old.keys.filter { new[$0] == nil }.sorted()
        changed = new.keys.filter { id in old[id].map { $0 != new[id] } ?? false }.sorted()
    }

    public var description: String {
        "\(added.count) added, \(removed.count) removed, \(changed.count) changed"
            + (added + removed + changed).prefix(8).map { " \($0)" }.joined()
    }
}
