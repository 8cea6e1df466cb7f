/// One Linux evdev event as read from `/dev/input/eventN` (`struct input_event` on a 64-bit kernel: 24 bytes,
/// little-endian: `tv_sec` i64, `tv_usec` i64, `type` u16, `code` u16, `value` i32).
///
/// A camera's snapshot button (uvcvideo reports it as `KEY_CAMERA`) arrives as an `EV_KEY` event with value 1
/// (press), 0 (release) or 2 (auto-repeat), followed by an `EV_SYN` report.
public struct InputEvent: Sendable, Hashable {
    /// Size of one event in bytes (64-bit `struct input_event`).
    public static let size = 24
    /// `EV_SYN`: end of a report.
    public static let synchronization: UInt16 = 0
    /// `EV_KEY`: a key or button.
    public static let key: UInt16 = 1

    /// Kernel timestamp of the event.
    public var seconds: Int64
    public var microseconds: Int64
    public var type: UInt16
    public var code: UInt16
    public var value: Int32

    public init(seconds: Int64, microseconds: Int64, type: UInt16, code: UInt16, value: Int32) {
        self.seconds = seconds
        self.microseconds = microseconds
        self.type = type
        self.code = code
        self.value = value
    }

    /// Whether this is the press (not the release or an auto-repeat) of key `code`.
    public func isPress(of code: UInt16) -> Bool {
        type == Self.key && self.code == code && value == 1
    }

    /// Decodes one event from exactly `InputEvent.size` bytes.
    public init(bytes: [UInt8]) throws(DecodeError) {
        var reader = ByteReader(bytes)
        try reader.require(Self.size, "input_event")
        seconds = Int64(bitPattern: try reader.unsigned(8, "tv_sec"))
        microseconds = Int64(bitPattern: try reader.unsigned(8, "tv_usec"))
        type = try reader.u16("type")
        code = try reader.u16("code")
        value = Int32(bitPattern: try reader.u32("value"))
        guard reader.remaining == 0 else {
            throw DecodeError(field: "input_event", offset: Self.size, reason: .trailingBytes(count: reader.remaining))
        }
    }

    /// The 24 bytes of this event (for tests and a uinput writer).
    public var bytes: [UInt8] {
        var writer = ByteWriter()
        writer.append(Self.littleEndian(UInt64(bitPattern: seconds)))
        writer.append(Self.littleEndian(UInt64(bitPattern: microseconds)))
        writer.u16(type)
        writer.u16(code)
        writer.u32(UInt32(bitPattern: value))
        return writer.bytes
    }

    private static func littleEndian(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }
}

/// Splits a byte stream read from an evdev node into events; a partial event is kept for the next read (a
/// `read` on evdev returns whole events, but the reader must not rely on it).
public struct InputEventFramer: Sendable {
    private var pending: [UInt8] = []

    public init() {}

    /// The whole events in `pending + bytes`.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [InputEvent] {
        pending.append(contentsOf: bytes)
        let whole = pending.count / InputEvent.size * InputEvent.size
        guard whole > 0 else { return [] }
        var events: [InputEvent] = []
        for start in stride(from: 0, to: whole, by: InputEvent.size) {
            // Exactly 24 bytes: cannot fail.
            if let event = try? InputEvent(bytes: Array(pending[start..<start + InputEvent.size])) {
                events.append(event)
            }
        }
        pending.removeFirst(whole)
        return events
    }

    /// Bytes of an incomplete event waiting for the rest.
    public var pendingCount: Int { pending.count }
}

/// Key codes by their `linux/input-event-codes.h` names, for profiles that name a camera's button.
public enum InputKeyCode {
    /// `KEY_CAMERA` (212): what uvcvideo reports for a UVC camera's snapshot button.
    public static let camera: UInt16 = 212

    /// Names a profile may use (a decimal or `0x` code is accepted too).
    public static let names: [String: UInt16] = [
        "KEY_CAMERA": 212, "KEY_CAMERA_FOCUS": 0x210, "KEY_ENTER": 28, "KEY_SPACE": 57, "KEY_PLAYPAUSE": 164,
        "KEY_VOLUMEUP": 115, "KEY_VOLUMEDOWN": 114, "KEY_F13": 183, "KEY_PROG1": 148, "BTN_0": 0x100,
        "BTN_LEFT": 0x110, "BTN_TRIGGER": 0x120, "BTN_SOUTH": 0x130,
    ]

    /// The code of `KEY_CAMERA`-style name, a decimal number or a `0x` hexadecimal number; nil otherwise.
    public static func code(_ text: String) -> UInt16? {
        let trimmed = String(text.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
        if let named = names[trimmed.uppercased()] { return named }
        if trimmed.lowercased().hasPrefix("0x") { return UInt16(trimmed.dropFirst(2), radix: 16) }
        return UInt16(trimmed)
    }

    /// Whether the sysfs key bitmap of an input device (`capabilities/key`: hexadecimal words, most significant
    /// first, each as wide as the kernel's `long`, e.g. `10000000000000 0`) has `code` set.
    public static func bitmap(_ text: String, has code: UInt16, wordBits: Int = 64) -> Bool {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).reversed().map { UInt64($0, radix: 16) }
        let index = Int(code) / wordBits
        guard index < words.count, let word = words[index] else { return false }
        return word >> UInt64(Int(code) % wordBits) & 1 == 1
    }
}
