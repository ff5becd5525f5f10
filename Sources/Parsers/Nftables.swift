/// The part of nft's ruleset syntax a boot-time firewall is written in:
/// tables, chains (base chains with `type ... hook ... priority ...;
/// policy ...;`), rules, `include`, `define`/`$variables`, `flush ruleset`,
/// and the `add`/`insert` commands. Pure: bytes and a target path in,
/// statements with their lines out; following includes is the loader's job.
/// Rules stay token lists: what they mean is the model's business.

/// One token of an nft file.
public struct NftToken: Hashable, Sendable {
    public enum Kind: Hashable, Sendable { case word, string, punct, newline }
    public var kind: Kind
    /// The word, the string without its quotes, or the punctuation character.
    public var text: String
    public var line: Int
    /// Whether nothing but blanks precedes it on its line.
    public var startsLine: Bool

    public init(kind: Kind, text: String, line: Int, startsLine: Bool) {
        self.kind = kind
        self.text = text
        self.line = line
        self.startsLine = startsLine
    }
}

/// A rule: the tokens between two newlines or semicolons of a chain body.
public struct NftRule: Hashable, Sendable {
    public var tokens: [NftToken]
    /// The line the rule starts on, as evidence.
    public var source: SourceLine
    /// The rule's first token is the first thing on its line, so a new line can go before it.
    public var startsLine: Bool
    /// The blanks before the rule on its line.
    public var indent: String
    /// `insert rule` puts it first in the chain.
    public var insertFirst: Bool = false

    public init(tokens: [NftToken], source: SourceLine, startsLine: Bool, indent: String) {
        self.tokens = tokens
        self.source = source
        self.startsLine = startsLine
        self.indent = indent
    }

    public var words: [String] { tokens.map(\.text) }
}

/// A chain block (or `add chain` command) with its rules.
public struct NftChain: Hashable, Sendable {
    public var name: String
    public var header: SourceLine
    /// `filter`, `nat`, `route` for base chains.
    public var type: String?
    /// `input`, `prerouting`, `forward`...
    public var hook: String?
    public var priority: String?
    /// `policy drop;` with its line.
    public var policy: Located<String>?
    public var rules: [NftRule]
    /// The line of the closing brace, and whether the brace starts it.
    public var closing: SourceLine?
    public var closingStartsLine: Bool
    public var closingIndent: String

    public var isBase: Bool { hook != nil }
}

public struct NftTable: Hashable, Sendable {
    /// `ip`, `ip6`, `inet`, `arp`, `bridge`, `netdev`.
    public var family: String
    public var name: String
    public var header: SourceLine
    public var chains: [NftChain]
    /// `flags dormant`: the table is loaded but does nothing.
    public var dormant: Bool
}

/// A top-level statement, in file order.
public enum NftStatement: Hashable, Sendable {
    case include(String, source: SourceLine)
    case flushRuleset(source: SourceLine)
    case flushTable(family: String, name: String, source: SourceLine)
    case deleteTable(family: String, name: String, source: SourceLine)
    case table(NftTable)
    /// `add rule FAMILY TABLE CHAIN ...` / `insert rule ...`.
    case rule(family: String, table: String, chain: String, NftRule)
    /// `add chain FAMILY TABLE CHAIN { type ... }` (rules inside are kept too).
    case chain(family: String, table: String, NftChain)
    /// A command that changes the ruleset in a way we do not evaluate.
    case unevaluated(String, source: SourceLine)
}

public struct NftFile: Hashable, Sendable {
    public var path: String
    public var statements: [NftStatement]
    /// Errors that make `nft -f` refuse the whole file (it loads nothing).
    public var errors: [Diagnostic]
    /// Things nft accepts that we do not evaluate.
    public var notes: [Diagnostic]
}

public enum NftParser {
    static let families: Set<String> = ["ip", "ip6", "inet", "arp", "bridge", "netdev"]

