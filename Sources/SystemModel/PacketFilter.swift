import Glibc
import Parsers

/// A packet we ask the boot-time firewall about.
public struct ProbePacket: Hashable, Sendable {
    public enum Transport: Hashable, Sendable {
        /// TCP to a destination port (nil: any port, not known), with or without SYN.
        case tcp(destinationPort: Int?, syn: Bool)
        /// An ICMP (or ICMPv6) echo request.
        case echoRequest
    }

    public var family: AddressFamily
    /// Arrives on lo, from and to the loopback address; otherwise it comes
    /// from a remote address (not known) on another interface (name not known).
    public var loopback: Bool
    public var transport: Transport
    /// The conntrack state: `NEW` or `ESTABLISHED`.
    public var state: String
    /// The interface it arrives on, when the question is about one (not lo).
    public var interface: String? = nil

    public init(family: AddressFamily, loopback: Bool, transport: Transport, state: String) {
        self.family = family
        self.loopback = loopback
        self.transport = transport
        self.state = state
    }

    var protocolNumber: Int {
        switch transport {
        case .tcp: 6
        case .echoRequest: family == .ipv4 ? 1 : 58
        }
    }
}

/// Three-valued: whether a match holds for a probe.
public enum Tri: Sendable {
    case yes, no, unknown

    static func and(_ a: Tri, _ b: Tri) -> Tri {
        if a == .no || b == .no { return .no }
        if a == .unknown || b == .unknown { return .unknown }
        return .yes
    }

    func negated(_ n: Bool) -> Tri {
        guard n else { return self }
        switch self {
        case .yes: return .no
        case .no: return .yes
        case .unknown: return .unknown
        }
    }
}

/// An ICMP type with an optional code; `type` nil means any type.
public struct IcmpTypeSpec: Hashable, Sendable {
    public var type: Int?
    public var code: Int?

    public init(type: Int?, code: Int? = nil) {
        self.type = type
        self.code = code
    }
}

/// One condition of a rule, as iptables, ufw and nft rules write them.
public enum FilterMatch: Hashable, Sendable {
    /// `-i lo`, `-i eth+`, `iifname { "lo", "en*" }` (written here with `+` for a prefix): any of them.
    case inInterface([String], negated: Bool)
    /// `-p tcp`, `meta l4proto icmp`: names or numbers; `all` matches everything.
    case protocolIs([String], negated: Bool)
    case destinationPorts([ClosedRange<Int>], negated: Bool)
    case sourcePorts([ClosedRange<Int>], negated: Bool)
    /// multiport `--ports`: the source or the destination port.
    case eitherPorts([ClosedRange<Int>], negated: Bool)
    /// `--syn`: a TCP SYN (implies TCP).
    case tcpSyn(negated: Bool)
    /// `--tcp-flags MASK COMP` (flag names uppercased, ALL and NONE expanded):
    /// the flags of MASK that are set must be exactly COMP.
    case tcpFlags(mask: Set<String>, comparison: Set<String>, negated: Bool)
    /// conntrack states, uppercased (`NEW`, `ESTABLISHED`, `RELATED`, `INVALID`...).
    case state(Set<String>, negated: Bool)
    case icmpType([IcmpTypeSpec], family: AddressFamily, negated: Bool)
    /// Addresses or networks as written; a name that is not an address makes it unknown.
    case sourceAddress([String], negated: Bool)
    case destinationAddress([String], negated: Bool)
    /// addrtype `--src-type`/`--dst-type`, nft `fib daddr type`.
    case addressType(source: Set<String>?, destination: Set<String>?, negatedSource: Bool, negatedDestination: Bool)
    /// `-m pkttype --pkt-type`, `meta pkttype`.
    case packetType(Set<String>, negated: Bool)
    /// `-f`: second and later fragments.
    case fragment(negated: Bool)
    /// An IPv6 extension header match (`-m rt`, `-m frag`, `-m hbh`...): our
    /// probes carry no extension headers, and these matches never match a
    /// packet without one, negated options included.
    case extensionHeader(String)
    /// Only packets of one family (nft `ip saddr` in an inet table, `meta nfproto ipv6`).
    case family(AddressFamily)
    /// A match we do not evaluate; the text says which.
    case unknown(String)
}

