/// Pure parsers for the files that say where network services listen:
/// sshd_config, postfix's main.cf and master.cf, amavisd's Perl
/// configuration, nginx, Apache httpd and /etc/hosts. Each takes bytes and a
/// target path; following `Include`s is the loader's job.

/// An address and port as a listen directive writes them. `host` nil means
/// every address; `port` nil means the directive does not say (the service's
/// default applies).
public struct ListenSpec: Hashable, Sendable {
    public var host: String?
    public var port: Int?

    public init(host: String?, port: Int?) {
        self.host = host
        self.port = port
    }
}

// MARK: - sshd

/// One keyword line of an sshd_config file.
public struct SshdDirective: Hashable, Sendable {
    /// Lowercased, as sshd matches keywords.
    public var keyword: String
    public var arguments: [String]
    public var source: SourceLine
    /// Inside a `Match` block (of this file).
    public var inMatch: Bool
    /// The criteria of the Match block the line sits in (`["User", "alice"]`,
    /// `["all"]`); nil outside any Match block.
    public var matchCriteria: [String]? = nil
    /// The `Match` line of that block.
    public var matchSource: SourceLine? = nil

    /// Inside a Match block that does not apply to every connection: `Match
    /// all` makes sshd treat what follows as global (sshd -t accepts `Port`
    /// after it, and refuses it after `Match User x`).
    public var inConditionalMatch: Bool {
        inMatch && !(matchCriteria.map { $0.count == 1 && $0[0].lowercased() == "all" } ?? false)
    }
}

/// An sshd_config file as written: its directives in order.
public struct SshdConfigFile: Hashable, Sendable {
    public var directives: [SshdDirective] = []
    public var diagnostics: [Diagnostic] = []
}

/// Parses sshd_config(5) syntax as OpenSSH's servconf.c does: `#` lines and
/// blank lines are skipped, keyword and arguments are split on blanks or one
/// `=`, double quotes group an argument, and a word starting with `#` ends
/// the line. Pure.
public enum SshdConfigParser {
    public static func parse(_ bytes: [UInt8], path: String, startsInMatch: Bool = false,
                             matchCriteria: [String]? = nil, matchSource: SourceLine? = nil) -> SshdConfigFile {
        var file = SshdConfigFile()
        var inMatch = startsInMatch
        var criteria = matchCriteria
        var matchLine = matchSource
        for (i, line) in Text.lines(bytes).enumerated() {
            let source = SourceLine(path: path, line: i + 1, text: line)
            let trimmed = Text.trimmed(line)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let (words, unbalanced) = split(trimmed)
            guard let first = words.first else { continue }
            if unbalanced {
                file.diagnostics.append(Diagnostic(source.location, text: line,
                    message: "Unbalanced quote: sshd refuses to start with this line."))
                continue
            }
            var keyword = first
            var args = Array(words.dropFirst())
            // `Keyword=value` and `Keyword = value` are both accepted.
            if let eq = keyword.firstIndex(of: "=") {
                let rest = String(keyword[keyword.index(after: eq)...])
                keyword = String(keyword[..<eq])
                if !rest.isEmpty { args.insert(rest, at: 0) }
            } else if args.first == "=" {
                args.removeFirst()
            } else if let a = args.first, a.hasPrefix("=") {
                args[0] = String(a.dropFirst())
            }
            let lower = keyword.lowercased()
            // A Match block runs to the next Match or the end of the file;
            // `Match all` is still a Match line, so it keeps us inside one.
            if lower == "match" {
                inMatch = true
                criteria = args
                matchLine = source
            }
            let isMatch = lower == "match"
            file.directives.append(SshdDirective(keyword: lower, arguments: args, source: source,
                                                 inMatch: isMatch ? false : inMatch,
                                                 matchCriteria: isMatch || !inMatch ? nil : criteria,
                                                 matchSource: isMatch || !inMatch ? nil : matchLine))
        }
        return file
    }

    /// Words of a line: blanks separate, double quotes group, `#` at the
    /// start of a word ends the line. Also says whether a quote was left open.
    static func split(_ line: String) -> ([String], Bool) {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quoted = false
        for c in line {
            if quoted {
                if c == "\"" { quoted = false } else { current.append(c) }
                continue
            }
            if Text.isSpace(c) {
                if inWord { words.append(current); current = ""; inWord = false }
                continue
            }
            if c == "#" && !inWord { break }
            if c == "\"" { quoted = true; inWord = true; continue }
            current.append(c)
            inWord = true
        }
        if inWord { words.append(current) }
        return (words, quoted)
    }

