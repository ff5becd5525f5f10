extension Text {
    /// Longest text of one evidence line, note or path that a report carries, in UTF-8 bytes.
    public static let maxLineBytes = 400
    /// Longest finding message, in UTF-8 bytes (messages quote target words, which can be megabytes long).
    public static let maxMessageBytes = 2000

    /// `s` cut to at most `limit` UTF-8 bytes (on a character boundary) with
    /// "…(N bytes)" saying how long it was; as it is when it fits.
    public static func clipped(_ s: String, _ limit: Int = maxLineBytes) -> String {
        let total = s.utf8.count
        guard total > limit else { return s }
        var kept = ""
        var used = 0
        for c in s.unicodeScalars {
            let n = UTF8.width(c)
            if used + n > limit { break }
            kept.unicodeScalars.append(c)
            used += n
        }
        return kept + "…(\(total) bytes)"
    }

    /// Whether `c` reorders or hides text on a terminal: the Unicode bidi
    /// controls (U+061C, U+200E/F, U+202A–E, U+2066–9) and the line and
    /// paragraph separators.
    public static func isBidiOrSeparator(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x061C, 0x200E, 0x200F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    /// Whether `c` is a C0 or C1 control or DEL (tab excluded).
    public static func isControl(_ c: Unicode.Scalar) -> Bool {
        (c.value < 0x20 && c != "\t") || c.value == 0x7F || (0x80...0x9F).contains(c.value)
    }
}

/// Terminal-safe text: control characters from the target (an ANSI escape in
/// a config line, a carriage return) are shown as `\xNN`, bidi controls
/// (U+202E reverses what follows) as `\u{202E}`; nothing is sent raw. The
/// one function every renderer (reports, `devices`, error messages) uses.
public func printable(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for scalar in s.unicodeScalars {
        let v = scalar.value
        if Text.isControl(scalar) {
            out += "\\x" + (v < 16 ? "0" : "") + String(v, radix: 16)
        } else if Text.isBidiOrSeparator(scalar) {
            out += "\\u{" + String(v, radix: 16, uppercase: true) + "}"
        } else {
            out.unicodeScalars.append(scalar)
        }
    }
    return out
}