/// What a matching rule does with the packet.
public enum FilterAction: Hashable, Sendable {
    case accept
    case drop
    case reject
    /// RETURN: back to the calling chain (the policy, in a base chain).
    case returnFromChain
    case jump(String)
    case goto(String)
    /// LOG, counters, marks: the packet goes on to the next rule.
    case next
    /// NFQUEUE, DNAT and the like: what happens next is not known here.
    case unknown(String)
}

public struct FilterRule: Hashable, Sendable {
    public var matches: [FilterMatch]
    public var action: FilterAction
    public var source: SourceLine

    public init(matches: [FilterMatch], action: FilterAction, source: SourceLine) {
        self.matches = matches
        self.action = action
        self.source = source
    }
}

/// A chain; base chains have a policy (with the line that sets it, when one does).
public struct FilterChain: Hashable, Sendable {
    public var name: String
    public var rules: [FilterRule]
    /// nil for a user chain: falling off its end returns to the caller.
    public var policyAccepts: Bool?
    public var policySource: SourceLine?

    public init(name: String, rules: [FilterRule] = [], policyAccepts: Bool? = nil, policySource: SourceLine? = nil) {
        self.name = name
        self.rules = rules
        self.policyAccepts = policyAccepts
        self.policySource = policySource
    }
}

/// One base chain a packet must pass on its way in (a table's INPUT chain,
/// an nft base chain on the input hook), with the chains it can jump to.
public struct FilterStage: Hashable, Sendable {
    /// `filter INPUT`, `table inet filter chain input`.
    public var label: String
    public var entry: String
    public var chains: [String: FilterChain]
    /// Only packets of this family pass this stage (an ip or ip6 table); nil for both.
    public var family: AddressFamily?

    public init(label: String, entry: String, chains: [String: FilterChain], family: AddressFamily? = nil) {
        self.label = label
        self.entry = entry
        self.chains = chains
        self.family = family
    }
}

/// The answer for one probe.
public enum FirewallAnswer: String, Sendable, Codable {
    case accepted, dropped, unknown
}

/// An answer with the lines that decide it: the rule that accepts or drops
/// (after the jumps that lead to it) or the policy line; for unknown, the
/// rules whose matches could not be evaluated.
public struct FilterVerdict: Hashable, Sendable {
    public var answer: FirewallAnswer
    public var evidence: [SourceLine]
    /// One sentence per unknown rule: what could not be evaluated.
    public var notes: [String]
    /// The line before which an accept rule would take effect in the stage
    /// that drops it (the rule that drops, or the jump that leads to it; nil
    /// when the policy decides).
    public var decidingEntryRule: SourceLine?
    /// The stage (label) that drops the probe, when it is dropped.
    public var droppingStage: String?

    public init(answer: FirewallAnswer, evidence: [SourceLine], notes: [String] = [],
                decidingEntryRule: SourceLine? = nil, droppingStage: String? = nil) {
        self.answer = answer
        self.evidence = evidence
        self.notes = notes
        self.decidingEntryRule = decidingEntryRule
        self.droppingStage = droppingStage
    }
}

/// The stages of one firewall for one family, and the evaluation of probes through them.
public struct PacketFilter: Hashable, Sendable {
    public var stages: [FilterStage]

    public init(stages: [FilterStage] = []) { self.stages = stages }

    /// Every destination port range any rule names.
    public var namedPortRanges: [ClosedRange<Int>] {
        var out: [ClosedRange<Int>] = []
        for stage in stages {
            for chain in stage.chains.values {
                for rule in chain.rules {
                    for m in rule.matches {
                        switch m {
                        case .destinationPorts(let r, _), .eitherPorts(let r, _): out += r
                        default: break
                        }
                    }
                }
            }
        }
        return out
    }

