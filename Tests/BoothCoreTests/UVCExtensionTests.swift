import BoothCore
import Synchronization
import Testing

/// A scripted extension-unit link: every query must match the next expected one byte for byte (unit, selector,
/// request, payload sent); the reply bytes or errno come from the script.
final class ScriptedUVCLink: UVCExtensionLink {
    struct Step: Sendable {
        var unit: UInt8
        var selector: UInt8
        var request: UVCRequest
        /// Bytes the query carries in (the SET payload, or zeros of the GET size).
        var sent: [UInt8]
        /// Bytes returned for a GET.
        var reply: [UInt8]?
        var errno: Int32?
    }
    private let script: Mutex<[Step]>
    let mismatches = Mutex<[String]>([])

    init(_ steps: [Step]) {
        script = Mutex(steps)
    }

    var remaining: Int { script.withLock { $0.count } }

    func query(unit: UInt8, selector: UInt8, request: UVCRequest, data: inout [UInt8]) throws(UVCExtensionError) {
        let step = script.withLock { $0.isEmpty ? nil : $0.removeFirst() }
        guard let step else {
            mismatches.withLock { $0.append("unexpected \(request) unit \(unit) selector \(selector) \(data)") }
            throw .queryFailed(control: "", request: request, errno: 5)
        }
        if step.unit != unit || step.selector != selector || step.request != request || step.sent != data {
            mismatches.withLock {
                $0.append(
                    "expected \(step.request) \(step.unit)/\(step.selector) \(step.sent), got \(request) \(unit)/\(selector) \(data)"
                )
            }
        }
        if let errno = step.errno { throw .queryFailed(control: "", request: request, errno: errno) }
        if let reply = step.reply { data = reply }
    }
}

extension ScriptedUVCLink.Step {
    static func get(_ request: UVCRequest, _ reply: [UInt8], unit: UInt8 = 4, selector: UInt8 = 2) -> Self {
        Self(
            unit: unit,
            selector: selector,
            request: request,
            sent: Array(repeating: 0, count: reply.count),
            reply: reply
        )
    }
    static func set(_ payload: [UInt8], unit: UInt8 = 4, selector: UInt8 = 2) -> Self {
        Self(unit: unit, selector: selector, request: .setCurrent, sent: payload, reply: nil)
    }
}

@Suite("UVC extension-unit controls")
struct UVCExtensionTests {
    /// A 2-byte signed control, declared -500...500 step 10; the device allows -300...1000.
    let tilt = UVCExtensionControl(
        name: "polarization",
        unit: 4,
        selector: 2,
        size: 2,
        type: .signed,
        minimum: -500,
        maximum: 500,
        step: 10
    )