    /// Parses one file. `defines` carries `define`d variables across the
    /// files of one ruleset, in include order.
    public static func parse(_ bytes: [UInt8], path: String, defines: inout [String: [NftToken]]) -> NftFile {
        var file = NftFile(path: path, statements: [], errors: [], notes: [])
        let lines = Text.lines(bytes)
        let (rawTokens, lexError) = tokenize(bytes, lines: lines)
        if let lexError {
            file.errors.append(Diagnostic(SourceLocation(path: path, line: lexError.line), text: line(lines, lexError.line),
                                          message: "nft: \(lexError.message); nft -f loads nothing from this file"))
        }
        var p = Cursor(tokens: rawTokens, path: path, lines: lines)
        p.parseTop(&file, &defines)
        return file
    }

    static let headerFields: [String: Set<String>] = [
        "tcp": ["sport", "dport", "sequence", "ackseq", "doff", "reserved", "flags", "window", "checksum", "urgptr", "option"],
        "udp": ["sport", "dport", "length", "checksum"],
        "udplite": ["sport", "dport", "csumcov", "checksum"],
        "th": ["sport", "dport"],
    ]

    /// A word after `tcp`, `udp` or `th` used as a selector that is not one of
    /// their header fields (`tcp dprt 22`): nft refuses the whole file.
    static func unknownHeaderField(_ tokens: [NftToken]) -> String? {
        for (k, t) in tokens.enumerated() where t.kind == .word {
            guard let fields = headerFields[t.text], k + 1 < tokens.count else { continue }
            if k > 0 {
                let prev = tokens[k - 1].text
                // A protocol name as a value: after a selector or an operator, inside a
                // set or a concatenation (`"eth0" . tcp . 22`), or `reject with tcp reset`.
                if ["l4proto", "protocol", "nexthdr", "{", ",", "==", "!=", "eq", "ne", ":", ".", "with"].contains(prev) { continue }
            }
            let next = tokens[k + 1]
            if next.kind == .punct || next.text == "." { continue }
            if !fields.contains(next.text) { return next.text }
        }
        return nil
    }

    static func line(_ lines: [String], _ n: Int) -> String { n >= 1 && n <= lines.count ? lines[n - 1] : "" }

    // MARK: Lexer

    struct LexError { var line: Int; var message: String }

    static func tokenize(_ bytes: [UInt8], lines: [String]) -> ([NftToken], LexError?) {
        var out: [NftToken] = []
        var i = 0
        var line = 1
        var lineHasToken = false
        let n = bytes.count
        func isPunct(_ c: UInt8) -> Bool {
            c == UInt8(ascii: "{") || c == UInt8(ascii: "}") || c == UInt8(ascii: ";") || c == UInt8(ascii: ",")
                || c == UInt8(ascii: "(") || c == UInt8(ascii: ")")
        }
        while i < n {
            let c = bytes[i]
            if c == 0x0A {
                out.append(NftToken(kind: .newline, text: "\n", line: line, startsLine: false))
                line += 1
                lineHasToken = false
                i += 1
                continue
            }
            if c == 0x20 || c == 0x09 || c == 0x0D { i += 1; continue }
            if c == UInt8(ascii: "\\") && i + 1 < n && (bytes[i + 1] == 0x0A || (bytes[i + 1] == 0x0D && i + 2 < n && bytes[i + 2] == 0x0A)) {
                // A continued line: the newline is a blank.
                i += bytes[i + 1] == 0x0A ? 2 : 3
                line += 1
                continue
            }
            if c == UInt8(ascii: "#") {
                while i < n && bytes[i] != 0x0A { i += 1 }
                continue
            }
            let starts = !lineHasToken
            lineHasToken = true
            if c == UInt8(ascii: "\"") {
                var j = i + 1
                var text: [UInt8] = []
                while j < n && bytes[j] != UInt8(ascii: "\"") && bytes[j] != 0x0A {
                    text.append(bytes[j])
                    j += 1
                }
                guard j < n && bytes[j] == UInt8(ascii: "\"") else {
                    return (out, LexError(line: line, message: "unterminated string"))
                }
                out.append(NftToken(kind: .string, text: Text.decode(text), line: line, startsLine: starts))
                i = j + 1
                continue
            }
            if isPunct(c) {
                out.append(NftToken(kind: .punct, text: String(UnicodeScalar(c)), line: line, startsLine: starts))
                i += 1
                continue
            }
            var j = i
            while j < n {
                let d = bytes[j]
                if d == 0x20 || d == 0x09 || d == 0x0A || d == 0x0D || isPunct(d) || d == UInt8(ascii: "\"") { break }
                if d == UInt8(ascii: "#") { break }
                j += 1
            }
            out.append(NftToken(kind: .word, text: Text.decode(bytes[i..<j]), line: line, startsLine: starts))
            i = j
        }
        return (out, nil)
    }

