/// JSON text from any `Encodable`, without Foundation (whose JSONEncoder
/// would link Foundation into the binary). The output is the one the schema
/// has always had: two-space indentation, `"key" : value`, keys sorted by
/// their UTF-8 bytes, `/` not escaped, non-ASCII written as is, control
/// characters as `\b \f \n \r \t` or `\u00XX`, an empty array or object as
/// the bracket pair around an empty line. Tests compare it byte for byte
/// with JSONEncoder's `[.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]`.
public enum JSONText {
    /// The pretty-printed JSON of `value` (no trailing newline).
    public static func encode<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encodeBytes(value), as: UTF8.self)
    }

    /// The same text as UTF-8 bytes.
    public static func encodeBytes<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = TreeEncoder(box: ValueBox())
        try value.encode(to: encoder)
        var out: [UInt8] = []
        out.reserveCapacity(1 << 16)
        write(encoder.box.value ?? .object(ObjectBox()), indent: 0, into: &out)
        return out
    }

    indirect enum Value {
        case null, bool(Bool), number(String), string(String)
        case array(ArrayBox), object(ObjectBox)
        /// A finished value already written out at its own indentation: a
        /// nested value is written as soon as it is encoded, so the whole
        /// document never exists as a tree (100,000 interfaces' facts would
        /// take hundreds of MiB of boxes).
        case raw([UInt8])
    }

    final class ArrayBox { var items: [ValueBox] = [] }
    final class ObjectBox { var items: [String: ValueBox] = [:] }
    final class ValueBox {
        var value: Value?
        init(_ value: Value? = nil) { self.value = value }
    }

    static func write(_ v: Value, indent: Int, into out: inout [UInt8]) {
        switch v {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let n): out.append(contentsOf: n.utf8)
        case .string(let s): writeString(s, into: &out)
        case .raw(let bytes): out.append(contentsOf: bytes)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            out.append(10)
            for (i, item) in a.items.enumerated() {
                if i > 0 { out += [UInt8(ascii: ","), 10] }
                pad(indent + 2, &out)
                write(item.value ?? .null, indent: indent + 2, into: &out)
            }
            out.append(10)
            pad(indent, &out)
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            out.append(10)
            let keys = o.items.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (i, key) in keys.enumerated() {
                if i > 0 { out += [UInt8(ascii: ","), 10] }
                pad(indent + 2, &out)
                writeString(key, into: &out)
                out.append(contentsOf: " : ".utf8)
                write(o.items[key]?.value ?? .null, indent: indent + 2, into: &out)
            }
            out.append(10)
            pad(indent, &out)
            out.append(UInt8(ascii: "}"))
        }
    }

    static func pad(_ n: Int, _ out: inout [UInt8]) {
        for _ in 0..<n { out.append(0x20) }
    }

    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most strings need no escape: copy them whole.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out.append(contentsOf: s.utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x08: out += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
            case 0x0C: out += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                out.append(contentsOf: "\\u00".utf8)
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 15)])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    static func number(_ d: Double) -> String {
        if d.isFinite, d == d.rounded(), abs(d) < 9.007_199_254_740_992e15 { return String(Int64(d)) }
        return d.description
    }
}

// MARK: - The Encoder

