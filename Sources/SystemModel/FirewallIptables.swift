import Glibc
import Parsers
import TargetAccess

/// Target files as a firewall loader sees them, with edits laid over them
/// so a proposed fix can be checked by loading the firewall again.
struct FileSource: Sendable {
    let root: TargetRoot
    var overlay: [String: [UInt8]] = [:]

    func bytes(_ path: String) -> [UInt8]? { overlay[path] ?? root.bytes(path) }
    func exists(_ path: String) -> Bool { overlay[path] != nil || root.exists(path) }
    func isExecutable(_ path: String) -> Bool {
        if overlay[path] != nil { return true }
        guard let st = root.stat(path), st.kind == .regular else { return false }
        return st.mode & 0o111 != 0
    }
    /// Names in a directory, the overlay's new files included, sorted as C sorts them.
    func list(_ dir: String) -> [String] {
        var names = Set((root.listFollowing(dir) ?? []).map(\.name))
        for p in overlay.keys where UnitEnablement.directory(of: p) == dir { names.insert(UnitEnablement.lastComponent(p)) }
        return names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }
    /// Glob in the last path component only, as ServiceListeners does.
    func glob(_ pattern: String) -> [String] {
        let normalized = TargetRoot.normalize(pattern)
        guard normalized.contains(where: { "*?[".contains($0) }) else { return exists(normalized) ? [normalized] : [] }
        let dir = UnitEnablement.directory(of: normalized)
        let last = UnitEnablement.lastComponent(normalized)
        guard !dir.contains(where: { "*?[".contains($0) }) else { return [] }
        return list(dir).filter { !$0.hasPrefix(".") && fnmatchName(last, $0) }.map { (dir == "/" ? "" : dir) + "/" + $0 }
    }
}

func fnmatchName(_ pattern: String, _ name: String) -> Bool {
    pattern.withCString { p in name.withCString { n in fnmatchC(p, n) } }
}

private func fnmatchC(_ p: UnsafePointer<CChar>, _ n: UnsafePointer<CChar>) -> Bool { fnmatch(p, n, FNM_PERIOD) == 0 }

// MARK: - Tables as the kernel holds them after restores

/// The iptables tables of one family after one or more restores.
struct IptablesState: Sendable {
    struct Chain: Sendable {
        var policy: String?
        var policySource: SourceLine?
        var rules: [IptablesRule] = []
        var builtin: Bool
    }
    struct Table: Sendable {
        var chains: [String: Chain] = [:]
        /// A command was restored whose effect we do not evaluate.
        var unevaluated: [SourceLine] = []
    }
    var family: IptablesFamily
    var tables: [String: Table] = [:]

    init(family: IptablesFamily) { self.family = family }

    mutating func table(_ name: String) -> Table {
        if let t = tables[name] { return t }
        var t = Table()
        for c in IptablesSaveParser.builtinChains(name) { t.chains[c] = Chain(policy: "ACCEPT", builtin: true) }
        tables[name] = t
        return t
    }

    /// The user chains of every table, for a `-n` restore's parser.
    var userChains: [String: Set<String>] {
        tables.mapValues { Set($0.chains.filter { !$0.value.builtin }.keys) }
    }