    // MARK: Parser

    struct Cursor {
        var tokens: [NftToken]
        var path: String
        var lines: [String]
        var i = 0

        var atEnd: Bool { i >= tokens.count }
        var peek: NftToken? { i < tokens.count ? tokens[i] : nil }

        func source(_ line: Int) -> SourceLine { SourceLine(path: path, line: line, text: NftParser.line(lines, line)) }

        mutating func skipSeparators() {
            while let t = peek, t.kind == .newline || (t.kind == .punct && t.text == ";") { i += 1 }
        }

        /// The tokens up to the end of the statement (a newline or `;` outside
        /// braces and parentheses), braces included.
        mutating func statement() -> (tokens: [NftToken], unbalanced: Bool) {
            var out: [NftToken] = []
            var depth = 0
            while let t = peek {
                if depth == 0 && (t.kind == .newline || (t.kind == .punct && t.text == ";")) { break }
                if depth == 0 && t.kind == .punct && t.text == "}" { break }
                if t.kind == .punct && (t.text == "{" || t.text == "(") { depth += 1 }
                if t.kind == .punct && (t.text == "}" || t.text == ")") { depth -= 1 }
                i += 1
                if t.kind != .newline { out.append(t) }
            }
            return (out, depth != 0)
        }

        /// Replaces `$name` words by the define's tokens.
        func substitute(_ tokens: [NftToken], _ defines: [String: [NftToken]], errors: inout [Diagnostic]) -> [NftToken] {
            var out: [NftToken] = []
            for t in tokens {
                if t.kind == .word, t.text.hasPrefix("$") {
                    let name = String(t.text.dropFirst())
                    if let value = defines[name] {
                        out += value.map { NftToken(kind: $0.kind, text: $0.text, line: t.line, startsLine: false) }
                    } else {
                        errors.append(Diagnostic(SourceLocation(path: path, line: t.line), text: NftParser.line(lines, t.line),
                                                 message: "nft: unknown identifier '\(name)'; nft -f loads nothing from this file"))
                        out.append(t)
                    }
                } else {
                    out.append(t)
                }
            }
            return out
        }

        /// `[family] name`: nft's default family is ip.
        func tableSpec(_ words: [NftToken], at k: Int) -> (family: String, name: String, next: Int)? {
            guard k < words.count else { return nil }
            if NftParser.families.contains(words[k].text), k + 1 < words.count, words[k + 1].kind != .punct {
                return (words[k].text, words[k + 1].text, k + 2)
            }
            guard words[k].kind != .punct else { return nil }
            return ("ip", words[k].text, k + 1)
        }

