import BoothService
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Why the token file could not be read or written.
public struct TokenError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}

/// The bearer token file: 32 random bytes in hex, mode 0640, group `api.token_group` (the kiosk browser's
/// user reads it). The token itself is never logged.
public enum TokenFile {
    public static let defaultName = "api-token"

    /// `api.token_file`, or `<state directory>/api-token` when it is empty.
    public static func path(for config: BoothConfig) -> String {
        config.api.tokenFile.isEmpty
            ? (config.storage.stateDirectory as NSString).appendingPathComponent(defaultName) : config.api.tokenFile
    }

    /// Reads the token, generating the file when it does not exist.
    public static func ensure(path: String, group: String) throws(TokenError) -> String {
        if let token = try read(path: path) { return token }
        return try rotate(path: path, group: group)
    }

    /// The token in the file, nil when there is no file.
    public static func read(path: String) throws(TokenError) -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            let token = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(
                in: .whitespacesAndNewlines
            )
            guard token.count >= 16 else { throw TokenError(path: path, reason: "token is shorter than 16 characters") }
            return token
        } catch let error as TokenError {
            throw error
        } catch {
            throw TokenError(path: path, reason: "cannot be read (\(error.localizedDescription))")
        }
    }

    /// Writes a new random token (atomically: a reader never sees a half-written file) and returns it.
    @discardableResult
    public static func rotate(path: String, group: String) throws(TokenError) -> String {
        var generator = SystemRandomNumberGenerator()
        let token = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }
            .joined()
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = path + ".new"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(
                atPath: temporary,
                contents: Data((token + "\n").utf8),
                attributes: [.posixPermissions: 0o640]
            )
            guard FileManager.default.fileExists(atPath: temporary) else {
                throw TokenError(path: temporary, reason: "cannot be created")
            }
            try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: temporary)
            if !group.isEmpty {
                // A missing group is not fatal: root (boothd) can still read the token; doctor reports it.
                try? FileManager.default.setAttributes([.groupOwnerAccountName: group], ofItemAtPath: temporary)
            }
            // rename(2) replaces the old file atomically.
            guard rename(temporary, path) == 0 else {
                throw TokenError(path: path, reason: "cannot be replaced (errno \(errno))")
            }
        } catch let error as TokenError {
            throw error
        } catch {
            throw TokenError(path: path, reason: "cannot be written (\(error.localizedDescription))")
        }
        return token
    }
}

/// Checks presented tokens against the file, re-reading it when it changes (so `boothctl token rotate`
/// takes effect without a restart). Comparison takes the same time whatever the mismatch position.
public final class TokenVerifier: Sendable {
    let path: String
    private let cache: Mutex<(modified: Date?, token: String?)>

    public init(path: String, initialToken: String) {
        self.path = path
        let modified = try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date
        cache = Mutex((modified, initialToken))
    }

    public func verify(_ candidate: String) -> Bool {
        guard let token = currentToken() else { return false }
        let expected = Array(token.utf8)
        let given = Array(candidate.utf8)
        var difference = UInt8(expected.count == given.count ? 0 : 1)
        for index in 0..<expected.count {
            difference |= expected[index] ^ (index < given.count ? given[index] : 0)
        }
        return difference == 0
    }

    private func currentToken() -> String? {
        let modified = try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date
        return cache.withLock { cache in
            if modified != cache.modified, let token = try? TokenFile.read(path: path) {
                cache = (modified, token)
            }
            return cache.token
        }
    }
}