    /// Parses a `ListenAddress` argument as servconf.c does: `[v6]:port`,
    /// `[v6]`, a bare IPv6 address (two or more colons), `host:port`, or
    /// `host`. Nil when a port is present but not a number in 1...65535.
    public static func listenAddress(_ arg: String) -> ListenSpec? {
        if arg.hasPrefix("[") {
            guard let close = arg.firstIndex(of: "]") else { return nil }
            let host = String(arg[arg.index(after: arg.startIndex)..<close])
            let rest = arg[arg.index(after: close)...]
            if rest.isEmpty { return ListenSpec(host: host, port: nil) }
            guard rest.hasPrefix(":"), let port = port(String(rest.dropFirst())) else { return nil }
            return ListenSpec(host: host, port: port)
        }
        let colons = arg.filter { $0 == ":" }.count
        if colons >= 2 { return ListenSpec(host: arg, port: nil) }
        if colons == 1, let colon = arg.firstIndex(of: ":") {
            guard let port = port(String(arg[arg.index(after: colon)...])) else { return nil }
            return ListenSpec(host: String(arg[..<colon]), port: port)
        }
        return ListenSpec(host: arg, port: nil)
    }

    /// A TCP port number in 1...65535, or nil.
    public static func port(_ s: String) -> Int? {
        guard let n = Int(s), (1...65535).contains(n) else { return nil }
        return n
    }
}

// MARK: - postfix

/// One `name = value` parameter of postfix's main.cf.
public struct PostfixParameter: Hashable, Sendable {
    public var name: String
    /// With continuation lines joined by a space.
    public var value: String
    public var source: SourceLine
}

/// One service line of postfix's master.cf.
public struct PostfixService: Hashable, Sendable {
    /// The service field as written (`smtp`, `127.0.0.1:10025`, `submission`).
    public var service: String
    /// `inet`, `unix`, `unix-dgram`, `fifo`, `pass`.
    public var type: String
    /// The command (`smtpd`), with its arguments.
    public var command: [String]
    public var source: SourceLine

    /// The address and port of an `inet` service: `[host:]port`, the port
    /// given as a number or a service name.
    public var listen: ListenSpec? {
        guard type == "inet" else { return nil }
        var host: String?
        var portText = service
        if let colon = service.lastIndex(of: ":") {
            host = String(service[..<colon])
            portText = String(service[service.index(after: colon)...])
            if host?.hasPrefix("[") == true, host?.hasSuffix("]") == true { host = String(host?.dropFirst().dropLast() ?? "") }
            if host == "" { host = nil }
        }
        return ListenSpec(host: host, port: SshdConfigParser.port(portText) ?? Self.wellKnown[portText])
    }

    /// The service names postfix's stock master.cf uses, from /etc/services.
    static let wellKnown = ["smtp": 25, "submission": 587, "smtps": 465, "submissions": 465, "lmtp": 24]
}

/// postfix's configuration files, parsed.
public enum PostfixParser {
    /// main.cf: `#` comments, `name = value`, a line starting with blanks
    /// continues the one before. Every assignment kept; the last one wins.
    public static func parseMain(_ bytes: [UInt8], path: String) -> (parameters: [PostfixParameter], diagnostics: [Diagnostic]) {
        var params: [PostfixParameter] = []
        var diagnostics: [Diagnostic] = []
        for (line, source) in logicalLines(bytes, path: path, diagnostics: &diagnostics) {
            guard let eq = line.firstIndex(of: "=") else {
                diagnostics.append(Diagnostic(source.location, text: source.text,
                    message: "Not a 'name = value' line: postfix stops with a fatal error on it."))
                continue
            }
            let name = Text.trimmed(String(line[..<eq]))
            guard !name.isEmpty, !name.contains(where: Text.isSpace) else {
                diagnostics.append(Diagnostic(source.location, text: source.text,
                    message: "Bad parameter name: postfix stops with a fatal error on it."))
                continue
            }
            params.append(PostfixParameter(name: name, value: Text.trimmed(String(line[line.index(after: eq)...])), source: source))
        }
        return (params, diagnostics)
    }