    /// Applies the committed sections of a restore, as `iptables-restore`
    /// (flushing each table it names) or `iptables-restore -n` does.
    mutating func apply(_ file: IptablesRestoreFile, noflush: Bool) {
        for section in file.committedSections {
            var t = table(section.table)
            if !noflush {
                for (name, c) in t.chains {
                    if c.builtin { t.chains[name]?.rules = [] } else { t.chains[name] = nil }
                }
            }
            for command in section.commands {
                switch command {
                case .declare(let chain, let policy, let source):
                    if t.chains[chain]?.builtin == true {
                        if let policy { t.chains[chain]?.policy = policy; t.chains[chain]?.policySource = source }
                    } else if t.chains[chain] != nil {
                        t.chains[chain]?.rules = []
                    } else {
                        t.chains[chain] = Chain(policy: nil, builtin: false)
                    }
                case .newChain(let chain, _):
                    t.chains[chain] = Chain(policy: nil, builtin: false)
                case .setPolicy(let chain, let policy, let source):
                    t.chains[chain]?.policy = policy
                    t.chains[chain]?.policySource = source
                case .flush(let chain, _):
                    if let chain { t.chains[chain]?.rules = [] } else { for k in t.chains.keys { t.chains[k]?.rules = [] } }
                case .rule(let rule):
                    guard t.chains[rule.chain] != nil else { continue }
                    if let at = rule.insertAt {
                        let index = min(max(at - 1, 0), t.chains[rule.chain]!.rules.count)
                        t.chains[rule.chain]!.rules.insert(rule, at: index)
                    } else {
                        t.chains[rule.chain]!.rules.append(rule)
                    }
                case .unevaluated(_, let source):
                    t.unevaluated.append(source)
                }
            }
            tables[section.table] = t
        }
    }

    /// The chains a packet for this host passes, in order: raw and mangle
    /// PREROUTING, nat PREROUTING (where DNAT may rewrite it), mangle,
    /// filter and security INPUT.
    func stages() -> [FilterStage] {
        let fam: AddressFamily = family == .ipv4 ? .ipv4 : .ipv6
        var out: [FilterStage] = []
        for (table, chain) in [("raw", "PREROUTING"), ("mangle", "PREROUTING"), ("nat", "PREROUTING"),
                               ("mangle", "INPUT"), ("filter", "INPUT"), ("security", "INPUT")] {
            guard let t = tables[table], let entry = t.chains[chain] else { continue }
            if entry.rules.isEmpty && (entry.policy ?? "ACCEPT") == "ACCEPT" { continue }
            var chains: [String: FilterChain] = [:]
            for (name, c) in t.chains where name == chain || !c.builtin {
                chains[name] = FilterChain(name: name, rules: c.rules.map { IptablesTranslation.rule($0, family: fam, table: table) },
                                           policyAccepts: name == chain ? (c.policy ?? "ACCEPT") == "ACCEPT" : nil,
                                           policySource: name == chain ? c.policySource : nil)
            }
            if let first = t.unevaluated.first {
                // A -D/-R/-X we do not evaluate: the chain's contents are not known.
                chains[chain]?.rules.insert(FilterRule(matches: [.unknown("the table is changed by `\(first.text)`, which is not evaluated")],
                                                       action: .unknown("the table is changed by a command that is not evaluated"), source: first), at: 0)
            }
            out.append(FilterStage(label: "\(table) \(chain)", entry: chain, chains: chains, family: fam))
        }
        return out
    }
}

// MARK: - From iptables rules to the filter model

enum IptablesTranslation {
    static let passThroughTargets: Set<String> = [
        "LOG", "NFLOG", "ULOG", "MARK", "CONNMARK", "CT", "NOTRACK", "TRACE", "AUDIT", "TCPMSS", "DSCP", "TOS", "TTL",
        "HL", "CLASSIFY", "SECMARK", "CONNSECMARK", "IDLETIMER", "LED", "RATEEST", "SET", "CHECKSUM", "ECN",
        "TCPOPTSTRIP", "HMARK", "TEE",
    ]

    static func rule(_ r: IptablesRule, family: AddressFamily, table: String) -> FilterRule {
        var m: [FilterMatch] = []
        if let p = r.proto { m.append(.protocolIs([p.value], negated: p.negated)) }
        if let i = r.inInterface { m.append(.inInterface([i.value], negated: i.negated)) }
        if r.outInterface != nil { m.append(.unknown("-o on the way in")) }
        if let s = r.sourceAddress { m.append(.sourceAddress(s.value.split(separator: ",").map(String.init), negated: s.negated)) }
        if let d = r.destinationAddress { m.append(.destinationAddress(d.value.split(separator: ",").map(String.init), negated: d.negated)) }
        if let f = r.fragmentNegated { m.append(.fragment(negated: f)) }
        for match in r.matches { m += translate(match, family: family) }
        let action: FilterAction
        switch r.target {
        case nil: action = .next
        case .standard(let t)?:
            switch t {
            case "ACCEPT": action = .accept
            case "DROP": action = .drop
            case "RETURN": action = .returnFromChain
            default: action = .unknown("-j \(t) hands the packet to a program")
            }
        case .chain(let c, let goto)?: action = goto ? .goto(c) : .jump(c)
        case .extensionTarget(let t, _)?:
            if t == "REJECT" { action = .reject }
            else if passThroughTargets.contains(t) { action = .next }
            else { action = .unknown("-j \(t) is not evaluated") }
        }
        return FilterRule(matches: m, action: action, source: r.source)
    }

