import BoothCore
import Testing

/// `struct input_event` bytes as the kernel writes them on x86_64 (captured layout: 16-byte timeval, type, code,
/// value), and the key bitmaps sysfs shows.
@Suite("evdev input events")
struct InputEventTests {
    /// KEY_CAMERA press at 1764130000.250000 s: tv_sec, tv_usec, EV_KEY, 212, 1.
    static let press: [UInt8] = [
        0xD0, 0x52, 0x26, 0x69, 0x00, 0x00, 0x00, 0x00,  // tv_sec 1764119248 (0x692652D0)
        0x90, 0xD0, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00,  // tv_usec 250000 (0x03D090)
        0x01, 0x00,  // EV_KEY
        0xD4, 0x00,  // KEY_CAMERA
        0x01, 0x00, 0x00, 0x00,  // pressed
    ]
    /// The SYN_REPORT that ends the report.
    static let sync: [UInt8] = [
        0xD0, 0x52, 0x26, 0x69, 0, 0, 0, 0, 0x90, 0xD0, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]
    /// Release (value 0) and auto-repeat (value 2) of the same key.
    static func key(value: UInt8) -> [UInt8] {
        Array(press[0..<20]) + [value, 0, 0, 0]
    }

    @Test("a KEY_CAMERA press decodes field by field")
    func decodePress() throws {
        let event = try InputEvent(bytes: Self.press)
        #expect(event.seconds == 0x6926_52D0)
        #expect(event.microseconds == 250_000)
        #expect(event.type == InputEvent.key)
        #expect(event.code == InputKeyCode.camera)
        #expect(event.value == 1)
        #expect(event.isPress(of: 212))
        #expect(!event.isPress(of: 28))
        #expect(event.bytes == Self.press)
    }

    @Test("release, auto-repeat and SYN_REPORT are not presses")
    func notPresses() throws {
        #expect(!(try InputEvent(bytes: Self.key(value: 0))).isPress(of: 212))
        #expect(!(try InputEvent(bytes: Self.key(value: 2))).isPress(of: 212))
        let sync = try InputEvent(bytes: Self.sync)
        #expect(sync.type == InputEvent.synchronization && sync.code == 0 && sync.value == 0)
        // A negative value (relative axes) keeps its sign.
        let negative = try InputEvent(bytes: Array(Self.press[0..<20]) + [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(negative.value == -1)
    }

    @Test("short and long inputs are typed errors naming the field")
    func badLengths() {
        #expect(throws: DecodeError.self) { try InputEvent(bytes: Array(Self.press[0..<23])) }
        #expect(throws: DecodeError.self) { try InputEvent(bytes: Self.press + [0]) }
    }

    @Test("the framer splits reads into events and keeps a partial event for the next read")
    func framing() {
        var framer = InputEventFramer()
        let stream = Self.press + Self.sync + Self.key(value: 0) + Self.sync
        #expect(framer.feed(stream[0..<10]).isEmpty)
        #expect(framer.pendingCount == 10)
        let first = framer.feed(stream[10..<50])
        #expect(first.count == 2)
        #expect(first[0].isPress(of: 212) && first[1].type == InputEvent.synchronization)
        #expect(framer.pendingCount == 2)
        let rest = framer.feed(stream[50...])
        #expect(rest.count == 2 && rest[0].value == 0)
        #expect(framer.pendingCount == 0)
    }

    @Test("key names and numbers from profiles")
    func keyNames() {
        #expect(InputKeyCode.code("KEY_CAMERA") == 212)
        #expect(InputKeyCode.code(" key_enter ") == 28)
        #expect(InputKeyCode.code("0x104") == 0x104)
        #expect(InputKeyCode.code("57") == 57)
        #expect(InputKeyCode.code("KEY_NOPE") == nil)
        #expect(InputKeyCode.code("0xZZ") == nil)
    }

    @Test("sysfs key bitmaps: a UVC camera button (KEY_CAMERA only) and a keyboard-like device")
    func bitmaps() {
        // uvcvideo's input device: only bit 212 (word 3, bit 20) set.
        let uvc = "100000 0 0 0"
        #expect(InputKeyCode.bitmap(uvc, has: 212))
        #expect(!InputKeyCode.bitmap(uvc, has: 28))
        #expect(!InputKeyCode.bitmap(uvc, has: 0x210))
        // KEY_ENTER (28) and KEY_SPACE (57) in word 0; nothing above.
        let keys = "200000010000000"
        #expect(InputKeyCode.bitmap(keys, has: 28) && InputKeyCode.bitmap(keys, has: 57))
        #expect(!InputKeyCode.bitmap(keys, has: 212))
        #expect(!InputKeyCode.bitmap("", has: 0))
        #expect(!InputKeyCode.bitmap("zz", has: 0))
    }
}