    /// master.cf: eight fields per service, `-o` and other continuation lines
    /// (starting with blanks) belong to the service above.
    public static func parseMaster(_ bytes: [UInt8], path: String) -> (services: [PostfixService], diagnostics: [Diagnostic]) {
        var services: [PostfixService] = []
        var diagnostics: [Diagnostic] = []
        for (line, source) in logicalLines(bytes, path: path, diagnostics: &diagnostics) {
            let words = Text.words(line).map(String.init)
            guard words.count >= 8 else {
                diagnostics.append(Diagnostic(source.location, text: source.text,
                    message: "A master.cf service needs eight fields: postfix stops with a fatal error on it."))
                continue
            }
            services.append(PostfixService(service: words[0], type: words[1], command: Array(words[7...]), source: source))
        }
        return (services, diagnostics)
    }

    /// Logical lines with the source of their first line. A comment line
    /// (first non-blank `#`) does not end a continuation, as in postfix.
    static func logicalLines(_ bytes: [UInt8], path: String, diagnostics: inout [Diagnostic]) -> [(String, SourceLine)] {
        var out: [(String, SourceLine)] = []
        for (i, line) in Text.lines(bytes).enumerated() {
            let trimmed = Text.trimmed(line)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            if let first = line.first, Text.isSpace(first) {
                if out.isEmpty {
                    let s = SourceLine(path: path, line: i + 1, text: line)
                    diagnostics.append(Diagnostic(s.location, text: line,
                        message: "A continuation line with nothing to continue: postfix stops with a fatal error on it."))
                } else {
                    out[out.count - 1].0 += " " + trimmed
                }
                continue
            }
            out.append((trimmed, SourceLine(path: path, line: i + 1, text: line)))
        }
        return out
    }

    /// Expands `$name` and `${name}` from the parameters (one level deeper
    /// per reference, up to a limit against loops).
    public static func expand(_ value: String, _ params: [String: String], depth: Int = 0) -> String {
        guard depth < 8, value.contains("$") else { return value }
        var out = ""
        var chars = Array(value)[...]
        while let c = chars.first {
            chars = chars.dropFirst()
            guard c == "$" else { out.append(c); continue }
            var name = ""
            if chars.first == "{" || chars.first == "(" {
                let close: Character = chars.first == "{" ? "}" : ")"
                chars = chars.dropFirst()
                while let d = chars.first, d != close { name.append(d); chars = chars.dropFirst() }
                chars = chars.dropFirst()
            } else {
                while let d = chars.first, d.isLetter || d.isNumber || d == "_" { name.append(d); chars = chars.dropFirst() }
            }
            out += expand(params[name] ?? "", params, depth: depth + 1)
        }
        return out
    }

    /// The addresses `inet_interfaces` names: nil for `all`; words split on
    /// blanks and commas otherwise (`loopback-only` stays a word, for the
    /// caller to read as 127.0.0.1 and ::1).
    public static func inetInterfaces(_ value: String) -> [String]? {
        let words = value.split(whereSeparator: { $0 == "," || Text.isSpace($0) }).map(String.init)
        if words.isEmpty || words.contains(where: { $0.lowercased() == "all" }) { return nil }
        return words
    }
}

// MARK: - amavisd

/// A `$inet_socket_bind` or `$inet_socket_port` assignment of amavisd's Perl configuration.
public struct AmavisAssignment: Hashable, Sendable {
    /// `inet_socket_bind` or `inet_socket_port`.
    public var name: String
    /// The values assigned: one for a scalar, several for `[a, b]`, none for `undef`.
    public var values: [String]
    public var source: SourceLine
}

/// Reads the two assignments that decide where amavisd listens. The file is
/// Perl; we do not run it, we recognise `$inet_socket_bind = ...;` and
/// `$inet_socket_port = ...;` on one line, which is how Debian and RHEL
/// ship them. Pure.
public enum AmavisConfigParser {
    static let names = ["inet_socket_bind", "inet_socket_port"]

