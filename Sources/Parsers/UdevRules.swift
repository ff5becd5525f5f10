/// One udev rule: its `KEY op "value"` pairs, in order.
public struct UdevRule: Hashable, Sendable {
    public struct Pair: Hashable, Sendable {
        /// `SUBSYSTEM`, `ATTR{address}`, `NAME`, `ENV{ID_NET_NAME}`...
        public var key: String
        /// `==`, `!=`, `=`, `+=`, `-=`, `:=`.
        public var op: String
        public var value: String
    }

    public var pairs: [Pair]
    public var source: SourceLine

    /// The value of the first pair with this key and one of these operators.
    public func value(_ key: String, ops: Set<String> = ["=="]) -> String? {
        pairs.first { $0.key == key && ops.contains($0.op) }?.value
    }

    /// `NAME="x"` or `NAME:="x"` with a literal name: the rule renames the interface it matches.
    public var assignedName: String? {
        guard let v = value("NAME", ops: ["=", ":="]), !v.isEmpty, !v.contains("$"), !v.contains("%") else { return nil }
        return v
    }

    /// The MAC address the rule matches, lowercased (`ATTR{address}=="…"`).
    public var matchedAddress: String? {
        (value("ATTR{address}") ?? value("ATTRS{address}"))?.lowercased()
    }
}

/// Reads udev rules files: one rule per line (backslash continues a line),
/// `#` comments, comma-separated `KEY op "value"` pairs.
public enum UdevRulesParser {
    public static func parse(_ bytes: [UInt8], path: String) -> (rules: [UdevRule], diagnostics: [Diagnostic]) {
        var rules: [UdevRule] = []
        var diags: [Diagnostic] = []
        let lines = Text.lines(bytes)
        var i = 0
        while i < lines.count {
            let first = i
            var text = lines[i]
            while text.hasSuffix("\\") && i + 1 < lines.count {
                text.removeLast()
                i += 1
                text += lines[i]
            }
            i += 1
            let trimmed = Text.trimmed(text)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let source = SourceLine(path: path, line: first + 1, text: lines[first])
            if let pairs = pairs(trimmed) {
                rules.append(UdevRule(pairs: pairs, source: source))
            } else {
                diags.append(Diagnostic(source.location, text: source.text, message: "udev cannot parse this rule and ignores it."))
            }
        }
        return (rules, diags)
    }

    static func pairs(_ line: String) -> [UdevRule.Pair]? {
        var out: [UdevRule.Pair] = []
        var s = Substring(line)
        while true {
            s = s.drop { $0 == " " || $0 == "\t" || $0 == "," }
            if s.isEmpty { break }
            let keyEnd = s.firstIndex { "=!+-:".contains($0) } ?? s.endIndex
            let key = String(s[..<keyEnd]).trimmingBlanks
            s = s[keyEnd...]
            var op = ""
            for candidate in ["==", "!=", "+=", "-=", ":=", "="] where s.hasPrefix(candidate) {
                op = candidate
                break
            }
            guard !key.isEmpty, !op.isEmpty else { return nil }
            s = s.dropFirst(op.count).drop { $0 == " " || $0 == "\t" }
            guard s.first == "\"" else { return nil }
            s = s.dropFirst()
            var value = ""
            var closed = false
            while let c = s.first {
                s = s.dropFirst()
                if c == "\\", let n = s.first { value.append(n); s = s.dropFirst(); continue }
                if c == "\"" { closed = true; break }
                value.append(c)
            }
            guard closed else { return nil }
            out.append(UdevRule.Pair(key: key, op: op, value: value))
        }
        return out
    }
}