    /// What the stages do with the packet: accepted only when every stage
    /// can only accept it, dropped when one stage can only drop it.
    public func evaluate(_ packet: ProbePacket) -> FilterVerdict {
        var canAccept = true
        var canDrop = false
        var acceptTrail: [SourceLine] = []
        var dropVerdict: FilterVerdict? = nil
        var unknownNotes: [String] = []
        var unknownLines: [SourceLine] = []
        for stage in stages {
            if let f = stage.family, f != packet.family { continue }
            var evaluator = StageEvaluator(stage: stage, packet: packet)
            let outcome = evaluator.entryOutcome()
            if outcome.accept == nil { canAccept = false }
            if outcome.drop != nil { canDrop = true }
            if let a = outcome.accept, outcome.drop == nil { acceptTrail += a.lines }
            if let d = outcome.drop, outcome.accept == nil, dropVerdict == nil {
                dropVerdict = FilterVerdict(answer: .dropped, evidence: d.lines, decidingEntryRule: d.entryRule,
                                            droppingStage: stage.label)
            }
            if outcome.accept != nil && outcome.drop != nil {
                for c in outcome.causes where !unknownLines.contains(c.0) {
                    unknownLines.append(c.0)
                    unknownNotes.append(c.1)
                }
            }
        }
        if canAccept && !canDrop {
            return FilterVerdict(answer: .accepted, evidence: acceptTrail)
        }
        if let dropVerdict, !canAccept { return dropVerdict }
        return FilterVerdict(answer: .unknown, evidence: Array(unknownLines.prefix(5)), notes: Array(unknownNotes.prefix(5)))
    }
}

/// What can happen to a packet from some rule of a chain on.
struct Outcomes {
    struct Trail {
        var lines: [SourceLine]
        /// The rule of the stage's entry chain the decision goes through.
        var entryRule: SourceLine?
    }
    var accept: Trail?
    var drop: Trail?
    /// Falls off the end of a user chain, or RETURN.
    var ret: Trail?
    var causes: [(SourceLine, String)] = []

    static func accepting(_ lines: [SourceLine]) -> Outcomes { Outcomes(accept: Trail(lines: lines)) }
    static func dropping(_ lines: [SourceLine]) -> Outcomes { Outcomes(drop: Trail(lines: lines)) }
    static func returning(_ lines: [SourceLine]) -> Outcomes { Outcomes(ret: Trail(lines: lines)) }

    /// Either could happen.
    func union(_ other: Outcomes) -> Outcomes {
        var o = Outcomes(accept: accept ?? other.accept, drop: drop ?? other.drop, ret: ret ?? other.ret)
        o.causes = causes
        for c in other.causes where o.causes.count < 8 && !o.causes.contains(where: { $0.0 == c.0 }) { o.causes.append(c) }
        return o
    }
}

/// Evaluates one stage for one packet, chain by chain from the last rule
/// back to the first, so every chain is walked once however often it is
/// jumped to, and an unknown match costs no more than a known one.
struct StageEvaluator {
    let stage: FilterStage
    let packet: ProbePacket
    var memo: [String: Outcomes] = [:]
    var inProgress: Set<String> = []

    init(stage: FilterStage, packet: ProbePacket) {
        self.stage = stage
        self.packet = packet
    }

    mutating func entryOutcome() -> Outcomes {
        var o = outcome(of: stage.entry, depth: 0, isEntry: true)
        // A base chain always ends in its policy; guard against a missing entry chain.
        if o.accept == nil && o.drop == nil { o.accept = Outcomes.Trail(lines: []) }
        return o
    }