    public static func parse(_ bytes: [UInt8], path: String) -> (assignments: [AmavisAssignment], diagnostics: [Diagnostic]) {
        var out: [AmavisAssignment] = []
        var diagnostics: [Diagnostic] = []
        for (i, line) in Text.lines(bytes).enumerated() {
            let code = stripComment(line)
            for name in names {
                guard let r = code.firstRange(of: "$" + name) else { continue }
                let after = code[r.upperBound...]
                // `$inet_socket_port_foo` is another variable.
                if let c = after.first, c.isLetter || c.isNumber || c == "_" { continue }
                let source = SourceLine(path: path, line: i + 1, text: line)
                var rest = Text.trimmed(after)
                guard rest.hasPrefix("="), !rest.hasPrefix("==") else { continue }
                rest = Text.trimmed(rest.dropFirst())
                guard let semi = rest.lastIndex(of: ";") else {
                    diagnostics.append(Diagnostic(source.location, text: line,
                        message: "$\(name) is assigned over several lines; this audit reads one-line assignments only."))
                    continue
                }
                let value = Text.trimmed(rest[..<semi])
                guard let values = perlValues(value) else {
                    diagnostics.append(Diagnostic(source.location, text: line,
                        message: "$\(name) is set to an expression this audit cannot evaluate."))
                    continue
                }
                out.append(AmavisAssignment(name: name, values: values, source: source))
            }
        }
        return (out, diagnostics)
    }

    /// A Perl scalar or array reference of literals: `'x'`, `"x"`, `10024`,
    /// `undef`, `[10024, '10026']`. Nil for anything else.
    static func perlValues(_ s: Substring) -> [String]? {
        var s = s
        if s == "undef" { return [] }
        let isList = s.hasPrefix("[") && s.hasSuffix("]")
        if isList { s = s.dropFirst().dropLast() }
        var out: [String] = []
        for item in s.split(separator: ",") {
            var t = Text.trimmed(item)
            if t.isEmpty { continue }
            if (t.hasPrefix("'") && t.hasSuffix("'")) || (t.hasPrefix("\"") && t.hasSuffix("\"")), t.count >= 2 {
                t = t.dropFirst().dropLast()
            } else if Int(t) == nil {
                return nil
            }
            out.append(String(t))
        }
        if !isList && out.count != 1 { return nil }
        return out
    }

    /// The line without a Perl `#` comment (a `#` outside quotes).
    static func stripComment(_ line: String) -> String {
        var quote: Character?
        var out = ""
        for c in line {
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "'" || c == "\"" {
                quote = c
            } else if c == "#" {
                break
            }
            out.append(c)
        }
        return out
    }
}

// MARK: - nginx

/// One nginx directive: its name, arguments and the blocks it sits in.
public struct NginxDirective: Hashable, Sendable {
    public var name: String
    public var arguments: [String]
    /// Enclosing block names, outermost first (`["http", "server"]`).
    public var context: [String]
    /// For a `server` block directive: a number identifying that block, so
    /// the loader can tell a server without `listen` (it listens on *:80).
    public var block: Int?
    public var source: SourceLine
}

/// An nginx file's directives, blocks opened as `name {` reported too.
public struct NginxConfigFile: Hashable, Sendable {
    public var directives: [NginxDirective] = []
    /// Each `server {` with its line.
    public var servers: [NginxServerBlock] = []
    public var diagnostics: [Diagnostic] = []
}

/// A `server {` block: its number (unique across the included files) and where it opens.
public struct NginxServerBlock: Hashable, Sendable {
    public var block: Int
    public var context: [String]
    public var source: SourceLine
}

