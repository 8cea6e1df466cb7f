import Synchronization
import Testing

@testable import BoothBlueZ

/// The pairing agent's answers to bluetoothd's Agent1 calls, without a bus.
@Suite struct PairingAgentTests {
    static let device = DBusValue.objectPath("/org/bluez/hci1/dev_AA_BB_CC_DD_EE_01")

    final class ScriptedPrompt: PairingPrompt {
        let answers: (passkey: UInt32?, confirm: Bool)
        let shown = Mutex<[String]>([])
        init(passkey: UInt32?, confirm: Bool) { answers = (passkey, confirm) }
        func passkey(device: String) -> UInt32? {
            shown.withLock { $0.append("ask \(device)") }
            return answers.passkey
        }
        func confirm(device: String, passkey: UInt32) -> Bool {
            shown.withLock { $0.append("confirm \(passkey)") }
            return answers.confirm
        }
        func display(device: String, passkey: UInt32, entered: UInt16) {
            shown.withLock { $0.append("display \(passkey) \(entered)") }
        }
    }

    static func isRejection(_ reply: DBusMethodReply) -> Bool {
        if case .error(let name, _) = reply { return name == "org.bluez.Error.Rejected" }
        return false
    }

    static func value(_ reply: DBusMethodReply) -> DBusValue?? {
        if case .value(let value) = reply { return .some(value) }
        return nil
    }

    @Test func capabilityFollowsWhatTheAgentCanDo() {
        #expect(PairingAgentOptions().capability == .noInputNoOutput)
        #expect(PairingAgentOptions(passkey: 123_456).capability == .keyboardOnly)
        #expect(
            PairingAgentOptions(prompt: ScriptedPrompt(passkey: nil, confirm: false)).capability == .keyboardDisplay
        )
    }

    @Test func justWorksAcceptsAndRefusesPasskeys() {
        let agent = PairingAgentLogic(options: PairingAgentOptions())
        #expect(Self.value(agent.answer("RequestAuthorization", .tuple([Self.device]))) == .some(nil))
        #expect(Self.value(agent.answer("RequestConfirmation", .tuple([Self.device, .uint32(4242)]))) == .some(nil))
        #expect(Self.isRejection(agent.answer("RequestPasskey", .tuple([Self.device]))))
        #expect(agent.log.withLock { $0.passkeyRefused && $0.passkeyRequested })
    }

    @Test func givenPasskeyIsEnteredAndCompared() {
        let agent = PairingAgentLogic(options: PairingAgentOptions(passkey: 123))
        #expect(Self.value(agent.answer("RequestPasskey", .tuple([Self.device]))) == .some(.tuple([.uint32(123)])))
        #expect(
            Self.value(agent.answer("RequestPinCode", .tuple([Self.device]))) == .some(.tuple([.string("000123")]))
        )
        #expect(Self.value(agent.answer("RequestConfirmation", .tuple([Self.device, .uint32(123)]))) == .some(nil))
        #expect(Self.isRejection(agent.answer("RequestConfirmation", .tuple([Self.device, .uint32(654_321)]))))
        #expect(agent.log.withLock { $0.passkeyGiven == 123 && $0.confirmationRejected == 654_321 })
    }

    @Test func terminalIsAskedAndShown() {
        let prompt = ScriptedPrompt(passkey: 999_999, confirm: true)
        let agent = PairingAgentLogic(options: PairingAgentOptions(prompt: prompt))
        #expect(Self.value(agent.answer("RequestPasskey", .tuple([Self.device]))) == .some(.tuple([.uint32(999_999)])))
        #expect(Self.value(agent.answer("RequestConfirmation", .tuple([Self.device, .uint32(7)]))) == .some(nil))
        _ = agent.answer("DisplayPasskey", .tuple([Self.device, .uint32(31_337), .uint16(2)]))
        #expect(prompt.shown.withLock { $0 } == ["ask AA:BB:CC:DD:EE:01", "confirm 7", "display 31337 2"])
        let refusing = PairingAgentLogic(
            options: PairingAgentOptions(prompt: ScriptedPrompt(passkey: nil, confirm: false))
        )
        #expect(Self.isRejection(refusing.answer("RequestPasskey", .tuple([Self.device]))))
        #expect(Self.isRejection(refusing.answer("RequestConfirmation", .tuple([Self.device, .uint32(7)]))))
    }

    @Test func failuresSayWhatToDo() {
        let failed = BlueZError.callFailed(
            method: "Pair",
            name: "org.bluez.Error.AuthenticationFailed",
            message: "Authentication Failed"
        )
        var log = PairingAgentLog()
        log.passkeyGiven = 111
        #expect(
            PairingError.from(failed, address: "AA:BB", log: log, timeout: 30).description
                == "pairing with AA:BB failed: authentication failed: wrong passkey? (passkey 000111 was entered)"
        )
        var refused = PairingAgentLog()
        refused.passkeyRefused = true
        #expect(
            PairingError.from(failed, address: "AA:BB", log: refused, timeout: 30).reason
                == "the device asks for a passkey: run boothctl pair AA:BB --passkey NNNNNN (or at a terminal)"
        )
        let timedOut = BlueZError.callFailed(method: "Pair", name: "timeout", message: "Timeout was reached")
        #expect(
            PairingError.from(timedOut, address: "AA:BB", log: PairingAgentLog(), timeout: 30).reason
                == "timed out after 30 s: is the device still in pairing mode?"
        )
        let canceled = BlueZError.callFailed(
            method: "Pair",
            name: "org.bluez.Error.AuthenticationCanceled",
            message: ""
        )
        #expect(
            PairingError.from(canceled, address: "AA:BB", log: PairingAgentLog(), timeout: 30).reason
                == "the device refused or cancelled pairing; if it needs a passkey: boothctl pair AA:BB --passkey NNNNNN"
        )
    }
}