    mutating func outcome(of name: String, depth: Int, isEntry: Bool = false) -> Outcomes {
        if let m = memo[name] { return m }
        guard let chain = stage.chains[name] else {
            return Outcomes(accept: .init(lines: []), drop: .init(lines: []))
                .withCause(SourceLine(path: "", line: 0, text: ""), "chain \(name) does not exist")
        }
        if inProgress.contains(name) || depth > 64 {
            let o = Outcomes(accept: .init(lines: []), drop: .init(lines: []))
            return o.withCause(chain.rules.first?.source ?? SourceLine(path: "", line: 0, text: ""),
                               "chain \(name) loops or nests more than 64 deep")
        }
        inProgress.insert(name)
        defer { inProgress.remove(name) }

        let terminal: Outcomes
        if let accepts = chain.policyAccepts {
            let lines = chain.policySource.map { [$0] } ?? []
            terminal = accepts ? .accepting(lines) : .dropping(lines)
        } else {
            terminal = .returning([])
        }
        var acc = terminal
        for rule in chain.rules.reversed() {
            var reasons: [String] = []
            var tri = Tri.yes
            for m in rule.matches {
                let t = evaluate(m, &reasons)
                tri = Tri.and(tri, t)
                if tri == .no { break }
            }
            if tri == .no { continue }
            // What this rule itself decides, and whether the packet goes on to the next rule.
            var direct = Outcomes()
            var continues = false
            let base = chain.policyAccepts != nil
            func viaPolicy(_ first: SourceLine) -> Outcomes {
                Outcomes(accept: terminal.accept.map { .init(lines: [first] + $0.lines) },
                         drop: terminal.drop.map { .init(lines: [first] + $0.lines) })
            }
            switch rule.action {
            case .accept: direct = .accepting([rule.source])
            case .drop, .reject: direct = .dropping([rule.source])
            case .returnFromChain: direct = base ? viaPolicy(rule.source) : .returning([rule.source])
            case .next: continues = true
            case .jump(let target), .goto(let target):
                let isGoto: Bool = { if case .goto = rule.action { return true } else { return false } }()
                let inner = outcome(of: target, depth: depth + 1)
                direct = Outcomes(accept: inner.accept.map { .init(lines: [rule.source] + $0.lines) },
                                  drop: inner.drop.map { .init(lines: [rule.source] + $0.lines) })
                direct.causes = inner.causes
                if inner.ret != nil {
                    if isGoto { direct = direct.union(base ? viaPolicy(rule.source) : .returning([rule.source])) }
                    else { continues = true }
                }
            case .unknown(let why):
                direct = Outcomes(accept: .init(lines: [rule.source]), drop: .init(lines: [rule.source]))
                    .withCause(rule.source, why)
            }
            if isEntry {
                // The rule of the entry chain a decision goes through: an accept
                // rule inserted before it takes effect.
                direct.accept?.entryRule = rule.source
                direct.drop?.entryRule = rule.source
            }
            let taken = continues ? direct.union(acc) : direct
            if tri == .yes {
                acc = taken
            } else {
                acc = taken.union(acc).withCause(rule.source, reasons.joined(separator: "; "))
            }
        }
        memo[name] = acc
        return acc
    }

    // MARK: Matches

