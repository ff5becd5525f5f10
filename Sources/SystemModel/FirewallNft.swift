import Parsers

/// nft rules in the filter model. Only the expressions below are read;
/// anything else makes the rule's match unknown, and its verdict is still
/// taken (so an unknown rule that drops makes the answer unknown, never
/// a guess).
enum NftTranslation {
    typealias Builder = ([String], Bool) -> [FilterMatch]

    /// One rule; a verdict map (`ct state vmap { established : accept }`) becomes one rule per entry.
    static func rules(_ rule: NftRule) -> [FilterRule] {
        let t = rule.tokens
        // A concatenation (`iifname . ip protocol . th dport vmap {...}`) is
        // valid nft that this model does not evaluate: its match is unknown,
        // and so is the verdict of a map keyed by it.
        if t.contains(where: { $0.kind == .word && $0.text == "." }) {
            let unknown = FilterMatch.unknown("a concatenation (`a . b`) is not evaluated")
            if t.contains(where: { $0.text == "vmap" }) {
                return [FilterRule(matches: [unknown], action: .unknown("a verdict map keyed by a concatenation is not evaluated"), source: rule.source)]
            }
            var rest = NftRule(tokens: t.filter { $0.text != "." }, source: rule.source, startsLine: rule.startsLine, indent: rule.indent)
            rest.insertFirst = rule.insertFirst
            return rules(rest).map { FilterRule(matches: [unknown], action: $0.action, source: $0.source) }
        }
        var matches: [FilterMatch] = []
        var action: FilterAction? = nil
        var opaque: [String] = []
        var vmap: (builder: Builder, entries: [([String], [String])])? = nil
        var k = 0

        func word(_ i: Int) -> String? { i < t.count ? t[i].text : nil }
        /// The value(s) at k: a word, or an anonymous set `{ a, b }`; nil for a named set `@x`.
        func values(_ i: inout Int) -> [String]? {
            guard i < t.count else { return nil }
            if t[i].kind == .punct && t[i].text == "{" {
                var out: [String] = []
                var current = ""
                i += 1
                while i < t.count, !(t[i].kind == .punct && t[i].text == "}") {
                    if t[i].kind == .punct && t[i].text == "," {
                        if !current.isEmpty { out.append(current) }
                        current = ""
                    } else {
                        current += current.isEmpty ? t[i].text : " " + t[i].text
                    }
                    i += 1
                }
                if !current.isEmpty { out.append(current) }
                i += 1
                return out
            }
            let w = t[i].text
            i += 1
            if w.hasPrefix("@") { return nil }
            // `established,related`: the lexer makes the comma a token of its own.
            var out = [w]
            while i + 1 < t.count, t[i].kind == .punct, t[i].text == ",", t[i + 1].kind != .punct {
                out.append(t[i + 1].text)
                i += 2
            }
            return out
        }
        /// `==`, `!=` and friends after a selector: returns whether it negates, or nil for one we do not read.
        func op(_ i: inout Int) -> Bool? {
            guard let w = word(i) else { return false }
            switch w {
            case "==", "eq": i += 1; return false
            case "!=", "ne": i += 1; return true
            case "<", ">", "<=", ">=", "lt", "gt", "le", "ge", "&", "|", "^": return nil
            default: return false
            }
        }
        /// Reads `[op] values | vmap {...}` for a selector; false when it cannot be read.
        func apply(_ builder: @escaping Builder, _ i: inout Int) -> Bool {
            guard let negated = op(&i) else { return false }
            if word(i) == "vmap" {
                i += 1
                guard let entries = values(&i) else { return false }
                var pairs: [([String], [String])] = []
                for e in entries {
                    let parts = e.split(separator: ":", maxSplits: 1).map { Text.trimmed(String($0)) }
                    guard parts.count == 2 else { return false }
                    pairs.append(([parts[0]], Text.words(parts[1]).map(String.init)))
                }
                vmap = (builder, pairs)
                return true
            }
            guard let v = values(&i) else { return false }
            matches += builder(v, negated)
            return true
        }
        func portBuilder(_ proto: String?) -> Builder {
            { v, neg in
                var out: [FilterMatch] = proto.map { [.protocolIs([$0], negated: false)] } ?? []
                var ranges: [ClosedRange<Int>] = []
                for x in v {
                    guard let r = PortSpec.parseRange(x) else { return out + [.unknown("port \(x) is not a known number or service")] }
                    ranges.append(r)
                }
                out.append(.destinationPorts(ranges, negated: neg))
                return out
            }
        }

        while k < t.count {
            let w = t[k].text
            switch w {
            case "iif", "iifname":
                k += 1
                let isName = w == "iifname"
                if !apply({ v, neg in
                    if !isName && v.contains(where: { Int($0) != nil }) { return [.unknown("iif by index")] }
                    return [.inInterface(v.map { $0.hasSuffix("*") ? String($0.dropLast()) + "+" : $0 }, negated: neg)]
                }, &k) { opaque.append(w) }
            case "meta":
                let key = word(k + 1) ?? ""
                k += 2
                if word(k) == "set" { k += 2; continue }
                switch key {
                case "iif", "iifname":
                    if !apply({ v, neg in [.inInterface(v.map { $0.hasSuffix("*") ? String($0.dropLast()) + "+" : $0 }, negated: neg)] }, &k) { opaque.append(w) }
                case "l4proto":
                    if !apply({ v, neg in [.protocolIs(v, negated: neg)] }, &k) { opaque.append(w) }
                case "nfproto", "protocol":
                    if !apply({ v, neg in
                        let fams = v.compactMap { x -> AddressFamily? in
                            ["ipv4", "ip"].contains(x) ? .ipv4 : ["ipv6", "ip6"].contains(x) ? .ipv6 : nil }
                        if fams.count == 1 && !neg { return [.family(fams[0])] }
                        if fams.count == 1 && neg { return [.family(fams[0] == .ipv4 ? .ipv6 : .ipv4)] }
                        return [.unknown("meta \(key) \(v.joined(separator: ","))")]
                    }, &k) { opaque.append(w) }
                case "pkttype":
                    if !apply({ v, neg in [.packetType(Set(v.map { $0 == "host" ? "unicast" : $0 }), negated: neg)] }, &k) { opaque.append(w) }
                default:
                    opaque.append("meta \(key)")
                }
            case "ct":
                let key = word(k + 1) ?? ""
                k += 2
                if word(k) == "set" { k += 2; continue }
                if key == "state" {
                    if !apply({ v, neg in [.state(Set(v.map { $0.uppercased() }), negated: neg)] }, &k) { opaque.append(w) }
                } else {
                    opaque.append("ct \(key)")
                }
            case "tcp", "udp", "sctp", "dccp", "udplite", "th":
                let field = word(k + 1) ?? ""
                k += 2
                let proto: String? = w == "th" ? nil : w
                if let proto { matches.append(.protocolIs([proto], negated: false)) }
                switch field {
                case "dport":
                    if !apply(portBuilder(nil), &k) { opaque.append("\(w) dport") }
                case "sport":
                    if !apply({ v, neg in [.sourcePorts(v.compactMap(PortSpec.parseRange), negated: neg)] }, &k) { opaque.append("\(w) sport") }
                default:
                    opaque.append("\(w) \(field)")
                }
            case "ip", "ip6":
                let field = word(k + 1) ?? ""
                k += 2
                let fam: AddressFamily = w == "ip" ? .ipv4 : .ipv6
                // Whatever follows, only packets of this family can match.
                matches.append(.family(fam))
                switch field {
                case "protocol", "nexthdr":
                    if !apply({ v, neg in [.protocolIs(v, negated: neg)] }, &k) { opaque.append("\(w) \(field)") }
                case "saddr":
                    if !apply({ v, neg in [.sourceAddress(v, negated: neg)] }, &k) { opaque.append("\(w) saddr") }
                case "daddr":
                    if !apply({ v, neg in [.destinationAddress(v, negated: neg)] }, &k) { opaque.append("\(w) daddr") }
                default:
                    opaque.append("\(w) \(field)")
                }
            case "icmp", "icmpv6":
                let field = word(k + 1) ?? ""
                k += 2
                let fam: AddressFamily = w == "icmp" ? .ipv4 : .ipv6
                matches.append(.family(fam))
                if field == "type" {
                    if !apply({ v, neg in
                        let specs = v.compactMap { IcmpNames.parse($0, family: fam) }
                        guard specs.count == v.count else { return [.unknown("icmp type \(v.joined(separator: ","))")] }
                        return [.icmpType(specs, family: fam, negated: neg)]
                    }, &k) { opaque.append("\(w) type") }
                } else {
                    opaque.append("\(w) \(field)")
                }
            case "fib":
                if word(k + 1) == "daddr", word(k + 2) == "type" {
                    k += 3
                    if !apply({ v, neg in [.addressType(source: nil, destination: Set(v.map { $0.uppercased() }), negatedSource: false, negatedDestination: neg)] }, &k) { opaque.append("fib") }
                } else {
                    opaque.append("fib")
                    k += 1
                }
            case "counter":
                k += 1
                if word(k) == "packets" { k += 4 }
                if word(k) == "name" { k += 2 }
            case "log":
                k += 1
                while let key = word(k), ["prefix", "level", "group", "snaplen", "queue-threshold", "flags"].contains(key) {
                    k += 2
                    if key == "flags" { while let f = word(k), ["all", "tcp", "ip", "skuid", "ether", "sequence,options", "options", "sequence"].contains(f) { k += 1 } }
                }
            case "comment":
                k += 2
            case "limit":
                opaque.append("limit")
                k += 1
                while let x = word(k), ["rate", "over", "burst", "packets", "bytes"].contains(x) || x.first?.isNumber == true { k += 1 }
            case "accept": action = action ?? .accept; k += 1
            case "drop": action = action ?? .drop; k += 1
            case "reject":
                action = action ?? .reject
                k += 1
                if word(k) == "with" { k = t.count }
            case "return": action = action ?? .returnFromChain; k += 1
            case "continue": action = action ?? .next; k += 1
            case "jump", "goto":
                if let target = word(k + 1) { action = action ?? (w == "jump" ? .jump(target) : .goto(target)) }
                k += 2
            case "queue":
                action = action ?? .unknown("queue hands the packet to a program")
                k = t.count
            case "dnat", "snat", "masquerade", "redirect", "tproxy":
                action = action ?? .unknown("\(w) rewrites the packet")
                k = t.count
            case "notrack":
                k += 1
            default:
                opaque.append(w)
                k += 1
            }
        }
        let unknown: [FilterMatch] = opaque.isEmpty ? [] : [.unknown("`\(opaque.joined(separator: " "))` is not evaluated")]
        if let vmap {
            return vmap.entries.map { key, verdictWords in
                var sub = NftRule(tokens: verdictWords.map { NftToken(kind: .word, text: $0, line: rule.source.location.line, startsLine: false) },
                                  source: rule.source, startsLine: false, indent: "")
                sub.insertFirst = false
                let verdict = rules(sub).first?.action ?? .unknown("verdict \(verdictWords.joined(separator: " "))")
                return FilterRule(matches: matches + vmap.builder(key, false) + unknown, action: verdict, source: rule.source)
            }
        }
        return [FilterRule(matches: matches + unknown, action: action ?? .next, source: rule.source)]
    }
}