    @Test func encodesAndDecodesLittleEndian() throws {
        #expect(tilt.encode(-300) == [0xD4, 0xFE])
        #expect(tilt.encode(500) == [0xF4, 0x01])
        #expect(try tilt.decode([0xD4, 0xFE]) == -300)
        let wide = UVCExtensionControl(name: "w", unit: 1, selector: 1, size: 4, minimum: 0, maximum: 0xFFFF_FFFF)
        #expect(wide.encode(0x0102_0304) == [0x04, 0x03, 0x02, 0x01])
        #expect(try wide.decode([0xFF, 0xFF, 0xFF, 0xFF]) == 0xFFFF_FFFF)
        #expect(throws: UVCExtensionError.sizeMismatch(control: "w", declared: 4, device: 3)) {
            try wide.decode([1, 2, 3])
        }
        #expect(UVCExtensionControl.representable(type: .signed, size: 1) == -128...127)
        #expect(UVCExtensionControl.representable(type: .unsigned, size: 2) == 0...65535)
    }

    @Test func readQueriesInfoLengthRangeAndCurrent() throws {
        let link = ScriptedUVCLink([
            .get(.getInfo, [0x03]),
            .get(.getLength, [0x02, 0x00]),
            .get(.getMinimum, [0xD4, 0xFE]),  // -300
            .get(.getMaximum, [0xE8, 0x03]),  // 1000
            .get(.getCurrent, [0x64, 0x00]),  // 100
        ])
        let reading = try UVCExtensionUnit(link: link).read(tilt)
        #expect(link.mismatches.withLock { $0 } == [])
        #expect(link.remaining == 0)
        #expect(reading.minimum == -300)
        #expect(reading.maximum == 500)
        #expect(reading.value == 100)
    }

    @Test func writeValidatesThenSendsSetCurrentBytes() throws {
        let read: [ScriptedUVCLink.Step] = [
            .get(.getInfo, [0x03]), .get(.getLength, [0x02, 0x00]), .get(.getMinimum, [0xD4, 0xFE]),
            .get(.getMaximum, [0xE8, 0x03]), .get(.getCurrent, [0x64, 0x00]),
        ]
        // -290 = 0xFEDE, little endian.
        let link = ScriptedUVCLink(read + [.set([0xDE, 0xFE]), .get(.getCurrent, [0xDE, 0xFE])])
        let applied = try UVCExtensionUnit(link: link).write(tilt, value: -290)
        #expect(link.mismatches.withLock { $0 } == [])
        #expect(applied.value == -290)

        // Below the device's minimum (declared allows it), off the step, above the declared maximum: nothing sent.
        for (value, minimum) in [(Int64(-400), Int64(-300)), (-295, -300), (600, -300)] {
            let refusing = ScriptedUVCLink(read)
            #expect(
                throws: UVCExtensionError.outOfRange(
                    control: "polarization",
                    value: value,
                    minimum: minimum,
                    maximum: 500,
                    step: 10
                )
            ) { try UVCExtensionUnit(link: refusing).write(tilt, value: value) }
            #expect(refusing.remaining == 0)
            #expect(refusing.mismatches.withLock { $0 } == [])
        }
    }

    @Test func deviceDisagreeingWithTheProfileIsATypedError() {
        let wrongSize = ScriptedUVCLink([.get(.getInfo, [0x03]), .get(.getLength, [0x04, 0x00])])
        #expect(throws: UVCExtensionError.sizeMismatch(control: "polarization", declared: 2, device: 4)) {
            try UVCExtensionUnit(link: wrongSize).read(tilt)
        }
        let getOnly = ScriptedUVCLink([.get(.getInfo, [0x01]), .get(.getLength, [0x02, 0x00])])
        #expect(throws: UVCExtensionError.notSupportedByDevice(control: "polarization", request: .setCurrent)) {
            try UVCExtensionUnit(link: getOnly).write(tilt, value: 0)
        }
        let missing = ScriptedUVCLink([
            ScriptedUVCLink.Step(unit: 4, selector: 2, request: .getInfo, sent: [0], reply: nil, errno: 2)
        ])
        let error = #expect(throws: UVCExtensionError.self) { try UVCExtensionUnit(link: missing).read(tilt) }
        #expect(error == .queryFailed(control: "polarization", request: .getInfo, errno: 2))
        #expect(
            error?.description
                == "GET_INFO of extension control 'polarization' failed: no such unit or selector on this device (ENOENT)"
        )
    }

    @Test func writeOnlyAndReadOnlyControls() throws {
        let led = UVCExtensionControl(
            name: "led",
            unit: 3,
            selector: 1,
            size: 1,
            type: .boolean,
            minimum: 0,
            maximum: 1,
            access: .write
        )
        let link = ScriptedUVCLink([
            .get(.getInfo, [0x02], unit: 3, selector: 1), .get(.getLength, [0x01, 0x00], unit: 3, selector: 1),
            .set([0x01], unit: 3, selector: 1),
        ])
        let applied = try UVCExtensionUnit(link: link).write(led, value: 1)
        #expect(link.mismatches.withLock { $0 } == [])
        #expect(applied.value == 1)
        var sensor = led
        sensor.access = .read
        #expect(throws: UVCExtensionError.readOnly(control: "led")) {
            try UVCExtensionUnit(link: ScriptedUVCLink([])).write(sensor, value: 1)
        }
    }
}