    func evaluate(_ m: FilterMatch, _ reasons: inout [String]) -> Tri {
        let result: Tri
        switch m {
        case .inInterface(let patterns, let negated):
            var any = Tri.no
            for p in patterns {
                let t = interface(p)
                if t == .yes { any = .yes; break }
                if t == .unknown { any = .unknown }
            }
            result = any.negated(negated)
            if result == .unknown { reasons.append("the rule depends on the interface name (\(patterns.joined(separator: ", ")))") }
        case .protocolIs(let names, let negated):
            var any = Tri.no
            for n in names {
                let t = protocolMatches(n)
                if t == .yes { any = .yes; break }
                if t == .unknown { any = .unknown }
            }
            result = any.negated(negated)
            if result == .unknown { reasons.append("protocol \(names.joined(separator: ",")) is not known here") }
        case .destinationPorts(let ranges, let negated):
            switch packet.transport {
            case .echoRequest: result = .no
            case .tcp(let port, _):
                if let port { result = (ranges.contains { $0.contains(port) } ? Tri.yes : .no).negated(negated) }
                else if ranges.contains(where: { $0.lowerBound <= 0 && $0.upperBound >= 65535 }) { result = Tri.yes.negated(negated) }
                else {
                    result = .unknown
                    reasons.append("the destination port of this traffic is not fixed")
                }
            }
        case .sourcePorts(let ranges, let negated), .eitherPorts(let ranges, let negated):
            if case .echoRequest = packet.transport { result = .no; break }
            if case .eitherPorts = m, case .tcp(let port?, _) = packet.transport, ranges.contains(where: { $0.contains(port) }) {
                result = Tri.yes.negated(negated)
                break
            }
            if ranges.contains(where: { $0.lowerBound <= 0 && $0.upperBound >= 65535 }) { result = Tri.yes.negated(negated); break }
            result = .unknown
            reasons.append("the rule depends on the client's source port")
        case .tcpSyn(let negated):
            if case .tcp(_, let syn) = packet.transport { result = (syn ? Tri.yes : .no).negated(negated) } else { result = .no }
        case .tcpFlags(let mask, let comparison, let negated):
            guard case .tcp(_, let syn) = packet.transport else { result = .no; break }
            if syn {
                // A connection's first packet carries SYN alone.
                result = (mask.intersection(["SYN"]) == comparison ? Tri.yes : .no).negated(negated)
            } else if mask.isDisjoint(with: ["PSH", "FIN", "URG"]) {
                // A later packet carries ACK (and maybe PSH, which the mask ignores).
                result = (mask.intersection(["ACK"]) == comparison ? Tri.yes : .no).negated(negated)
            } else {
                result = .unknown
                reasons.append("the rule depends on TCP flags other than SYN and ACK")
            }
        case .state(let states, let negated):
            result = (states.contains(packet.state) ? Tri.yes : .no).negated(negated)
        case .icmpType(let specs, let family, let negated):
            guard case .echoRequest = packet.transport, family == packet.family else { result = .no; break }
            let echo = packet.family == .ipv4 ? 8 : 128
            let hit = specs.contains { s in s.type == nil || (s.type == echo && (s.code ?? 0) == 0) }
            result = (hit ? Tri.yes : .no).negated(negated)
        case .sourceAddress(let list, let negated):
            result = address(list, isSource: true).negated(negated)
            if result == .unknown { reasons.append("the rule depends on the client's address (\(list.joined(separator: ",")))") }
        case .destinationAddress(let list, let negated):
            result = address(list, isSource: false).negated(negated)
            if result == .unknown { reasons.append("the rule depends on the destination address (\(list.joined(separator: ",")))") }
        case .addressType(let src, let dst, let negSrc, let negDst):
            var t = Tri.yes
            if let dst { t = Tri.and(t, (dst.contains("LOCAL") ? Tri.yes : .no).negated(negDst)) }
            if let src {
                let type = packet.loopback ? "LOCAL" : "UNICAST"
                t = Tri.and(t, (src.contains(type) ? Tri.yes : .no).negated(negSrc))
            }
            result = t
        case .packetType(let types, let negated):
            result = (types.contains("unicast") || types.contains("host") ? Tri.yes : .no).negated(negated)
        case .fragment(let negated):
            result = Tri.no.negated(negated)
        case .extensionHeader:
            result = .no
        case .family(let f):
            result = f == packet.family ? .yes : .no
        case .unknown(let why):
            result = .unknown
            reasons.append(why)
        }
        return result
    }

