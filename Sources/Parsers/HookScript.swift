/// What a network hook script (an /etc/network/if-*.d or NetworkManager
/// dispatcher script) says about how it will run, read without running it.
public struct HookScriptFacts: Hashable, Sendable {
    /// A file `. FILE`, `source FILE` or `exec FILE` runs unconditionally.
    public struct Include: Hashable, Sendable {
        /// `.`, `source` or `exec`.
        public var command: String
        public var path: String
        public var source: SourceLine
    }

    /// The `#!` line, when the file starts with one.
    public var shebang: SourceLine?
    /// The interpreter the kernel runs, byte for byte: with CRLF line endings
    /// it ends in a carriage return (`/bin/sh\r`), which names no file.
    public var interpreter: String?
    /// The file is an ELF binary (the kernel runs it directly).
    public var isELF = false
    /// How many lines end in `\r\n`, and the first of them.
    public var crlfLines = 0
    public var firstCRLFLine: SourceLine?
    /// Absolute, literal paths the script sources or execs at its top level,
    /// outside any `if`, `case`, loop, function or `&&`/`||` list, and never
    /// tested (`[ -r FILE ] || exit 0`) before: if the file is missing, the
    /// shell stops with an error.
    public var unconditionalIncludes: [Include] = []
    /// Lines that add addresses or routes (`ip addr add`, `ip route add`, `route add`, `ifconfig IF ADDR`).
    public var addressOrRouteCommands: [SourceLine] = []
    /// Lines that load firewall rules (`iptables-restore`, `nft -f`, `ufw`, `netfilter-persistent`, `iptables -A`...).
    public var firewallCommands: [SourceLine] = []
}

/// Reads a hook script's bytes.
public enum HookScriptParser {
    public static func parse(_ bytes: [UInt8], path: String) -> HookScriptFacts {
        var facts = HookScriptFacts()
        if bytes.starts(with: [0x7f, 0x45, 0x4c, 0x46]) {
            facts.isELF = true
            return facts
        }
        // Raw lines, keeping a trailing \r, to see what the kernel and the shell see.
        var raw: [[UInt8]] = []
        var start = 0
        for (i, b) in bytes.enumerated() where b == 0x0A {
            raw.append(Array(bytes[start..<i]))
            start = i + 1
        }
        if start < bytes.count { raw.append(Array(bytes[start...])) }
        let lines = Text.lines(bytes)

        for (i, r) in raw.enumerated() where r.last == 0x0D {
            facts.crlfLines += 1
            if facts.firstCRLFLine == nil { facts.firstCRLFLine = SourceLine(path: path, line: i + 1, text: lines[i]) }
        }
        if let first = raw.first, first.starts(with: Array("#!".utf8)) {
            facts.shebang = SourceLine(path: path, line: 1, text: lines[0])
            // The kernel splits the #! line at the first blank (space or tab) only.
            let rest = first.dropFirst(2).drop { $0 == 0x20 || $0 == 0x09 }
            let word = rest.prefix { $0 != 0x20 && $0 != 0x09 }
            facts.interpreter = String(decoding: word, as: UTF8.self)
        }

        var depth = 0
        var testedPaths: [String] = []
        for (i, line) in lines.enumerated() {
            let code = stripComment(line)
            let words = Text.words(code).map(String.init)
            guard !words.isEmpty else { continue }
            let source = SourceLine(path: path, line: i + 1, text: line)

            // Which paths a test mentions, so that a later include of them is guarded.
            if words.contains("[") || words.contains("test") || words.contains("[[") {
                testedPaths += words.filter { $0.hasPrefix("/") }.map(clean)
            }

            let conditional = depth > 0 || code.contains("&&") || code.contains("||") || ["if", "elif", "while", "until"].contains(words[0])
            if let include = include(words), !conditional, !testedPaths.contains(include.path) {
                facts.unconditionalIncludes.append(HookScriptFacts.Include(command: include.command, path: include.path, source: source))
            }

            if isAddressOrRoute(words) { facts.addressOrRouteCommands.append(source) }
            if isFirewall(words) { facts.firewallCommands.append(source) }

            for raw in words {
                var w = Substring(raw)
                while let l = w.last, l == ";" || l == "&" { w = w.dropLast() }
                switch w {
                case "if", "case", "while", "until", "for", "{": depth += 1
                case "fi", "esac", "done", "}": depth = max(0, depth - 1)
                default:
                    if w.hasSuffix("(){") || w.hasSuffix("{") && w.count > 1 && !w.hasPrefix("$") { depth += 1 }
                    if w.hasPrefix("}") && w.count > 1 && !w.contains("{") { depth = max(0, depth - 1) }
                }
            }
        }
        return facts
    }

    private static func clean(_ w: String) -> String {
        var w = w
        while let l = w.last, ";&|)]\"'".contains(l) { w.removeLast() }
        return w
    }

    private static func stripComment(_ line: String) -> String {
        var out = ""
        var quote: Character?
        var previous: Character = " "
        for c in line {
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "'" || c == "\"" {
                quote = c
            } else if c == "#" && Text.isSpace(previous) {
                break
            }
            out.append(c)
            previous = c
        }
        return out
    }

    /// `. /path`, `source /path`, `exec /path …` with a literal absolute path.
    private static func include(_ words: [String]) -> (command: String, path: String)? {
        guard words.count >= 2, [".", "source", "exec"].contains(words[0]) else { return nil }
        let path = clean(words[1])
        guard path.hasPrefix("/"), !path.contains(where: { "$`*?[{".contains($0) }) else { return nil }
        return (words[0], path)
    }

    private static func isAddressOrRoute(_ w: [String]) -> Bool {
        for (i, word) in w.enumerated() {
            let name = word.split(separator: "/").last.map(String.init) ?? word
            if name == "ip" {
                let rest = w[(i + 1)...].filter { !$0.hasPrefix("-") }
                guard rest.count >= 2 else { continue }
                let objects = ["a", "ad", "add", "addr", "addre", "addres", "address", "r", "ro", "rou", "rout", "route"]
                if objects.contains(rest[rest.startIndex]) && ["add", "replace", "append", "a"].contains(rest[rest.startIndex + 1]) { return true }
            }
            if name == "route", i + 1 < w.count, w[i + 1] == "add" { return true }
            if name == "ifconfig", i + 2 < w.count, w[i + 2].first?.isNumber == true { return true }
        }
        return false
    }

    private static func isFirewall(_ w: [String]) -> Bool {
        for (i, word) in w.enumerated() {
            let name = word.split(separator: "/").last.map(String.init) ?? word
            switch name {
            case "iptables-restore", "ip6tables-restore", "netfilter-persistent", "ufw", "firewall-cmd", "shorewall":
                return true
            case "nft" where w.dropFirst(i + 1).contains("-f"):
                return true
            case "iptables", "ip6tables":
                if w.dropFirst(i + 1).contains(where: { ["-A", "-I", "-P", "--append", "--insert", "--policy"].contains($0) }) { return true }
            default: break
            }
        }
        return false
    }

    /// run-parts' names without `--lsbsysinit`, as ifupdown runs it: only
    /// letters, digits, `_` and `-`; anything else is skipped without a word.
    public static func runPartsRuns(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2D
        }
    }
}
