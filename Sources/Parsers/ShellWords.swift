/// A value as one POSIX `sh` word that the shell takes as data, the one
/// quoting function of the project (commands shown to paste, the repair
/// script, the `devices` hints). Plainly safe words stay as they are;
/// anything else is single-quoted, with:
/// - `'` as `'\''`;
/// - `$` and backquote as `'"\$"'` and `'"\`"'` between the quoted parts
///   (still plain data), so nothing looks like an expansion meant to run,
///   to a reader or to shellcheck;
/// - control characters (ESC, BEL, CR, …), DEL, C1 and bidi controls as
///   `'"$(printf '\NNN')"'`, one octal escape per UTF-8 byte, so neither
///   `cat repair.sh` nor a pasted line sends them to a terminal. Tab and
///   newline stay inside the quotes: they are data there and move no cursor
///   anywhere a terminal could be driven (command substitution would eat a
///   trailing newline).
///
/// `alwaysQuote` quotes even a safe word (the script quotes every value the
/// same way, which keeps it easy to read).
public func shellWord(_ s: String, alwaysQuote: Bool = false) -> String {
    let safe = !s.isEmpty && s.unicodeScalars.allSatisfy { c in
        (c.value >= 0x30 && c.value <= 0x39) || (c.value >= 0x41 && c.value <= 0x5A) || (c.value >= 0x61 && c.value <= 0x7A)
            || "/._-+=:@,%".unicodeScalars.contains(c)
    }
    if safe && !alwaysQuote { return s }
    var out = "'"
    for c in s.unicodeScalars {
        switch c {
        case "'": out += #"'\''"#
        case "$": out += #"'"\$"'"#
        case "`": out += #"'"\`"'"#
        case "\t", "\n": out.unicodeScalars.append(c)
        default:
            if Text.isControl(c) || Text.isBidiOrSeparator(c) {
                let octal = Array(String(c).utf8).map { b in
                    let o = String(b, radix: 8)
                    return "\\" + String(repeating: "0", count: 3 - o.count) + o
                }.joined()
                out += "'\"$(printf '" + octal + "')\"'"
            } else {
                out.unicodeScalars.append(c)
            }
        }
    }
    return out + "'"
}

/// A target path as one word of a command shown to the user, under the
/// mounted root: `"$ROOT"/etc/network/interfaces`. The path is data: a name
/// with `$(...)`, quotes or blanks stays a name when the command is pasted.
public func rootPath(_ path: String) -> String { "\"$ROOT\"" + shellWord(path) }

/// One command offered to a person to paste (a manual repair step), made of
/// typed words: literal shell text written by the tool itself, target paths
/// (under `$ROOT`), and values from the target. Only the literal parts are
/// code; every target path and value is rendered through `shellWord`, here
/// and nowhere else, so a `.wants` link or an include named `$(touch x)`
/// stays a name when the line is pasted.
///
/// Written as a string literal with typed interpolations:
/// `"rm -f \(path: link)"`, `"ip route add default via \(value: gateway)"`,
/// `"# line \(12)"`. A plain `\(string)` does not compile, so no target
/// text can slip into a command untyped.
public struct ShellCommand: Hashable, Sendable, Codable, CustomStringConvertible, ExpressibleByStringInterpolation {
    public enum Word: Hashable, Sendable, Codable {
        /// Shell text the tool wrote (a command name, an option, an operator).
        case literal(String)
        /// A target path, rendered as `"$ROOT"'<path>'`.
        case targetPath(String)
        /// A value from the target (a unit name, an address), rendered as one quoted word.
        case value(String)
        /// Text in a trailing `#` comment: control and bidi characters escaped.
        case comment(String)
    }

    public var words: [Word]

    public init(words: [Word]) { self.words = words }

    public init(stringLiteral value: String) { words = [.literal(value)] }

    public init(stringInterpolation: Interpolation) { words = stringInterpolation.words }

    /// The command as a person pastes it.
    public var text: String {
        words.map { w in
            switch w {
            case .literal(let s): s
            case .targetPath(let p): rootPath(p)
            case .value(let v): shellWord(v)
            case .comment(let c): printable(c)
            }
        }.joined()
    }

    public var description: String { text }

    public struct Interpolation: StringInterpolationProtocol {
        var words: [Word] = []
        public init(literalCapacity: Int, interpolationCount: Int) {}
        public mutating func appendLiteral(_ literal: String) { if !literal.isEmpty { words.append(.literal(literal)) } }
        /// A target path under `$ROOT`.
        public mutating func appendInterpolation(path: String) { words.append(.targetPath(path)) }
        /// A value from the target, as one word.
        public mutating func appendInterpolation(value: String) { words.append(.value(value)) }
        /// Words from the target as separate quoted words.
        public mutating func appendInterpolation(values: [String]) {
            for (i, v) in values.enumerated() {
                if i > 0 { words.append(.literal(" ")) }
                words.append(.value(v))
            }
        }
        /// Text after `#`.
        public mutating func appendInterpolation(comment: String) { words.append(.comment(comment)) }
        /// A number.
        public mutating func appendInterpolation(_ n: Int) { words.append(.literal(String(n))) }
        /// Another command's words.
        public mutating func appendInterpolation(_ c: ShellCommand) { words += c.words }
    }
}
