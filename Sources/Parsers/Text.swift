/// Byte-level text helpers shared by every parser. Target files are bytes:
/// they may hold CRLF, NUL or invalid UTF-8, and none of that may crash us.
public enum Text {
    /// Decodes bytes as UTF-8; each invalid byte becomes `\xNN`, so the
    /// original bytes can be read back from the evidence.
    public static func decode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        if let s = String(validating: bytes, as: UTF8.self) { return s }
        let b = Array(bytes)
        var out = ""
        var i = 0
        while i < b.count {
            let n = validSequenceLength(b, at: i)
            if n > 0 {
                out += String(decoding: b[i..<(i + n)], as: UTF8.self)
                i += n
            } else {
                out += "\\x" + (b[i] < 16 ? "0" : "") + String(b[i], radix: 16)
                i += 1
            }
        }
        return out
    }

    /// The length of the well-formed UTF-8 sequence starting at `i`, or 0.
    private static func validSequenceLength(_ b: [UInt8], at i: Int) -> Int {
        let lead = b[i]
        if lead < 0x80 { return 1 }
        let (count, lo, hi): (Int, UInt8, UInt8)
        switch lead {
        case 0xC2...0xDF: (count, lo, hi) = (2, 0x80, 0xBF)
        case 0xE0: (count, lo, hi) = (3, 0xA0, 0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: (count, lo, hi) = (3, 0x80, 0xBF)
        case 0xED: (count, lo, hi) = (3, 0x80, 0x9F)
        case 0xF0: (count, lo, hi) = (4, 0x90, 0xBF)
        case 0xF1...0xF3: (count, lo, hi) = (4, 0x80, 0xBF)
        case 0xF4: (count, lo, hi) = (4, 0x80, 0x8F)
        default: return 0
        }
        guard i + count <= b.count, (lo...hi).contains(b[i + 1]) else { return 0 }
        for k in 2..<count where !(0x80...0xBF).contains(b[i + k]) { return 0 }
        return count
    }

    /// Splits bytes into lines on `\n`, dropping one trailing `\r` from each
    /// (reported separately by rules that care about CRLF). Lines are 1-based.
    public static func lines(_ bytes: [UInt8]) -> [String] {
        var out: [String] = []
        var start = 0
        let n = bytes.count
        var i = 0
        while i < n {
            if bytes[i] == 0x0A {
                var end = i
                if end > start && bytes[end - 1] == 0x0D { end -= 1 }
                out.append(decode(bytes[start..<end]))
                start = i + 1
            }
            i += 1
        }
        if start < n {
            var end = n
            if end > start && bytes[end - 1] == 0x0D { end -= 1 }
            out.append(decode(bytes[start..<end]))
        }
        return out
    }

    /// Whether a byte is blank in the sense of the C locale's isspace.
    @inline(__always)
    public static func isSpace(_ c: Character) -> Bool {
        c == " " || c == "\t" || c == "\r" || c == "\u{0B}" || c == "\u{0C}" || c == "\n"
    }

    /// Splits on runs of blanks, as the shell and most config files do.
    public static func words(_ line: Substring) -> [Substring] {
        line.split(whereSeparator: isSpace)
    }

    public static func words(_ line: String) -> [Substring] { words(line[...]) }

    /// The line without leading and trailing blanks.
    public static func trimmed(_ s: Substring) -> Substring {
        var s = s
        while let f = s.first, isSpace(f) { s = s.dropFirst() }
        while let l = s.last, isSpace(l) { s = s.dropLast() }
        return s
    }

    public static func trimmed(_ s: String) -> String { String(trimmed(s[...])) }
}
