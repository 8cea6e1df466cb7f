import BoothCore
import BoothService
import Foundation
import Testing

@testable import BoothAPI

@Suite struct WireFormatTests {
    @Test func parsesEachClientMessage() throws {
        guard
            case .hello(let token, let client, let version, let resume) = try Wire.parse(
                #"{"type":"hello","protocol":1,"clientId":"kiosk-1","token":"abc","resumeAfter":41}"#
            )
        else {
            Issue.record("not a hello")
            return
        }
        #expect(token == "abc")
        #expect(client == "kiosk-1")
        #expect(version == 1)
        #expect(resume == 41)
        guard case .ack(let upTo) = try Wire.parse(#"{"type":"ack","upTo":7}"#) else {
            Issue.record("not an ack")
            return
        }
        #expect(upTo == 7)
        guard
            case .command(let id, let name, let params) = try Wire.parse(
                #"{"type":"command","id":"r1","command":"session.start","params":{"sessionId":"S","n":2}}"#
            )
        else {
            Issue.record("not a command")
            return
        }
        #expect(id == "r1")
        #expect(name == "session.start")
        #expect(params["sessionId"]?.string == "S")
        #expect(params["n"]?.scalarText == "2")
    }

    @Test(arguments: [
        ("{", "malformed_json"),
        ("[]", "invalid_message"),
        (#"{"type":3}"#, "invalid_message"),
        (#"{"type":"x"}"#, "unknown_type"),
        (#"{"type":"hello","protocol":1,"clientId":"bad id!"}"#, "invalid_message"),
        (#"{"type":"hello","protocol":true,"clientId":"a"}"#, "invalid_message"),
        (#"{"type":"ack","upTo":-1}"#, "invalid_message"),
        (#"{"type":"ack","upTo":1.5}"#, "invalid_message"),
        (#"{"type":"command","command":"session.current"}"#, "invalid_message"),
        (#"{"type":"command","id":"r","command":"x","params":[1]}"#, "invalid_message"),
    ])
    func rejectsBadMessagesWithTypedCodes(text: String, code: String) {
        do {
            _ = try Wire.parse(text)
            Issue.record("\(text) must be rejected")
        } catch {
            #expect(error.code == code, "\(text)")
            #expect(!error.message.isEmpty)
        }
    }

    @Test func eventTextEmbedsTheStoredPayload() throws {
        let event = StoredEvent(
            id: 5,
            type: "session.started",
            sessionID: "S\"1",
            createdAtMicros: 9,
            payload: #"{"id":"S\"1"}"#
        )
        let object = try JSONSerialization.jsonObject(with: Data(Wire.event(event).utf8)) as? [String: Any]
        let id = object?["id"] as? Int
        let sessionID = object?["sessionId"] as? String
        let data = object?["data"] as? [String: Any]
        let dataID = data?["id"] as? String
        #expect(id == 5)
        #expect(sessionID == "S\"1")
        #expect(dataID == "S\"1")
    }

    @Test func rateLimiterAllowsABurstThenRefusesAndDetectsFloods() {
        var limiter = RateLimiter(perSecond: 10)
        let allowed = (0..<25).filter { _ in limiter.allow() }.count
        #expect(allowed == 20)
        #expect(!limiter.exhausted)
        for _ in 0..<30 { _ = limiter.allow() }
        #expect(limiter.exhausted)
    }
}

@Suite struct TokenTests {
    @Test func generatesRotatesAndVerifies() throws {
        let path = NSTemporaryDirectory() + "boothd-token-\(UUID().uuidString)/api-token"
        let first = try TokenFile.ensure(path: path, group: "")
        #expect(first.count == 64)
        #expect(try TokenFile.ensure(path: path, group: "") == first)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o640)
        let verifier = TokenVerifier(path: path, initialToken: first)
        #expect(verifier.verify(first))
        #expect(!verifier.verify(String(first.dropLast())))
        #expect(!verifier.verify(""))
        Thread.sleep(forTimeInterval: 0.01)
        let second = try TokenFile.rotate(path: path, group: "")
        #expect(second != first)
        #expect(verifier.verify(second))
        #expect(!verifier.verify(first))
    }
}

@Suite struct DeviceRegistryTests {
    @Test func publishesChangesAndSnapshots() async {
        let registry = DeviceRegistry()
        let changes = await registry.changes()
        let status = DeviceStatus(
            id: "sim:cuff",
            role: .bp,
            model: "Sim BP",
            transport: "simulated",
            state: .ready,
            batteryPercent: 80,
            lastSeenMicros: 1
        )
        await registry.update(status)
        await registry.update(status)  // unchanged: not re-broadcast
        var failed = status
        failed.state = .error(reason: "cuff not fitted")
        await registry.update(failed)
        await registry.remove(id: "sim:cuff")
        var iterator = changes.makeAsyncIterator()
        #expect(await iterator.next() == .updated(status))
        #expect(await iterator.next() == .updated(failed))
        #expect(await iterator.next() == .removed(id: "sim:cuff"))
        #expect(await registry.snapshot().isEmpty)
    }

    @Test func deviceStatusWireShapeRoundTrips() throws {
        let status = DeviceStatus(
            id: "ble:01",
            role: .thermometer,
            transport: "ble",
            state: .error(reason: "battery empty"),
            lastSeenMicros: 3
        )
        let data = try JSONEncoder().encode(status)
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        #expect(object?["state"] as? String == "error")
        #expect(object?["stateReason"] as? String == "battery empty")
        #expect(try JSONDecoder().decode(DeviceStatus.self, from: data) == status)
    }
}