        mutating func parseTop(_ file: inout NftFile, _ defines: inout [String: [NftToken]]) {
            while true {
                skipSeparators()
                guard let t = peek else { return }
                if t.kind == .punct && t.text == "}" {
                    file.errors.append(Diagnostic(SourceLocation(path: path, line: t.line), text: NftParser.line(lines, t.line),
                                                  message: "nft: syntax error, unexpected '}'; nft -f loads nothing from this file"))
                    i += 1
                    continue
                }
                let startLine = t.line
                let src = source(startLine)
                var words = t.text
                if t.kind == .word && ["table", "add", "create", "insert", "chain"].contains(words) {
                    if parseBlockCommand(&file, &defines) { continue }
                }
                let (stmt, unbalanced) = statement()
                if unbalanced {
                    file.errors.append(Diagnostic(src.location, text: src.text,
                                                  message: "nft: unbalanced braces; nft -f loads nothing from this file"))
                    return
                }
                guard let first = stmt.first else { i += 1; continue }
                words = first.text
                switch words {
                case "include":
                    if stmt.count >= 2, stmt[1].kind == .string {
                        file.statements.append(.include(stmt[1].text, source: src))
                    } else {
                        file.errors.append(Diagnostic(src.location, text: src.text,
                                                      message: "nft: include needs a quoted file name; nft -f loads nothing from this file"))
                    }
                case "define", "redefine", "undefine":
                    define(stmt, src, &file, &defines)
                case "flush":
                    if stmt.count >= 2, stmt[1].text == "ruleset" {
                        file.statements.append(.flushRuleset(source: src))
                    } else if stmt.count >= 3, stmt[1].text == "table", let spec = tableSpec(stmt, at: 2) {
                        file.statements.append(.flushTable(family: spec.family, name: spec.name, source: src))
                    } else {
                        file.statements.append(.unevaluated("`\(src.text.trimmingBlanks)` is not evaluated", source: src))
                    }
                case "delete", "destroy":
                    if stmt.count >= 3, stmt[1].text == "table", let spec = tableSpec(stmt, at: 2) {
                        file.statements.append(.deleteTable(family: spec.family, name: spec.name, source: src))
                    } else {
                        file.statements.append(.unevaluated("`\(src.text.trimmingBlanks)` is not evaluated", source: src))
                    }
                case "add", "insert", "create", "replace":
                    let substituted = substitute(stmt, defines, errors: &file.errors)
                    if substituted.count >= 2, substituted[1].text == "rule", let spec = tableSpec(substituted, at: 2),
                       spec.next < substituted.count {
                        let chain = substituted[spec.next].text
                        let body = Array(substituted[(spec.next + 1)...])
                        var rule = NftRule(tokens: body, source: src, startsLine: first.startsLine, indent: indent(startLine))
                        rule.insertFirst = words == "insert"
                        if words == "replace" {
                            file.statements.append(.unevaluated("`replace rule` is not evaluated", source: src))
                        } else {
                            file.statements.append(.rule(family: spec.family, table: spec.name, chain: chain, rule))
                        }
                    } else if substituted.count >= 2, ["table"].contains(substituted[1].text), let spec = tableSpec(substituted, at: 2) {
                        file.statements.append(.table(NftTable(family: spec.family, name: spec.name, header: src, chains: [], dormant: false)))
                    } else if substituted.count >= 2, ["set", "map", "element", "counter", "quota", "limit", "flowtable", "ct", "secmark", "synproxy"].contains(substituted[1].text) {
                        break
                    } else {
                        file.statements.append(.unevaluated("`\(src.text.trimmingBlanks)` is not evaluated", source: src))
                    }
                case "table":
                    if let spec = tableSpec(stmt, at: 1) {
                        file.statements.append(.table(NftTable(family: spec.family, name: spec.name, header: src, chains: [], dormant: false)))
                    }
                case "list", "reset", "monitor", "describe", "export", "import", "get":
                    break
                default:
                    file.errors.append(Diagnostic(src.location, text: src.text,
                                                  message: "nft: syntax error, unexpected \(words); nft -f loads nothing from this file"))
                }
            }
        }

        func indent(_ line: Int) -> String {
            String(NftParser.line(lines, line).prefix { $0 == " " || $0 == "\t" })
        }