    static func ranges(_ values: [String]) -> [ClosedRange<Int>]? {
        var out: [ClosedRange<Int>] = []
        for v in values {
            for part in v.split(separator: ",") {
                guard let r = PortSpec.parseRange(String(part)) else { return nil }
                out.append(r)
            }
        }
        return out
    }

    static func translate(_ match: IptablesMatch, family: AddressFamily) -> [FilterMatch] {
        var out: [FilterMatch] = []
        func unknown(_ o: IptablesOption) -> FilterMatch { .unknown("-m \(match.name) --\(o.name) is not evaluated") }
        switch match.name {
        case "tcp", "udp", "sctp", "dccp":
            if !match.implicit { out.append(.protocolIs([match.name], negated: false)) }
            for o in match.options {
                switch o.name {
                case "dport", "destination-port":
                    if let r = ranges(o.values) { out.append(.destinationPorts(r, negated: o.negated)) } else { out.append(.unknown("port \(o.values.joined()) is not a known number or service")) }
                case "sport", "source-port":
                    if let r = ranges(o.values) { out.append(.sourcePorts(r, negated: o.negated)) } else { out.append(.unknown("port \(o.values.joined()) is not a known number or service")) }
                case "syn": out.append(.tcpSyn(negated: o.negated))
                case "tcp-flags" where o.values.count == 2:
                    func flags(_ s: String) -> Set<String> {
                        let all: Set<String> = ["SYN", "ACK", "FIN", "RST", "URG", "PSH"]
                        var out: Set<String> = []
                        for f in s.uppercased().split(separator: ",") {
                            if f == "ALL" { out.formUnion(all) } else if f != "NONE" { out.insert(String(f)) }
                        }
                        return out
                    }
                    out.append(.tcpFlags(mask: flags(o.values[0]), comparison: flags(o.values[1]), negated: o.negated))
                default: out.append(unknown(o))
                }
            }
        case "multiport":
            for o in match.options {
                guard let r = ranges(o.values) else { out.append(.unknown("port \(o.values.joined()) is not a known number or service")); continue }
                switch o.name {
                case "dports", "destination-ports": out.append(.destinationPorts(r, negated: o.negated))
                case "sports", "source-ports": out.append(.sourcePorts(r, negated: o.negated))
                case "ports": out.append(.eitherPorts(r, negated: o.negated))
                default: out.append(unknown(o))
                }
            }
        case "state", "conntrack":
            for o in match.options {
                if o.name == "state" || o.name == "ctstate" {
                    out.append(.state(Set(IptablesSaveParser.conntrackStates(o.values.first ?? "")), negated: o.negated))
                } else {
                    out.append(unknown(o))
                }
            }
        case "icmp", "icmp6":
            let fam: AddressFamily = match.name == "icmp" ? .ipv4 : .ipv6
            if !match.implicit { out.append(.protocolIs([match.name == "icmp" ? "icmp" : "ipv6-icmp"], negated: false)) }
            for o in match.options {
                if let spec = IcmpNames.parse(o.values.first ?? "", family: fam) {
                    out.append(.icmpType([spec], family: fam, negated: o.negated))
                } else {
                    out.append(.unknown("ICMP type \(o.values.first ?? "") is not known"))
                }
            }
        case "comment":
            break
        case "rt", "frag", "hbh", "dst", "ah", "mh", "srh":
            out.append(.extensionHeader(match.name))
        case "addrtype":
            var src: Set<String>? = nil, dst: Set<String>? = nil
            var ns = false, nd = false
            for o in match.options {
                let types = Set((o.values.first ?? "").uppercased().split(separator: ",").map(String.init))
                if o.name == "src-type" { src = types; ns = o.negated }
                if o.name == "dst-type" { dst = types; nd = o.negated }
            }
            out.append(.addressType(source: src, destination: dst, negatedSource: ns, negatedDestination: nd))
        case "pkttype":
            for o in match.options where o.name == "pkt-type" {
                out.append(.packetType(Set((o.values.first ?? "").lowercased().split(separator: ",").map(String.init)), negated: o.negated))
            }
        default:
            out.append(.unknown("-m \(match.name) is not evaluated"))
        }
        return out
    }
}

