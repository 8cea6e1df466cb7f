import Foundation
import Synchronization

/// How boothd's pairing agent (org.bluez.Agent1) answers bluetoothd during `boothctl pair`.
///
/// - No passkey and nobody to ask (the booth, scripts): `NoInputNoOutput`, Just Works; passkey and PIN requests
///   are refused, so a device that insists on a passkey fails with a message saying `--passkey`.
/// - `--passkey N`: `KeyboardOnly`; bluetoothd asks for the passkey (RequestPasskey / RequestPinCode) and gets N;
///   a passkey to confirm (RequestConfirmation) is accepted only when it equals N.
/// - A technician at a terminal: `KeyboardDisplay`; the passkey to type, or to compare with the device's display,
///   is asked on the terminal, and a passkey the device must type is shown there.
public struct PairingAgentOptions: Sendable {
    /// The agent's IO capability as BlueZ names it; it decides the pairing method with the device's own.
    public enum Capability: String, Sendable {
        case noInputNoOutput = "NoInputNoOutput"
        case keyboardOnly = "KeyboardOnly"
        case keyboardDisplay = "KeyboardDisplay"
    }

    /// The passkey to give (0-999999).
    public var passkey: UInt32?
    /// Asks a person; nil: nobody to ask.
    public var prompt: (any PairingPrompt)?

    public init(passkey: UInt32? = nil, prompt: (any PairingPrompt)? = nil) {
        self.passkey = passkey
        self.prompt = prompt
    }

    public var capability: Capability {
        if passkey != nil { return .keyboardOnly }
        return prompt != nil ? .keyboardDisplay : .noInputNoOutput
    }
}

/// A person answering pairing questions (a terminal). Called on the D-Bus thread; blocking there is fine while
/// pairing, which waits for the answer anyway.
public protocol PairingPrompt: Sendable {
    /// The passkey shown on the device, or nil to refuse.
    func passkey(device: String) -> UInt32?
    /// Whether the device shows this passkey too.
    func confirm(device: String, passkey: UInt32) -> Bool
    /// A passkey to type on the device; `entered` digits are typed so far.
    func display(device: String, passkey: UInt32, entered: UInt16)
}

/// What the agent was asked while pairing, so a failure can say why.
public struct PairingAgentLog: Sendable, Equatable {
    public var passkeyRequested = false
    public var passkeyGiven: UInt32?
    public var passkeyRefused = false
    public var confirmationRejected: UInt32?
    public var displayed: UInt32?
    public var canceled = false

    public init() {}
}

/// The agent's answers, apart from D-Bus so they are tested without bluetoothd.
final class PairingAgentLogic: Sendable {
    let options: PairingAgentOptions
    let log = Mutex(PairingAgentLog())

    init(options: PairingAgentOptions) {
        self.options = options
    }

    static let rejected = "org.bluez.Error.Rejected"

    func answer(_ method: String, _ arguments: DBusValue) -> DBusMethodReply {
        let members = arguments.tupleMembers ?? []
        let device = members.first?.string.flatMap { BlueZPath($0)?.deviceAddress } ?? "the device"
        let number = members.count > 1 ? members[1].integer.map { UInt32(truncatingIfNeeded: $0) } : nil
        switch method {
        case "RequestPasskey", "RequestPinCode":
            log.withLock { $0.passkeyRequested = true }
            guard let passkey = options.passkey ?? options.prompt?.passkey(device: device), passkey <= 999_999 else {
                log.withLock { $0.passkeyRefused = true }
                return .error(name: Self.rejected, message: "no passkey given (boothctl pair --passkey N)")
            }
            log.withLock { $0.passkeyGiven = passkey }
            if method == "RequestPinCode" { return .value(.tuple([.string(Self.sixDigits(passkey))])) }
            return .value(.tuple([.uint32(passkey)]))
        case "RequestConfirmation":
            let shown = number ?? 0
            let accepted: Bool
            if let passkey = options.passkey {
                accepted = passkey == shown
            } else if let prompt = options.prompt {
                accepted = prompt.confirm(device: device, passkey: shown)
            } else {
                accepted = true  // Just Works: nobody to compare with, as NoInputNoOutput promises
            }
            guard accepted else {
                log.withLock { $0.confirmationRejected = shown }
                return .error(name: Self.rejected, message: "passkey \(Self.sixDigits(shown)) not confirmed")
            }
            return .value(nil)
        case "DisplayPasskey", "DisplayPinCode":
            let shown = number ?? members.dropFirst().first?.string.flatMap { UInt32($0) } ?? 0
            log.withLock { $0.displayed = shown }
            let entered = members.count > 2 ? UInt16(truncatingIfNeeded: members[2].integer ?? 0) : 0
            options.prompt?.display(device: device, passkey: shown, entered: entered)
            return .value(nil)
        case "Cancel":
            log.withLock { $0.canceled = true }
            return .value(nil)
        default:
            // Release, RequestAuthorization (Just Works), AuthorizeService: accepted.
            return .value(nil)
        }
    }

    static func sixDigits(_ passkey: UInt32) -> String {
        let digits = String(passkey)
        return String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }
}

/// Why `boothctl pair` did not bond, in words a technician can act on.
public struct PairingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var address: String
    public var reason: String

    public init(address: String, reason: String) {
        self.address = address
        self.reason = reason
    }

    public var description: String { "pairing with \(address) failed: \(reason)" }

    /// The technician's reading of a failed Device1.Pair, given what the agent saw.
    static func from(_ error: any Error, address: String, log: PairingAgentLog, timeout: Double) -> PairingError {
        let given = log.passkeyGiven.map { " (passkey \(PairingAgentLogic.sixDigits($0)) was entered)" } ?? ""
        let reason: String
        if log.passkeyRefused {
            reason = "the device asks for a passkey: run boothctl pair \(address) --passkey NNNNNN (or at a terminal)"
        } else if let rejected = log.confirmationRejected {
            reason = "the device's passkey \(PairingAgentLogic.sixDigits(rejected)) is not the one given"
        } else if error.isBlueZError(".AuthenticationFailed") {
            reason =
                log.passkeyGiven != nil
                ? "authentication failed: wrong passkey?\(given)"
                : "authentication failed (the device refused the keys)"
        } else if error.isBlueZError(".AuthenticationTimeout") || (error as? BlueZError).map(Self.isTimeout) == true {
            reason = "timed out after \(Int(timeout)) s\(given): is the device still in pairing mode?"
        } else if error.isBlueZError(".AuthenticationCanceled") || error.isBlueZError(".AuthenticationRejected") {
            // A device that insists on a passkey refuses Just Works this way (the agent is never asked).
            let hint =
                log.passkeyGiven == nil ? "; if it needs a passkey: boothctl pair \(address) --passkey NNNNNN" : ""
            reason = "the device refused or cancelled pairing\(given)\(hint)"
        } else if error.isBlueZError(".ConnectionAttemptFailed") {
            reason = "could not connect to it (out of range or not advertising)"
        } else {
            reason = "\(error)"
        }
        return PairingError(address: address, reason: reason)
    }

    private static func isTimeout(_ error: BlueZError) -> Bool {
        switch error {
        case .timeout: return true
        case .callFailed(_, let name, _): return name == "timeout" || name.hasSuffix(".NoReply")
        default: return false
        }
    }
}