        /// `table [fam] name { ... }`, `add table ... { }`, `add chain fam t c { ... }`, `chain ...`.
        /// Returns false (consuming nothing) when the statement has no block.
        mutating func parseBlockCommand(_ file: inout NftFile, _ defines: inout [String: [NftToken]]) -> Bool {
            let save = i
            var head: [NftToken] = []
            while let t = peek, t.kind != .newline, !(t.kind == .punct && (t.text == ";" || t.text == "{" || t.text == "}")) {
                head.append(t)
                i += 1
            }
            guard let brace = peek, brace.kind == .punct, brace.text == "{" else { i = save; return false }
            i += 1
            var k = 0
            if ["add", "create", "insert"].contains(head.first?.text ?? "") { k = 1 }
            guard k < head.count else { i = save; return false }
            let src = source(head[0].line)
            if head[k].text == "table", let spec = tableSpec(head, at: k + 1) {
                var table = NftTable(family: spec.family, name: spec.name, header: src, chains: [], dormant: false)
                parseTableBody(&table, &file, &defines)
                file.statements.append(.table(table))
                return true
            }
            if head[k].text == "chain", let spec = tableSpec(head, at: k + 1), spec.next < head.count {
                var chain = NftChain(name: head[spec.next].text, header: src, type: nil, hook: nil, priority: nil, policy: nil,
                                     rules: [], closing: nil, closingStartsLine: false, closingIndent: "")
                parseChainBody(&chain, &file, &defines)
                file.statements.append(.chain(family: spec.family, table: spec.name, chain))
                return true
            }
            i = save
            return false
        }

        /// Skips a `{ ... }` block whose opening brace was consumed.
        mutating func skipBlock() -> Bool {
            var depth = 1
            while let t = peek {
                i += 1
                if t.kind == .punct && t.text == "{" { depth += 1 }
                if t.kind == .punct && t.text == "}" { depth -= 1; if depth == 0 { return true } }
            }
            return false
        }

        /// `define name = value`, `redefine`, `undefine name`.
        func define(_ stmt: [NftToken], _ src: SourceLine, _ file: inout NftFile, _ defines: inout [String: [NftToken]]) {
            if stmt.first?.text == "undefine" {
                if stmt.count >= 2 { defines[stmt[1].text] = nil }
            } else if stmt.count >= 4, stmt[2].text == "=" {
                defines[stmt[1].text] = substitute(Array(stmt[3...]), defines, errors: &file.errors)
            } else if stmt.count >= 3, stmt[1].text.hasSuffix("=") || stmt[2].text.hasPrefix("=") {
                file.notes.append(Diagnostic(src.location, text: src.text, message: "define written without blanks around `=` is not evaluated"))
            } else {
                file.errors.append(Diagnostic(src.location, text: src.text, message: "nft: syntax error in define; nft -f loads nothing from this file"))
            }
        }

        mutating func parseTableBody(_ table: inout NftTable, _ file: inout NftFile, _ outer: inout [String: [NftToken]]) {
            // nft's parser opens a scope for a table block: a `define` inside it
            // is seen by the chains after it in the block, not outside the table.
            var defines = outer
            while true {
                skipSeparators()
                guard let t = peek else {
                    file.errors.append(Diagnostic(table.header.location, text: table.header.text,
                                                  message: "nft: the table's closing brace is missing; nft -f loads nothing from this file"))
                    return
                }
                if t.kind == .punct && t.text == "}" { i += 1; return }
                let src = source(t.line)
                switch t.text {
                case "chain":
                    i += 1
                    guard let name = peek, name.kind != .punct else { _ = statement(); continue }
                    i += 1
                    guard let b = peek, b.kind == .punct, b.text == "{" else {
                        _ = statement()
                        continue
                    }
                    i += 1
                    var chain = NftChain(name: name.text, header: src, type: nil, hook: nil, priority: nil, policy: nil,
                                         rules: [], closing: nil, closingStartsLine: false, closingIndent: "")
                    parseChainBody(&chain, &file, &defines)
                    table.chains.append(chain)
                case "set", "map", "flowtable", "counter", "quota", "limit", "ct", "secmark", "synproxy":
                    // Named objects: rules that use them (@name) are not evaluated.
                    var found = false
                    while let u = peek, u.kind != .newline {
                        i += 1
                        if u.kind == .punct && u.text == "{" { found = true; break }
                    }
                    if found && !skipBlock() {
                        file.errors.append(Diagnostic(src.location, text: src.text,
                                                      message: "nft: unbalanced braces; nft -f loads nothing from this file"))
                        return
                    }
                case "flags":
                    let (stmt, _) = statement()
                    if stmt.contains(where: { $0.text == "dormant" || $0.text.contains("dormant") }) { table.dormant = true }
                case "define", "redefine", "undefine":
                    let (stmt, _) = statement()
                    define(stmt, src, &file, &defines)
                case "comment":
                    _ = statement()
                case "include":
                    _ = statement()
                    file.notes.append(Diagnostic(src.location, text: src.text, message: "an include inside a table is not followed"))
                default:
                    let (stmt, unbalanced) = statement()
                    if unbalanced {
                        file.errors.append(Diagnostic(src.location, text: src.text, message: "nft: unbalanced braces; nft -f loads nothing from this file"))
                        return
                    }
                    if !stmt.isEmpty {
                        file.errors.append(Diagnostic(src.location, text: src.text,
                                                      message: "nft: syntax error, unexpected \(t.text) in a table; nft -f loads nothing from this file"))
                    }
                }
            }
        }