private struct TreeEncoder: Encoder {
    let box: JSONText.ValueBox
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let object: JSONText.ObjectBox
        if case .object(let o) = box.value { object = o } else {
            object = JSONText.ObjectBox()
            box.value = .object(object)
        }
        return KeyedEncodingContainer(KeyedContainer<Key>(object: object, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let array: JSONText.ArrayBox
        if case .array(let a) = box.value { array = a } else {
            array = JSONText.ArrayBox()
            box.value = .array(array)
        }
        return UnkeyedContainer(array: array, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleContainer(box: box, codingPath: codingPath)
    }
}

/// Turns a leaf value into a JSON value, or encodes a nested `Encodable` into a new box.
private func leaf<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws -> JSONText.ValueBox {
    switch value {
    case let s as String: return JSONText.ValueBox(.string(s))
    case let b as Bool: return JSONText.ValueBox(.bool(b))
    case let i as Int: return JSONText.ValueBox(.number(String(i)))
    case let i as Int8: return JSONText.ValueBox(.number(String(i)))
    case let i as Int16: return JSONText.ValueBox(.number(String(i)))
    case let i as Int32: return JSONText.ValueBox(.number(String(i)))
    case let i as Int64: return JSONText.ValueBox(.number(String(i)))
    case let i as UInt: return JSONText.ValueBox(.number(String(i)))
    case let i as UInt8: return JSONText.ValueBox(.number(String(i)))
    case let i as UInt16: return JSONText.ValueBox(.number(String(i)))
    case let i as UInt32: return JSONText.ValueBox(.number(String(i)))
    case let i as UInt64: return JSONText.ValueBox(.number(String(i)))
    case let d as Double: return JSONText.ValueBox(.number(JSONText.number(d)))
    case let f as Float: return JSONText.ValueBox(.number(JSONText.number(Double(f))))
    default:
        let box = JSONText.ValueBox()
        try value.encode(to: TreeEncoder(box: box, codingPath: codingPath))
        // A type that encodes nothing is an empty object, as JSONEncoder writes it.
        let v = box.value ?? .object(JSONText.ObjectBox())
        switch v {
        case .array, .object:
            // Written now, at the indentation its depth gives (each level of
            // the coding path is one level of nesting), and the tree dropped.
            var bytes: [UInt8] = []
            JSONText.write(v, indent: 2 * codingPath.count, into: &bytes)
            return JSONText.ValueBox(.raw(bytes))
        default:
            box.value = v
            return box
        }
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let object: JSONText.ObjectBox
    var codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { object.items[key.stringValue] = JSONText.ValueBox(.null) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        object.items[key.stringValue] = try leaf(value, codingPath: codingPath + [key])
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let box = JSONText.ValueBox()
        object.items[key.stringValue] = box
        return TreeEncoder(box: box, codingPath: codingPath + [key]).container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let box = JSONText.ValueBox()
        object.items[key.stringValue] = box
        return TreeEncoder(box: box, codingPath: codingPath + [key]).unkeyedContainer()
    }
    mutating func superEncoder() -> any Encoder { superEncoder(forKey: Key(stringValue: "super")!) }
    mutating func superEncoder(forKey key: Key) -> any Encoder {
        let box = JSONText.ValueBox()
        object.items[key.stringValue] = box
        return TreeEncoder(box: box, codingPath: codingPath + [key])
    }
}

private struct IndexKey: CodingKey {
    var intValue: Int?
    private var name: String?
    /// Made only when asked for: an array of 100,000 items would otherwise build 100,000 strings.
    var stringValue: String { name ?? "Index \(intValue ?? 0)" }
    init(_ i: Int) { intValue = i }
    init?(stringValue: String) { name = stringValue; intValue = nil }
    init?(intValue: Int) { self.init(intValue) }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let array: JSONText.ArrayBox
    var codingPath: [any CodingKey]
    var count: Int { array.items.count }

    mutating func encodeNil() throws { array.items.append(JSONText.ValueBox(.null)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        array.items.append(try leaf(value, codingPath: codingPath + [IndexKey(count)]))
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let box = JSONText.ValueBox()
        array.items.append(box)
        return TreeEncoder(box: box, codingPath: codingPath + [IndexKey(count - 1)]).container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let box = JSONText.ValueBox()
        array.items.append(box)
        return TreeEncoder(box: box, codingPath: codingPath + [IndexKey(count - 1)]).unkeyedContainer()
    }
    mutating func superEncoder() -> any Encoder {
        let box = JSONText.ValueBox()
        array.items.append(box)
        return TreeEncoder(box: box, codingPath: codingPath + [IndexKey(count - 1)])
    }
}

private struct SingleContainer: SingleValueEncodingContainer {
    let box: JSONText.ValueBox
    var codingPath: [any CodingKey]

    mutating func encodeNil() throws { box.value = .null }
    mutating func encode<T: Encodable>(_ value: T) throws {
        box.value = try leaf(value, codingPath: codingPath).value
    }
}