    func interface(_ pattern: String) -> Tri {
        if pattern == "+" || pattern == "*" { return .yes }
        if packet.loopback {
            if pattern.hasSuffix("+") { return "lo".hasPrefix(pattern.dropLast()) ? .yes : .no }
            return pattern == "lo" ? .yes : .no
        }
        // Another interface, whose name we do not know: only lo is ruled out.
        if pattern == "lo" { return .no }
        if let name = packet.interface {
            if pattern.hasSuffix("+") { return name.hasPrefix(pattern.dropLast()) ? .yes : .no }
            return pattern == name ? .yes : .no
        }
        return .unknown
    }

    func protocolMatches(_ name: String) -> Tri {
        let n = name.lowercased()
        if n == "all" || n == "0" { return .yes }
        let number = Int(n) ?? IptablesProtocols.number(n)
        guard let number else { return .unknown }
        return number == packet.protocolNumber ? .yes : .no
    }

    /// The probe's source and destination: the loopback address on lo; a
    /// remote client and one of this machine's addresses otherwise, never
    /// a loopback address.
    func address(_ list: [String], isSource: Bool) -> Tri {
        var result = Tri.no
        for entry in list {
            guard let net = IPNetwork(entry) else { return .unknown }
            if net.isV6 != (packet.family == .ipv6) { continue }
            if packet.loopback {
                let addr = IPNetwork(packet.family == .ipv4 ? "127.0.0.1" : "::1")!
                if net.contains(addr) { return .yes }
                continue
            }
            if net.prefix == 0 { return .yes }
            if net.isWithinLoopback { continue }
            result = .unknown
        }
        return result
    }
}

extension Outcomes {
    func withCause(_ line: SourceLine, _ why: String) -> Outcomes {
        var o = self
        if !o.causes.contains(where: { $0.0 == line }) { o.causes.insert((line, why), at: 0) }
        return o
    }
}

/// Protocol numbers by name, as /etc/protocols gives them.
enum IptablesProtocols {
    static func number(_ name: String) -> Int? {
        switch name {
        case "icmp": 1
        case "igmp": 2
        case "tcp": 6
        case "udp": 17
        case "dccp": 33
        case "gre": 47
        case "esp": 50
        case "ah": 51
        case "icmpv6", "ipv6-icmp", "icmp6": 58
        case "ospf": 89
        case "vrrp": 112
        case "sctp": 132
        case "udplite": 136
        default: nil
        }
    }
}

/// An IPv4 or IPv6 network parsed with inet_pton.
struct IPNetwork {
    var bytes: [UInt8]
    var prefix: Int
    var isV6: Bool { bytes.count == 16 }

    init?(_ text: String) {
        var s = text
        var prefix: Int? = nil
        if let slash = s.firstIndex(of: "/") {
            let p = String(s[s.index(after: slash)...])
            s = String(s[..<slash])
            if let n = Int(p) { prefix = n }
            else if let n = IPText.prefixLength(netmask: p) { prefix = n }
            else { return nil }
        }
        let v6 = s.contains(":" as Character)
        var buf = [UInt8](repeating: 0, count: 16)
        guard s.withCString({ inet_pton(v6 ? AF_INET6 : AF_INET, $0, &buf) }) == 1 else { return nil }
        bytes = Array(buf.prefix(v6 ? 16 : 4))
        let maxBits = v6 ? 128 : 32
        let p = prefix ?? maxBits
        guard p >= 0 && p <= maxBits else { return nil }
        self.prefix = p
    }

    func contains(_ other: IPNetwork) -> Bool {
        guard other.bytes.count == bytes.count, other.prefix >= prefix else { return false }
        var bits = prefix
        var i = 0
        while bits > 0 {
            let mask: UInt8 = bits >= 8 ? 0xFF : UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if bytes[i] & mask != other.bytes[i] & mask { return false }
            bits -= 8
            i += 1
        }
        return true
    }

    /// Inside 127.0.0.0/8 or ::1: never the address of a remote client or of another interface.
    var isWithinLoopback: Bool {
        if isV6 { return prefix == 128 && bytes == [UInt8](repeating: 0, count: 15) + [1] }
        return prefix >= 8 && bytes[0] == 127
    }
}