        mutating func parseChainBody(_ chain: inout NftChain, _ file: inout NftFile, _ defines: inout [String: [NftToken]]) {
            while true {
                skipSeparators()
                guard let t = peek else {
                    file.errors.append(Diagnostic(chain.header.location, text: chain.header.text,
                                                  message: "nft: the chain's closing brace is missing; nft -f loads nothing from this file"))
                    return
                }
                if t.kind == .punct && t.text == "}" {
                    chain.closing = source(t.line)
                    chain.closingStartsLine = t.startsLine
                    chain.closingIndent = indent(t.line)
                    i += 1
                    return
                }
                let src = source(t.line)
                let (raw, unbalanced) = statement()
                if unbalanced {
                    file.errors.append(Diagnostic(src.location, text: src.text, message: "nft: unbalanced braces; nft -f loads nothing from this file"))
                    return
                }
                let stmt = substitute(raw, defines, errors: &file.errors)
                guard let first = stmt.first else { continue }
                if first.kind == .word && ["chain", "table", "set", "map"].contains(first.text) {
                    // A block keyword inside a chain: a brace before it is missing.
                    file.errors.append(Diagnostic(src.location, text: src.text,
                                                  message: "nft: syntax error, unexpected \(first.text); nft -f loads nothing from this file"))
                    continue
                }
                switch first.text {
                case "type":
                    // type filter hook input priority 0 [device eth0]
                    if stmt.count >= 2 { chain.type = stmt[1].text }
                    if let h = stmt.firstIndex(where: { $0.text == "hook" }), h + 1 < stmt.count { chain.hook = stmt[h + 1].text }
                    if let p = stmt.firstIndex(where: { $0.text == "priority" }), p + 1 < stmt.count {
                        chain.priority = stmt[(p + 1)...].prefix { $0.text != "device" && $0.text != "devices" }.map(\.text).joined(separator: " ")
                    }
                case "policy":
                    guard stmt.count >= 2, ["accept", "drop"].contains(stmt[1].text) else {
                        file.errors.append(Diagnostic(src.location, text: src.text,
                                                      message: "nft: a chain policy is accept or drop; nft -f loads nothing from this file"))
                        continue
                    }
                    chain.policy = Located(stmt[1].text, src)
                case "comment" where stmt.count == 2:
                    break
                case "devices", "device", "flags":
                    break
                default:
                    if let bad = NftParser.unknownHeaderField(stmt) {
                        file.errors.append(Diagnostic(src.location, text: src.text,
                                                      message: "nft: syntax error, unexpected \(bad); nft -f loads nothing from this file"))
                        continue
                    }
                    chain.rules.append(NftRule(tokens: stmt, source: src, startsLine: first.startsLine, indent: indent(first.line)))
                }
            }
        }
    }
}

extension String {
    public var trimmingBlanks: String { Text.trimmed(self) }
}