/// nginx's configuration syntax: words and quoted strings, `;` ends a
/// directive, `{ }` a block, `#` a comment to the end of the line. The
/// context an included file's directives sit in is passed in, as nginx
/// parses an include in place. Pure.
public enum NginxConfigParser {
    public static func parse(_ bytes: [UInt8], path: String, context: [String] = [], firstBlock: Int = 0) -> NginxConfigFile {
        var file = NginxConfigFile()
        let lines = Text.lines(bytes)
        var stack = context
        var serverStack: [Int?] = []
        var nextBlock = firstBlock
        var words: [String] = []
        var startLine = 0
        func src(_ n: Int) -> SourceLine { SourceLine(path: path, line: n, text: n >= 1 && n <= lines.count ? lines[n - 1] : "") }
        func note(_ n: Int, _ m: String) { let s = src(n); file.diagnostics.append(Diagnostic(s.location, text: s.text, message: m)) }

        for (i, line) in lines.enumerated() {
            let n = i + 1
            var chars = Array(line)[...]
            while let c = chars.first {
                if Text.isSpace(c) { chars = chars.dropFirst(); continue }
                if c == "#" { break }
                if c == ";" || c == "{" || c == "}" {
                    chars = chars.dropFirst()
                    if c == "}" {
                        if !words.isEmpty { note(startLine, "Directive not ended by ';': nginx refuses the configuration."); words = [] }
                        if stack.count > context.count { stack.removeLast(); serverStack.removeLast() }
                        else { note(n, "Unexpected '}': nginx refuses the configuration.") }
                        continue
                    }
                    guard let name = words.first else {
                        if c == "{" { note(n, "A block without a name: nginx refuses the configuration.") }
                        continue
                    }
                    let currentServer = serverStack.last ?? nil
                    if c == "{" {
                        var block: Int?
                        if name == "server" {
                            block = nextBlock
                            file.servers.append(NginxServerBlock(block: nextBlock, context: stack, source: src(startLine)))
                            nextBlock += 1
                        }
                        stack.append(name)
                        serverStack.append(block ?? currentServer)
                    } else {
                        file.directives.append(NginxDirective(name: name, arguments: Array(words.dropFirst()),
                                                              context: stack, block: currentServer, source: src(startLine)))
                    }
                    words = []
                    continue
                }
                // A word, possibly quoted.
                if words.isEmpty { startLine = n }
                var word = ""
                if c == "\"" || c == "'" {
                    chars = chars.dropFirst()
                    while let d = chars.first, d != c {
                        if d == "\\", chars.count > 1 { chars = chars.dropFirst() }
                        word.append(chars.first ?? d)
                        chars = chars.dropFirst()
                    }
                    chars = chars.dropFirst()
                } else {
                    while let d = chars.first, !Text.isSpace(d), d != ";", d != "{", d != "}" {
                        word.append(d)
                        chars = chars.dropFirst()
                    }
                }
                words.append(word)
            }
        }
        if !words.isEmpty { note(startLine, "Directive not ended by ';': nginx refuses the configuration.") }
        if stack.count > context.count { note(lines.count, "Unclosed block: nginx refuses the configuration.") }
        return file
    }

    /// The address part of `listen`: `80`, `*:80`, `127.0.0.1:8080`,
    /// `[::]:80`, `[::1]`, `host`, `host:port`. Nil for `unix:` sockets and
    /// for a port that is not a number in 1...65535. A missing port is 80.
    public static func listen(_ arg: String) -> ListenSpec?? {
        if arg.hasPrefix("unix:") { return .some(nil) }
        var host: String?
        var portText: String?
        if arg.hasPrefix("[") {
            guard let close = arg.firstIndex(of: "]") else { return nil }
            host = String(arg[arg.index(after: arg.startIndex)..<close])
            let rest = arg[arg.index(after: close)...]
            if rest.hasPrefix(":") { portText = String(rest.dropFirst()) } else if !rest.isEmpty { return nil }
        } else if let colon = arg.lastIndex(of: ":") {
            host = String(arg[..<colon])
            portText = String(arg[arg.index(after: colon)...])
        } else if arg.allSatisfy(\.isNumber) {
            portText = arg
        } else {
            host = arg
        }
        if host == "*" { host = nil }
        guard let portText else { return .some(ListenSpec(host: host, port: 80)) }
        guard let port = SshdConfigParser.port(portText) else { return nil }
        return .some(ListenSpec(host: host, port: port))
    }
}

// MARK: - Apache httpd

/// One Apache httpd directive line, with the `<Section ...>` blocks around it.
public struct ApacheDirective: Hashable, Sendable {
    /// As written (Apache matches directive names case-insensitively).
    public var name: String
    public var arguments: [String]
    /// Enclosing sections as their opening text (`IfModule ssl_module`), outermost first.
    public var sections: [String]
    public var source: SourceLine
}

