/// Reads `KEY=value` files (/etc/default/*, ifcfg, os-release) the way sh
/// would assign them, without ever running anything: single quotes, double
/// quotes with backslash escapes, backslashes, and `#` comments. Command
/// substitutions and expansions are kept as literal text.
public enum ShellAssignments {
    public struct Assignment: Hashable, Sendable {
        public var key: String
        public var value: String
        public var source: SourceLine
    }

    public static func parse(_ bytes: [UInt8], path: String) -> (assignments: [Assignment], diagnostics: [Diagnostic]) {
        var out: [Assignment] = []
        var diags: [Diagnostic] = []
        for (i, raw) in Text.lines(bytes).enumerated() {
            let loc = SourceLocation(path: path, line: i + 1)
            var line = Text.trimmed(raw[...])
            if line.isEmpty || line.first == "#" { continue }
            if line.hasPrefix("export ") { line = Text.trimmed(line.dropFirst(7)) }
            guard let eq = line.firstIndex(of: "="),
                  !line[..<eq].isEmpty,
                  line[..<eq].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                diags.append(Diagnostic(loc, text: raw, message: "This line is not a KEY=value assignment."))
                continue
            }
            let key = String(line[..<eq])
            switch unquote(line[line.index(after: eq)...]) {
            case .some(let v): out.append(Assignment(key: key, value: v, source: SourceLine(loc, raw)))
            case .none: diags.append(Diagnostic(loc, text: raw, message: "A quote in the value of \(key) is never closed."))
            }
        }
        return (out, diags)
    }

    /// The value as sh would see it; nil on an unterminated quote.
    static func unquote(_ s: Substring) -> String? {
        var out = ""
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            switch c {
            case "'":
                guard let close = s[s.index(after: i)...].firstIndex(of: "'") else { return nil }
                out += s[s.index(after: i)..<close]
                i = s.index(after: close)
            case "\"":
                var j = s.index(after: i)
                var closed = false
                while j < s.endIndex {
                    let d = s[j]
                    if d == "\"" { closed = true; break }
                    if d == "\\", s.index(after: j) < s.endIndex, "$`\"\\\n".contains(s[s.index(after: j)]) {
                        j = s.index(after: j)
                    }
                    out.append(s[j])
                    j = s.index(after: j)
                }
                guard closed else { return nil }
                i = s.index(after: j)
            case "\\":
                let n = s.index(after: i)
                if n < s.endIndex { out.append(s[n]); i = s.index(after: n) } else { i = n }
            case "#" where out.isEmpty || out.last.map(Text.isSpace) == true:
                return out
            case " ", "\t":
                // An unquoted blank ends the value (the rest would be a command).
                return out
            default:
                out.append(c)
                i = s.index(after: i)
            }
        }
        return out
    }

    /// The last assignment of each key, as sh leaves it.
    public static func dictionary(_ assignments: [Assignment]) -> [String: Assignment] {
        var d: [String: Assignment] = [:]
        for a in assignments { d[a.key] = a }
        return d
    }
}
