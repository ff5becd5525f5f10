/// Parses interfaces(5) as Debian's ifupdown 0.8 (0.8.41, bookworm) reads it.
///
/// Behaviours checked against `ifquery` from that package:
/// - A line whose first non-blank byte is `#` is a comment. Comments are only
///   recognised on the first physical line of a logical line, and a comment
///   ending in `\` does not continue onto the next line.
/// - A line whose last byte is `\` continues onto the next physical line; the
///   next line is appended as is (its leading blanks kept). A `\` before CRLF
///   is not a continuation (the byte before `\n` is `\r`); the `\r` is then
///   trimmed as trailing blank, so the line keeps its `\`.
/// - Words are split on C-locale blanks; an option's value is the rest of the
///   line with leading and trailing blanks removed and inner blanks kept.
/// - Option keys are kept as written, except `post-up` → `up` and
///   `pre-down` → `down`. `_` is NOT folded to `-`.
/// - `auto` and `allow-auto` are the same list; `allow-` alone is no keyword.
///   Any first word starting with `source-dir` means `source-directory`.
///   `rename` is a keyword (kept as a `.flag`).
/// - Any other first word is an option of the current `iface` stanza; outside
///   one (or after `auto`, `source` and the like) it is a "misplaced option".
/// - `iface` needs a known family and a method known for it, or `inherits`.
/// - A repeated `iface NAME FAMILY` is not merged: both stanzas exist and
///   `ifquery NAME` prints both. A repeated option key (other than the
///   `up`/`down` hooks) is joined to the first value with a newline: see
///   `IfaceStanza.ifupdownOptions`.
///
/// Where ifupdown stops: on a fatal error (misplaced option, empty option
/// value, bad `iface` line, duplicate mapping `script`) ifupdown stops reading
/// that file. In the main file it then refuses the whole configuration
/// (`ifup -a` does nothing); in a sourced file it keeps what came before and
/// goes on with the including file. We record the first such line in
/// `IfupdownFile.haltLine` and, unlike ifupdown, parse the rest of the file so
/// the audit sees everything.
/// Which implementation reads /etc/network/interfaces on the target.
/// ifupdown2 (Cumulus, Proxmox) and ifupdown-ng (Alpine since 3.13) read
/// the same file with a looser `iface` line: `iface swp1` (no family, no
/// method: the addresses decide), `iface lo inet` (no method), and methods
/// ifupdown 0.8 does not have. Their own keywords (`use dhcp`, `requires`,
/// `link-type`...) are options like any other; what those tools do with
/// their extensions beyond addresses is not modelled.
public enum IfupdownDialect: String, Sendable, Hashable {
    case ifupdown, ifupdown2, ifupdownNG = "ifupdown-ng"
}

public enum IfupdownParser {
    /// Address families and their methods on Linux in ifupdown 0.8.41
    /// (interfaces(5): INET, IPX, INET6 and CAN ADDRESS FAMILY).
    public static let methods: [String: Set<String>] = [
        "inet": ["loopback", "static", "manual", "dhcp", "bootp", "tunnel", "ppp", "wvdial", "ipv4ll"],
        "inet6": ["auto", "loopback", "static", "manual", "dhcp", "tunnel", "v4tunnel", "6to4"],
        "ipx": ["static", "dynamic"],
        "can": ["static"],
    ]

    private enum State { case none, iface, mapping, brokenIface }