// MARK: - A ruleset as nft -f loads it

/// The tables nft holds after loading a configuration and its includes.
struct NftRuleset: Sendable {
    struct Chain: Sendable {
        var chain: NftChain
        /// Rules in the order nft holds them, each with the file it came from.
        var rules: [(NftRule, String, fromCommand: Bool)]
    }
    struct Table: Sendable {
        var family: String
        var name: String
        var dormant: Bool
        var chains: [String: Chain] = [:]
        var order: [String] = []
    }
    var tables: [String: Table] = [:]
    var files: [String] = []
    var errors: [Diagnostic] = []
    var notes: [Diagnostic] = []
    /// Where a file was included from.
    var includedBy: [String: SourceLine] = [:]
    /// A `flush ruleset` removes every table, iptables-nft's included.
    var flushesRuleset = false

    static func key(_ family: String, _ name: String) -> String { family + " " + name }

    /// Loads `path` and what it includes (relative includes are under /etc, as nft's default include path).
    static func load(_ path: String, files: FileSource) -> NftRuleset {
        var set = NftRuleset()
        var defines: [String: [NftToken]] = [:]
        set.read(path, files: files, defines: &defines, depth: 0, includedBy: nil)
        return set
    }

    mutating func read(_ path: String, files: FileSource, defines: inout [String: [NftToken]], depth: Int, includedBy: SourceLine?) {
        guard depth < 16 else {
            errors.append(Diagnostic(includedBy?.location ?? SourceLocation(path: path, line: 0), text: includedBy?.text ?? "",
                                     message: "nft: includes nest too deeply; nft -f loads nothing"))
            return
        }
        guard let bytes = files.bytes(path) else {
            errors.append(Diagnostic(includedBy?.location ?? SourceLocation(path: path, line: 0), text: includedBy?.text ?? "",
                                     message: "nft: Could not process rule: No such file or directory: \(path); nft -f loads nothing"))
            return
        }
        self.files.append(path)
        if let includedBy { self.includedBy[path] = includedBy }
        let file = NftParser.parse(bytes, path: path, defines: &defines)
        errors += file.errors
        notes += file.notes
        for s in file.statements {
            switch s {
            case .include(let pattern, let src):
                let absolute = pattern.hasPrefix("/") ? pattern : "/etc/" + pattern
                let isGlob = absolute.contains(where: { "*?[".contains($0) })
                let matches = files.glob(absolute)
                if matches.isEmpty && !isGlob {
                    errors.append(Diagnostic(src.location, text: src.text,
                                             message: "nft: File not found: \(pattern); nft -f loads nothing"))
                }
                for m in matches { read(m, files: files, defines: &defines, depth: depth + 1, includedBy: src) }
            case .flushRuleset:
                tables = [:]
                flushesRuleset = true
            case .flushTable(let fam, let name, _):
                if var t = tables[Self.key(fam, name)] {
                    for c in t.order { t.chains[c]?.rules = [] }
                    tables[Self.key(fam, name)] = t
                }
            case .deleteTable(let fam, let name, _):
                tables[Self.key(fam, name)] = nil
            case .table(let table):
                var t = tables[Self.key(table.family, table.name)] ?? Table(family: table.family, name: table.name, dormant: false)
                if table.dormant { t.dormant = true }
                for c in table.chains { merge(&t, c, path: path, fromCommand: false) }
                tables[Self.key(table.family, table.name)] = t
            case .chain(let fam, let name, let chain):
                var t = tables[Self.key(fam, name)] ?? Table(family: fam, name: name, dormant: false)
                merge(&t, chain, path: path, fromCommand: true)
                tables[Self.key(fam, name)] = t
            case .rule(let fam, let table, let chain, let rule):
                guard var t = tables[Self.key(fam, table)], t.chains[chain] != nil else {
                    errors.append(Diagnostic(rule.source.location, text: rule.source.text,
                                             message: "nft: Error: No such file or directory (table or chain \(fam) \(table) \(chain) does not exist); nft -f loads nothing"))
                    continue
                }
                if rule.insertFirst { t.chains[chain]!.rules.insert((rule, path, true), at: 0) }
                else { t.chains[chain]!.rules.append((rule, path, true)) }
                tables[Self.key(fam, table)] = t
            case .unevaluated(let why, let src):
                notes.append(Diagnostic(src.location, text: src.text, message: why))
            }
        }
    }