/// ICMP type names as iptables (and nft) accept them.
enum IcmpNames {
    static let v4: [String: IcmpTypeSpec] = [
        "any": IcmpTypeSpec(type: nil), "echo-reply": .init(type: 0), "pong": .init(type: 0),
        "destination-unreachable": .init(type: 3), "source-quench": .init(type: 4), "redirect": .init(type: 5),
        "echo-request": .init(type: 8), "ping": .init(type: 8), "router-advertisement": .init(type: 9),
        "router-solicitation": .init(type: 10), "time-exceeded": .init(type: 11), "ttl-exceeded": .init(type: 11),
        "parameter-problem": .init(type: 12), "timestamp-request": .init(type: 13), "timestamp-reply": .init(type: 14),
        "address-mask-request": .init(type: 17), "address-mask-reply": .init(type: 18),
        "network-unreachable": .init(type: 3, code: 0), "host-unreachable": .init(type: 3, code: 1),
        "protocol-unreachable": .init(type: 3, code: 2), "port-unreachable": .init(type: 3, code: 3),
        "fragmentation-needed": .init(type: 3, code: 4), "info-request": .init(type: 15), "info-reply": .init(type: 16),
    ]
    static let v6: [String: IcmpTypeSpec] = [
        "destination-unreachable": .init(type: 1), "packet-too-big": .init(type: 2), "time-exceeded": .init(type: 3),
        "ttl-exceeded": .init(type: 3), "parameter-problem": .init(type: 4), "echo-request": .init(type: 128),
        "ping": .init(type: 128), "echo-reply": .init(type: 129), "pong": .init(type: 129),
        "mld-listener-query": .init(type: 130), "mld-listener-report": .init(type: 131),
        "mld-listener-done": .init(type: 132), "mld-listener-reduction": .init(type: 132),
        "router-solicitation": .init(type: 133), "nd-router-solicit": .init(type: 133),
        "router-advertisement": .init(type: 134), "nd-router-advert": .init(type: 134),
        "neighbour-solicitation": .init(type: 135), "neighbor-solicitation": .init(type: 135),
        "nd-neighbor-solicit": .init(type: 135), "neighbour-advertisement": .init(type: 136),
        "neighbor-advertisement": .init(type: 136), "nd-neighbor-advert": .init(type: 136),
        "redirect": .init(type: 137), "nd-redirect": .init(type: 137),
    ]

    /// `echo-request`, a unique prefix of a name (as iptables allows), `8`, `8/0`.
    static func parse(_ s: String, family: AddressFamily) -> IcmpTypeSpec? {
        let parts = s.split(separator: "/", maxSplits: 1).map(String.init)
        if let t = Int(parts.first ?? "") {
            if parts.count == 2 { guard let c = Int(parts[1]) else { return nil }; return IcmpTypeSpec(type: t, code: c) }
            return IcmpTypeSpec(type: t)
        }
        let table = family == .ipv4 ? v4 : v6
        let lower = s.lowercased()
        if let exact = table[lower] { return exact }
        let candidates = table.filter { $0.key.hasPrefix(lower) }
        let distinct = Set(candidates.values)
        return distinct.count == 1 ? distinct.first : nil
    }
}