    public static func parse(_ bytes: [UInt8], path: String, dialect: IfupdownDialect = .ifupdown) -> IfupdownFile {
        var file = IfupdownFile(path: path)
        var state = State.none
        var stanza: IfaceStanza?
        var mapping: MappingStanza?

        func flush() {
            if let s = stanza { file.items.append(.iface(s)) }
            if let m = mapping { file.items.append(.mapping(m)) }
            stanza = nil
            mapping = nil
        }
        func problem(_ line: SourceLine, _ message: String, fatal: Bool) {
            // ifupdown2 and ifupdown-ng log a line they cannot use and go on.
            var message = message
            if dialect != .ifupdown, let r = message.firstRange(of: "ifupdown stops reading the file here") {
                message.replaceSubrange(r, with: "\(dialect.rawValue) ignores this line")
            }
            file.diagnostics.append(Diagnostic(line.location, text: line.text, message: message))
            if fatal && dialect == .ifupdown && file.haltLine == nil { file.haltLine = line.location.line }
        }
        // ifupdown2 renders the file as a Mako template first (`%for`, `<% %>`,
        // `${...}`): those lines are not modelled, and said so once.
        var inMakoBlock = false
        var makoNoted = false

        for logical in logicalLines(bytes) {
            let evidence = SourceLine(path: path, line: logical.firstLine, text: logical.evidence)
            let words = splitWords(logical.content)
            guard let first = words.first else { continue }
            let keyword = Text.decode(first)
            if dialect == .ifupdown2 {
                let text = Text.decode(logical.content)
                let opens = text.contains("<%"), closes = text.contains("%>")
                if inMakoBlock || keyword.hasPrefix("%") || opens || keyword.hasPrefix("</%") {
                    if opens && !closes { inMakoBlock = true }
                    if closes { inMakoBlock = false }
                    if !makoNoted {
                        makoNoted = true
                        file.diagnostics.append(Diagnostic(evidence.location, text: evidence.text,
                            message: "ifupdown2 renders this file as a Mako template; the template lines are not modelled here, so the interfaces they generate were not audited."))
                    }
                    continue
                }
                if keyword == "vlan" {
                    // A vlan-aware bridge's `vlan NAME` stanza: its attributes configure no address.
                    flush()
                    state = .brokenIface
                    continue
                }
            }
            let rest = restAfterFirstWord(logical.content)
            let args = words.dropFirst().map { Text.decode($0) }

            switch keyword {
            case "iface", "template" where keyword == "iface" || dialect == .ifupdownNG:
                flush()
                if let s = dialect == .ifupdown ? parseIface(args, evidence, problem) : parseLooseIface(args, evidence, problem) {
                    stanza = s
                    state = .iface
                } else {
                    // ifupdown drops the stanza; swallow its options rather
                    // than reporting each one as misplaced.
                    state = .brokenIface
                }
            case "mapping":
                flush()
                mapping = MappingStanza(patterns: args, source: evidence)
                state = .mapping
            case "auto":
                flush()
                if args.isEmpty { problem(evidence, "`auto` names no interface.", fatal: false) }
                file.items.append(.auto(args, evidence))
                state = .none
            case "no-auto-down", "no-scripts", "rename":
                flush()
                file.items.append(.flag(keyword: keyword, args, evidence))
                state = .none
            case "source":
                flush()
                if rest.isEmpty {
                    problem(evidence, "`source` names no file.", fatal: false)
                } else {
                    file.items.append(.source(pattern: Text.decode(rest), evidence))
                }
                state = .none
            case _ where keyword.hasPrefix("source-dir"):
                // ifupdown compares only the first ten bytes: `source-dirs` works too.
                flush()
                if rest.isEmpty {
                    problem(evidence, "`\(keyword)` names no directory.", fatal: false)
                } else {
                    file.items.append(.sourceDirectory(directory: Text.decode(rest), evidence))
                }
                state = .none
            case _ where keyword.hasPrefix("allow-") && keyword.utf8.count > 6:
                flush()
                let cls = String(keyword.dropFirst(6))
                if args.isEmpty { problem(evidence, "`\(keyword)` names no interface.", fatal: false) }
                file.items.append(cls == "auto" ? .auto(args, evidence) : .allow(className: cls, args, evidence))
                state = .none
            default:
                switch state {
                case .iface:
                    guard !rest.isEmpty else {
                        problem(evidence, "Option `\(keyword)` has no value; ifupdown stops reading the file here.", fatal: true)
                        continue
                    }
                    let key = keyword == "post-up" ? "up" : keyword == "pre-down" ? "down" : keyword
                    stanza?.options.append(IfupdownOption(key: key, value: Text.decode(rest), source: evidence))
                case .mapping:
                    if keyword == "script" {
                        if mapping?.script != nil {
                            problem(evidence, "This mapping already has a `script`; ifupdown stops reading the file here.", fatal: true)
                        } else {
                            mapping?.script = Text.decode(rest)
                        }
                    } else if keyword == "map" {
                        mapping?.maps.append(Text.decode(rest))
                    } else {
                        problem(evidence, "`\(keyword)` is not allowed in a mapping (only `script` and `map`); ifupdown stops reading the file here.", fatal: true)
                    }
                case .brokenIface:
                    continue
                case .none:
                    problem(evidence, "`\(keyword)` is not a keyword and is outside any iface stanza (a misplaced option); ifupdown stops reading the file here.", fatal: true)
                }
            }
        }
        flush()
        return file
    }

    /// The interface name of an `iface` line; without one, a problem that
    /// ends the file (ifupdown) or drops the stanza (ifupdown2, ifupdown-ng).
    private static func ifaceName(
        _ args: [String], _ evidence: SourceLine,
        _ problem: (SourceLine, String, Bool) -> Void, fatal: Bool
    ) -> String? {
        guard let name = args.first else {
            problem(evidence, fatal ? "`iface` has no interface name; ifupdown stops reading the file here."
                : "`iface` has no interface name; the stanza is ignored.", fatal)
            return nil
        }
        return name
    }