    private func merge(_ t: inout Table, _ c: NftChain, path: String, fromCommand: Bool) {
        if var existing = t.chains[c.name] {
            if c.hook != nil {
                existing.chain.type = c.type
                existing.chain.hook = c.hook
                existing.chain.priority = c.priority
            }
            if c.policy != nil { existing.chain.policy = c.policy }
            if c.closing != nil { existing.chain.closing = c.closing; existing.chain.closingStartsLine = c.closingStartsLine; existing.chain.closingIndent = c.closingIndent }
            existing.rules += c.rules.map { ($0, path, fromCommand) }
            t.chains[c.name] = existing
        } else {
            t.chains[c.name] = Chain(chain: c, rules: c.rules.map { ($0, path, fromCommand) })
            t.order.append(c.name)
        }
    }

    /// The base chains on the prerouting and input hooks, per family, as filter stages.
    func stages(for family: AddressFamily) -> [FilterStage] {
        var out: [FilterStage] = []
        let names = tables.keys.sorted()
        for key in names {
            guard let t = tables[key], !t.dormant else { continue }
            let applies: Bool
            switch t.family {
            case "inet", "netdev": applies = true
            case "ip": applies = family == .ipv4
            case "ip6": applies = family == .ipv6
            default: applies = false
            }
            guard applies else { continue }
            var chains: [String: FilterChain] = [:]
            for (name, c) in t.chains {
                chains[name] = FilterChain(name: name, rules: c.rules.flatMap { NftTranslation.rules($0.0) },
                                           policyAccepts: c.chain.isBase ? (c.chain.policy?.value ?? "accept") == "accept" : nil,
                                           policySource: c.chain.isBase ? c.chain.policy?.source : nil)
            }
            for name in t.order {
                guard let c = t.chains[name], let hook = c.chain.hook,
                      hook == "input" || hook == "prerouting" || (hook == "ingress" && t.family == "netdev") else { continue }
                out.append(FilterStage(label: "table \(t.family) \(t.name) chain \(name)", entry: name, chains: chains))
            }
        }
        return out
    }
}