/// Apache httpd configuration syntax: `#` comment lines, a trailing
/// backslash continues a line, `<Section args>` ... `</Section>`, arguments
/// split on blanks with double quotes grouping. Pure.
public enum ApacheConfigParser {
    public static func parse(_ bytes: [UInt8], path: String) -> (directives: [ApacheDirective], diagnostics: [Diagnostic]) {
        var out: [ApacheDirective] = []
        var diagnostics: [Diagnostic] = []
        let lines = Text.lines(bytes)
        var sections: [String] = []
        var i = 0
        while i < lines.count {
            let start = i + 1
            var logical = Text.trimmed(lines[i])
            i += 1
            while logical.hasSuffix("\\") && i < lines.count {
                logical.removeLast()
                logical += " " + Text.trimmed(lines[i])
                i += 1
            }
            if logical.isEmpty || logical.hasPrefix("#") { continue }
            let source = SourceLine(path: path, line: start, text: lines[start - 1])
            if logical.hasPrefix("</") {
                if sections.popLast() == nil {
                    diagnostics.append(Diagnostic(source.location, text: source.text,
                        message: "Closing a section that was never opened: httpd refuses the configuration."))
                }
                continue
            }
            if logical.hasPrefix("<") {
                guard logical.hasSuffix(">") else {
                    diagnostics.append(Diagnostic(source.location, text: source.text,
                        message: "Section opening without '>': httpd refuses the configuration."))
                    continue
                }
                sections.append(Text.trimmed(String(logical.dropFirst().dropLast())))
                continue
            }
            let (words, _) = SshdConfigParser.split(logical)
            guard let name = words.first else { continue }
            out.append(ApacheDirective(name: name, arguments: Array(words.dropFirst()), sections: sections, source: source))
        }
        if !sections.isEmpty {
            let s = SourceLine(path: path, line: lines.count, text: lines.last ?? "")
            diagnostics.append(Diagnostic(s.location, text: s.text,
                message: "Section <\(sections.last ?? "")> is never closed: httpd refuses the configuration."))
        }
        return (out, diagnostics)
    }

    /// `Listen [addr:]port [protocol]`'s first argument. Nil for a bad port.
    public static func listen(_ arg: String) -> ListenSpec? {
        if arg.hasPrefix("[") {
            guard let close = arg.firstIndex(of: "]") else { return nil }
            let host = String(arg[arg.index(after: arg.startIndex)..<close])
            let rest = arg[arg.index(after: close)...]
            guard rest.hasPrefix(":"), let port = SshdConfigParser.port(String(rest.dropFirst())) else { return nil }
            return ListenSpec(host: host, port: port)
        }
        if let colon = arg.lastIndex(of: ":") {
            guard let port = SshdConfigParser.port(String(arg[arg.index(after: colon)...])) else { return nil }
            let host = String(arg[..<colon])
            return ListenSpec(host: host == "*" ? nil : host, port: port)
        }
        guard let port = SshdConfigParser.port(arg) else { return nil }
        return ListenSpec(host: nil, port: port)
    }
}

// MARK: - /etc/hosts

/// One line of /etc/hosts: an address and the names it answers to.
public struct HostsEntry: Hashable, Sendable {
    public var address: String
    public var names: [String]
    public var source: SourceLine
}

/// Parses /etc/hosts as glibc does: `#` starts a comment anywhere, the
/// first word is an address, the rest are names. Pure.
public enum HostsParser {
    public static func parse(_ bytes: [UInt8], path: String) -> (entries: [HostsEntry], diagnostics: [Diagnostic]) {
        var entries: [HostsEntry] = []
        var diagnostics: [Diagnostic] = []
        for (i, line) in Text.lines(bytes).enumerated() {
            let code = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = Text.words(code).map(String.init)
            guard let address = words.first else { continue }
            let source = SourceLine(path: path, line: i + 1, text: line)
            // glibc accepts an IPv6 address with a zone (`fe80::1%eth0`).
            let bare = String(address.split(separator: "%", maxSplits: 1).first ?? "")
            guard IPText.isIP(bare) else {
                diagnostics.append(Diagnostic(source.location, text: line,
                    message: "'\(address)' is not an IP address: the resolver ignores this line."))
                continue
            }
            guard words.count >= 2 else {
                diagnostics.append(Diagnostic(source.location, text: line,
                    message: "An address with no names: the resolver ignores this line."))
                continue
            }
            entries.append(HostsEntry(address: address, names: Array(words.dropFirst()), source: source))
        }
        return (entries, diagnostics)
    }
}