    /// ifupdown2's and ifupdown-ng's `iface NAME [FAMILY [METHOD]] [inherits T]`
    /// (ifupdown-ng: `template NAME`); family and method may be left out.
    private static func parseLooseIface(
        _ args: [String], _ evidence: SourceLine,
        _ problem: (SourceLine, String, Bool) -> Void
    ) -> IfaceStanza? {
        guard let name = ifaceName(args, evidence, problem, fatal: false) else { return nil }
        var rest = Array(args.dropFirst())
        var inherits: String?
        if let i = rest.firstIndex(of: "inherits") {
            inherits = i + 1 < rest.count ? rest[i + 1] : nil
            rest = Array(rest[..<i])
        }
        let family = rest.first ?? ""
        let method = rest.count > 1 ? rest[1] : ""
        var stanza = IfaceStanza(name: name, family: family, method: method, source: evidence)
        stanza.inherits = inherits
        return stanza
    }

    /// The `iface` line: `iface NAME FAMILY METHOD [inherits TEMPLATE]`, or
    /// `iface NAME inherits TEMPLATE` (family and method from the template).
    private static func parseIface(
        _ args: [String], _ evidence: SourceLine,
        _ problem: (SourceLine, String, Bool) -> Void
    ) -> IfaceStanza? {
        guard let name = ifaceName(args, evidence, problem, fatal: true) else { return nil }
        var family = ""
        var method = ""
        var index = 1
        if args.count > 1, args[1] != "inherits" {
            family = args[1]
            guard let known = methods[family] else {
                problem(evidence, "`iface \(name)` has an unknown address family `\(family)`; ifupdown stops reading the file here.", true)
                return nil
            }
            guard args.count > 2, args[2] == "inherits" || known.contains(args[2]) else {
                let what = args.count > 2 ? "an unknown method `\(args[2])` for \(family)" : "no method"
                problem(evidence, "`iface \(name) \(family)` has \(what); ifupdown stops reading the file here.", true)
                return nil
            }
            if args[2] != "inherits" {
                method = args[2]
                index = 3
            } else {
                index = 2
            }
        } else if args.count == 1 {
            problem(evidence, "`iface \(name)` has no address family and no method; ifupdown stops reading the file here.", true)
            return nil
        }
        var stanza = IfaceStanza(name: name, family: family, method: method, source: evidence)
        if index < args.count {
            if args[index] == "inherits" {
                guard index + 1 < args.count else {
                    problem(evidence, "`inherits` names no template; ifupdown stops reading the file here.", true)
                    return nil
                }
                stanza.inherits = args[index + 1]
            } else {
                problem(evidence, "Extra word `\(args[index])` on the iface line is ignored.", false)
            }
        } else if method.isEmpty {
            problem(evidence, "`iface \(name)` has no method and no `inherits`; ifupdown stops reading the file here.", true)
            return nil
        }
        return stanza
    }

    // MARK: - Lines and words, on bytes, as ifupdown's get_line and next_word

    struct LogicalLine {
        /// 1-based number of the first physical line.
        var firstLine: Int
        /// The first physical line decoded, without `\n` and one trailing `\r`.
        var evidence: String
        /// The joined line without leading and trailing blanks.
        var content: ArraySlice<UInt8>
    }

    static func isBlank(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }

    static func logicalLines(_ bytes: [UInt8]) -> [LogicalLine] {
        // Physical lines without their `\n`; like fgets + strlen, a NUL ends the line's text.
        var physical: [ArraySlice<UInt8>] = []
        var start = 0
        for i in bytes.indices where bytes[i] == 0x0A {
            physical.append(bytes[start..<i])
            start = i + 1
        }
        if start < bytes.count { physical.append(bytes[start...]) }
        let raws = physical
        physical = physical.map { line in line.firstIndex(of: 0).map { line[line.startIndex..<$0] } ?? line }

        var out: [LogicalLine] = []
        var i = 0
        while i < physical.count {
            let firstLine = i + 1
            let raw = physical[i]
            var shown = raws[i]
            i += 1
            let lead = raw.drop(while: isBlank)
            if lead.first == UInt8(ascii: "#") { continue }
            var joined = Array(lead)
            while joined.last == UInt8(ascii: "\\") {
                joined.removeLast()
                guard i < physical.count else { break }
                joined += physical[i]
                i += 1
            }
            while let l = joined.last, isBlank(l) { joined.removeLast() }
            if shown.last == 0x0D { shown = shown.dropLast() }
            out.append(LogicalLine(firstLine: firstLine, evidence: Text.decode(shown), content: joined[...]))
        }
        return out
    }

    static func splitWords(_ line: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        line.split(whereSeparator: isBlank)
    }

    /// The line after its first word and the blanks that follow it.
    static func restAfterFirstWord(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        line.drop(while: { !isBlank($0) }).drop(while: isBlank)
    }
}
