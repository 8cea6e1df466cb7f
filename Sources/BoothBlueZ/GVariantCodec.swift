import CGio

/// Converts between GLib's GVariant and ``DBusValue``. Only this file and the bus know GVariant.
enum GVariantCodec {
    /// Reads a GVariant without taking ownership of it.
    static func decode(_ variant: OpaquePointer) -> DBusValue {
        let signature = String(cString: g_variant_get_type_string(variant))
        switch signature {
        case "b": return .boolean(g_variant_get_boolean(variant) != 0)
        case "y": return .byte(g_variant_get_byte(variant))
        case "n": return .int16(g_variant_get_int16(variant))
        case "q": return .uint16(g_variant_get_uint16(variant))
        case "i": return .int32(g_variant_get_int32(variant))
        case "u": return .uint32(g_variant_get_uint32(variant))
        case "x": return .int64(Int64(g_variant_get_int64(variant)))
        case "t": return .uint64(UInt64(g_variant_get_uint64(variant)))
        case "d": return .double(g_variant_get_double(variant))
        case "s", "g": return .string(String(cString: g_variant_get_string(variant, nil)))
        case "o": return .objectPath(String(cString: g_variant_get_string(variant, nil)))
        case "v":
            guard let inner = g_variant_get_variant(variant) else { return .unsupported(signature: "v") }
            defer { g_variant_unref(inner) }
            return .variant(decode(inner))
        case "ay":
            var count = 0
            guard let data = g_variant_get_fixed_array(variant, &count, 1), count > 0 else { return .bytes([]) }
            return .bytes(Array(UnsafeRawBufferPointer(start: data, count: count)))
        case "a{sv}":
            var result: [String: DBusValue] = [:]
            for (key, value) in entries(variant) { if let key = key.string { result[key] = unwrap(value) } }
            return .dictionary(result)
        case "a{qv}":
            var result: [UInt16: DBusValue] = [:]
            for (key, value) in entries(variant) {
                if case .uint16(let company) = key { result[company] = unwrap(value) }
            }
            return .uint16Dictionary(result)
        default:
            if signature.hasPrefix("a") {
                return .array(elementSignature: String(signature.dropFirst()), decodedChildren(variant))
            }
            if signature.hasPrefix("(") || signature.hasPrefix("{") {
                return .tuple(decodedChildren(variant))
            }
            return .unsupported(signature: signature)
        }
    }

    /// Builds a floating GVariant (GLib functions taking it sink the reference).
    static func encode(_ value: DBusValue) -> OpaquePointer {
        switch value {
        case .boolean(let flag): return g_variant_new_boolean(flag ? 1 : 0)
        case .byte(let byte): return g_variant_new_byte(byte)
        case .int16(let number): return g_variant_new_int16(number)
        case .uint16(let number): return g_variant_new_uint16(number)
        case .int32(let number): return g_variant_new_int32(number)
        case .uint32(let number): return g_variant_new_uint32(number)
        case .int64(let number): return g_variant_new_int64(.init(number))
        case .uint64(let number): return g_variant_new_uint64(.init(number))
        case .double(let number): return g_variant_new_double(number)
        case .string(let text): return g_variant_new_string(text)
        case .objectPath(let path): return g_variant_new_object_path(path)
        case .bytes(let bytes):
            return withType("y") { type in
                bytes.withUnsafeBytes { buffer in
                    g_variant_new_fixed_array(type, buffer.baseAddress, gsize(bytes.count), 1)
                }
            }
        case .array(let element, let members) where element.hasPrefix("{"):
            // Dictionary entries arrive as two-member tuples.
            return newArray(
                element,
                members.map { member -> OpaquePointer? in
                    guard let pair = member.tupleMembers, pair.count == 2 else { return encode(member) }
                    return g_variant_new_dict_entry(encode(pair[0]), encode(pair[1]))
                }
            )
        case .array(let element, let members):
            return newArray(element, members.map { Optional(encode($0)) })
        case .dictionary(let entries):
            let children = entries.sorted { $0.key < $1.key }.map { key, value -> OpaquePointer? in
                g_variant_new_dict_entry(g_variant_new_string(key), g_variant_new_variant(encode(value)))
            }
            return newArray("{sv}", children)
        case .uint16Dictionary(let entries):
            let children = entries.sorted { $0.key < $1.key }.map { key, value -> OpaquePointer? in
                g_variant_new_dict_entry(g_variant_new_uint16(key), g_variant_new_variant(encode(value)))
            }
            return newArray("{qv}", children)
        case .variant(let inner): return g_variant_new_variant(encode(inner))
        case .tuple(let members):
            var children: [OpaquePointer?] = members.map(encode)
            return children.withUnsafeMutableBufferPointer { g_variant_new_tuple($0.baseAddress, gsize($0.count)) }
        case .unsupported:
            // Never built by boothd; an empty tuple keeps the call well-formed and BlueZ reports the mismatch.
            return g_variant_new_tuple(nil, 0)
        }
    }

    private static func unwrap(_ value: DBusValue) -> DBusValue {
        if case .variant(let inner) = value { return inner }
        return value
    }

    /// The decoded children; each child reference is released once decoded.
    private static func decodedChildren(_ variant: OpaquePointer) -> [DBusValue] {
        (0..<g_variant_n_children(variant)).compactMap { index -> DBusValue? in
            guard let child = g_variant_get_child_value(variant, index) else { return nil }
            defer { g_variant_unref(child) }
            return decode(child)
        }
    }

    private static func entries(_ variant: OpaquePointer) -> [(DBusValue, DBusValue)] {
        var result: [(DBusValue, DBusValue)] = []
        for index in 0..<g_variant_n_children(variant) {
            guard let entry = g_variant_get_child_value(variant, index) else { continue }
            defer { g_variant_unref(entry) }
            guard let key = g_variant_get_child_value(entry, 0) else { continue }
            defer { g_variant_unref(key) }
            guard let value = g_variant_get_child_value(entry, 1) else { continue }
            defer { g_variant_unref(value) }
            result.append((decode(key), decode(value)))
        }
        return result
    }

    private static func newArray(_ element: String, _ children: [OpaquePointer?]) -> OpaquePointer {
        withType(element) { type in
            var pointers = children
            let array: OpaquePointer? = pointers.withUnsafeMutableBufferPointer {
                g_variant_new_array(type, $0.baseAddress, gsize($0.count))
            }
            // GLib refuses members of another type than `element` (a boothd bug): send an empty tuple instead of
            // crashing, and BlueZ names the mismatch.
            return array ?? g_variant_new_tuple(nil, 0)
        }
    }

    private static func withType<T>(_ signature: String, _ body: (OpaquePointer?) -> T) -> T {
        let type = g_variant_type_new(signature)
        defer { g_variant_type_free(type) }
        return body(type)
    }
}
