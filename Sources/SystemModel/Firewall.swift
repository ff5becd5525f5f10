import Parsers
import TargetAccess

/// How a firewall is persisted and restored at boot.
public enum FirewallKind: String, Sendable, Codable {
    /// Debian's netfilter-persistent with the iptables-persistent plugins: /etc/iptables/rules.v4 and rules.v6.
    case netfilterPersistent = "netfilter-persistent"
    /// RHEL's iptables-services (iptables.service, ip6tables.service), or Arch's units of the same name.
    case iptablesService = "iptables.service"
    case ufw
    case firewalld
    /// nftables.service loading /etc/nftables.conf.
    case nftables
    /// `iptables-restore` run by an if-up.d/if-pre-up.d script, rc.local or an interfaces hook.
    case restoreScript = "iptables-restore script"
}

/// What would make the firewall let something through, or what a person
/// would have to do instead: facts about the system, not repair steps. The
/// rules turn each into a repair action and word it (`FirewallSupport`).
public enum FirewallFix: Hashable, Sendable {
    /// Accept rules inserted before a 1-based line of a persisted file, in
    /// its own syntax (`count + 1` appends); checked by loading the file again.
    case insert(path: String, before: Int, lines: [String])
    /// A line deleted (a firewalld `<icmp-block>`), with its trimmed text.
    case delete(path: String, line: Int, text: String)
    /// A firewalld zone that only exists in /usr/lib, copied to /etc with the
    /// change: the new file's lines and the trimmed lines added (none when a
    /// line was left out instead).
    case createZone(path: String, from: String, lines: [String], added: [String])
    /// The missing COMMIT line appended to an iptables-save file.
    case appendCommit(path: String)
    /// No safe automatic change: a person adds the accept rule to these files
    /// of the firewall named, before the rule that drops the traffic.
    case addRuleByHand(firewall: String, question: FirewallQuestion, family: AddressFamily, files: [String])
    /// An automatic fix that has to be done by hand, because another
    /// firewall that drops the same traffic has no safe automatic fix.
    indirect case byHand(FirewallFix)
    /// A file that will not load, to be corrected by a person.
    case correctByHand(path: String, line: Int?, program: String, message: String)
    /// An if-pre-up.d hook that restores `missing`, a file that does not
    /// exist: it fails before ifup configures the interface, and can load no
    /// rule, so moving it out of run-parts' reach loses none.
    case moveHookAside(path: String, missing: String)
    /// Turning the firewall off: lowers security.
    case disable(FirewallDisable)

    /// Whether the repair script can carry it out.
    public var isAutomatic: Bool {
        switch self {
        case .insert, .delete, .createZone, .appendCommit, .moveHookAside: true
        case .addRuleByHand, .byHand, .correctByHand, .disable: false
        }
    }
}

/// How a firewall that loads at boot would be kept from loading its rules.
public enum FirewallDisable: Hashable, Sendable {
    /// Its rule files moved aside (netfilter-persistent, iptables.service).
    case moveAside(paths: [String], firewall: String)
    /// Its unit disabled: the unit's enablement links, or none when
    /// `systemctl disable` has to find them.
    case disableUnit(unit: String, links: [String], firewall: String)
    /// ufw's ENABLED=yes in /etc/ufw/ufw.conf.
    case ufwEnabled
    /// An if-up.d/if-pre-up.d hook moved out of its directory.
    case moveHook(path: String, directory: String, name: String)
    /// The `pre-up`/`up`/`post-up` line of an interfaces stanza that restores the rules.
    case restoreLine(SourceLine)
    /// The restore line(s) of /etc/rc.local.
    case rcLocal
}

/// A persisted ruleset that will not load at boot.
public struct RestoreFailure: Hashable, Sendable {
    public var path: String
    /// `iptables-restore`, `ip6tables-restore`, `iptables-restore -n` (ufw), `nft -f`, `firewalld`.
    public var program: String
    /// The offending line (nil for the file as a whole).
    public var line: SourceLine?
    /// What the program says, as it says it.
    public var message: String
    /// The script line or unit that runs the restore.
    public var invokedBy: SourceLine?
    /// The restore runs before the interface comes up (if-pre-up.d, `pre-up`):
    /// when it fails, ifup leaves the interface down.
    public var stopsInterface: Bool
    /// The minimal fix first (automatic when there is a safe one), then manual steps.
    public var fixes: [FirewallFix]
}

/// A question asked of the boot-time firewall.
public enum FirewallQuestion: Hashable, Sendable, CustomStringConvertible {
    /// Inbound TCP to sshd's port.
    case ssh(port: Int)
    /// Traffic on lo, from and to the loopback address.
    case loopback
    /// ICMP echo requests.
    case ping
    /// Packets of established and related connections.
    case established

    public var description: String {
        switch self {
        case .ssh(let p): "ssh tcp/\(p)"
        case .loopback: "loopback"
        case .ping: "ping"
        case .established: "established"
        }
    }
}

/// One firewall mechanism found on the target.
public struct FirewallMechanism: Sendable {
    public var kind: FirewallKind
    /// `netfilter-persistent`, `ufw`, `/etc/network/if-pre-up.d/iptables`...
    public var name: String
    /// It loads its rules at the next boot.
    public var active: Bool
    /// One sentence: why we think it runs (or does not).
    public var reason: String
    /// The lines and links that make it run: an enablement link, `ENABLED=yes`, the script line.
    public var activation: [SourceLine]
    public var files: [String]
    public var failures: [RestoreFailure] = []
    /// What makes its answers unknown (rules or commands we do not evaluate).
    public var notes: [String] = []
    /// Moving its rules aside: a manual step that lowers security.
    public var disable: FirewallDisable
    var recipe: MechanismRecipe
    var build = MechanismBuild()

    /// The iptables-save files it restores with `iptables-restore` into
    /// flushed tables (not ufw's, which are restored with `-n`), and their family.
    public var restoredFiles: [(path: String, family: IptablesFamily)] {
        build.layouts.keys.sorted().compactMap { p in build.layouts[p].flatMap { $0.noflush ? nil : (p, $0.family) } }
    }
}

/// One mechanism's answer.
public struct MechanismVerdict: Sendable {
    public var mechanism: Int
    public var verdict: FilterVerdict
}

/// The answer to one question for one family, over every firewall that loads at boot.
public struct FirewallVerdict: Sendable {
    public var question: FirewallQuestion
    public var family: AddressFamily
    public var answer: FirewallAnswer
    /// The deciding rule lines (or policy lines) of each firewall.
    public var evidence: [SourceLine]
    public var notes: [String]
    public var perMechanism: [MechanismVerdict]
    /// The minimal fix for each firewall that drops it, checked by loading
    /// the fixed files again. Empty when one of them has no safe automatic fix.
    public var fixes: [FirewallFix] = []
    /// What a person has to do where no automatic fix is safe.
    public var manualFixes: [FirewallFix] = []
    /// Moving the rules aside: manual, and lowers security.
    public var alternatives: [FirewallFix] = []
    /// The loopback port of the traffic that is dropped.
    public var port: Int?
}

/// What the firewall restored at boot does with SSH, loopback, ping and
/// established traffic, per address family, read from the disk alone.
public struct FirewallModel: Sendable {
    public var mechanisms: [FirewallMechanism] = []
    public var verdicts: [FirewallVerdict] = []
    /// What it was loaded with, to ask further questions.
    var context: FirewallContext?

    public init() {}

    public var active: [FirewallMechanism] { mechanisms.filter(\.active) }

    public func verdict(_ question: FirewallQuestion, _ family: AddressFamily) -> FirewallVerdict? {
        verdicts.first { $0.question == question && $0.family == family }
    }

    /// Every restore failure of a firewall that loads at boot.
    public var failures: [(mechanism: FirewallMechanism, failure: RestoreFailure)] {
        active.flatMap { m in m.failures.map { (m, $0) } }
    }
}

// MARK: - Loading

/// What the loader needs from the rest of the snapshot.
struct FirewallContext: Sendable {
    var units: UnitEnablement
    var initSystem: InitSystem
    var packages: PackageDatabase
    var ifupdown: IfupdownConfig?
    var ifupdownRunsAtBoot: Bool
    var listeners: ServiceListeners
    /// The hook scripts, to know which ones really run.
    var hooks: NetworkHooks = NetworkHooks()
    /// The TCP ports sshd really listens on at boot (`SystemSnapshot.sshdAtBoot`); nil: the Port lines.
    var sshPorts: [Int]? = nil
}

extension FirewallModel {
    static func load(_ root: TargetRoot, _ context: FirewallContext) -> FirewallModel {
        var model = FirewallModel()
        let files = FileSource(root: root)
        model.mechanisms = FirewallDetection.mechanisms(files, context)
        for i in model.mechanisms.indices where model.mechanisms[i].active {
            let built = MechanismBuilder.build(model.mechanisms[i].recipe, files: files, context: context)
            model.mechanisms[i].build = built
            model.mechanisms[i].failures = built.failures
            model.mechanisms[i].notes = built.notes
            model.mechanisms[i].files = Array(Set(model.mechanisms[i].files + built.files)).sorted()
        }
        model.verdicts = model.evaluateAll(context)
        model.context = context
        FirewallFixes.attach(&model, files: files, context: context)
        return model
    }

    /// The questions, per family: sshd's ports (unless sshd's AddressFamily
    /// excludes the family), loopback, ping, established.
    func questions(_ context: FirewallContext) -> [(FirewallQuestion, AddressFamily)] {
        var out: [(FirewallQuestion, AddressFamily)] = []
        let af = context.listeners.sshAddressFamily?.value
        for family in [AddressFamily.ipv4, .ipv6] {
            let sshHere = af == nil || af == "any" || (af == "inet" && family == .ipv4) || (af == "inet6" && family == .ipv6)
            if sshHere {
                var seen = Set<Int>()
                for p in context.sshPorts ?? context.listeners.sshPorts.map(\.value) where seen.insert(p).inserted { out.append((.ssh(port: p), family)) }
            }
            out += [(.loopback, family), (.ping, family), (.established, family)]
        }
        return out
    }

    func evaluateAll(_ context: FirewallContext) -> [FirewallVerdict] {
        questions(context).map { evaluate($0.0, $0.1, context) }
    }

    /// The ports services listen on at the loopback address of a family.
    public static func loopbackPorts(_ listeners: ServiceListeners, _ family: AddressFamily) -> [Int] {
        var ports: [Int] = []
        for l in listeners.listeners {
            guard let port = l.port, let address = l.address else { continue }
            let resolved = listeners.resolve(address.trimmingCharacters(in: "[]"))
            let loop = resolved.contains { a in
                family == .ipv4 ? a.hasPrefix("127.") : a == "::1"
            }
            if loop && !ports.contains(port) { ports.append(port) }
        }
        return ports.sorted()
    }

    /// SSH on `port` arriving on `interface`, through every firewall loaded at
    /// boot: a rule that names the interface is decided for it.
    public func ssh(port: Int, _ family: AddressFamily, interface: String) -> FirewallVerdict? {
        guard let context else { return nil }
        return evaluate(.ssh(port: port), family, context, interface: interface)
    }

    func evaluate(_ question: FirewallQuestion, _ family: AddressFamily, _ context: FirewallContext, interface: String? = nil) -> FirewallVerdict {
        var per: [MechanismVerdict] = []
        var port: Int? = nil
        let participants = mechanisms.indices.filter { mechanisms[$0].active && mechanisms[$0].build.covers(family) }
        var loopPorts: [Int] = []
        if question == .loopback {
            loopPorts = Self.loopbackPorts(context.listeners, family)
            var ranges: [ClosedRange<Int>] = []
            for i in participants { ranges += mechanisms[i].build.filters[family]?.namedPortRanges ?? [] }
            if let free = PacketFilter.unnamedPort(excluding: ranges) { loopPorts.append(free) }
        }
        for i in participants {
            let m = mechanisms[i]
            var v: FilterVerdict
            if question == .loopback {
                v = FilterVerdict(answer: .accepted, evidence: [])
                var sawUnknown: FilterVerdict? = nil
                for p in loopPorts {
                    let one = m.build.evaluate(question, family, port: p)
                    if one.answer == .dropped { v = one; port = p; sawUnknown = nil; break }
                    if one.answer == .unknown { sawUnknown = sawUnknown ?? one }
                    else if v.evidence.isEmpty { v.evidence = one.evidence }
                }
                if let u = sawUnknown, v.answer != .dropped { v = u }
            } else {
                v = m.build.evaluate(question, family, port: nil, interface: interface)
            }
            if !m.notes.isEmpty && v.answer != .unknown {
                v = FilterVerdict(answer: .unknown, evidence: v.evidence, notes: m.notes)
            }
            per.append(MechanismVerdict(mechanism: i, verdict: v))
        }
        guard !per.isEmpty else {
            return FirewallVerdict(question: question, family: family, answer: .accepted, evidence: [],
                                   notes: ["No firewall loads \(family.displayName) rules at boot."], perMechanism: [])
        }
        let (deciding, replaced) = bootOrder(per, family: family)
        let final = combine(deciding)
        var verdict = FirewallVerdict(question: question, family: family, answer: final.answer, evidence: [], notes: [], perMechanism: deciding)
        verdict.port = question == .loopback ? port : nil
        verdict.evidence = deciding.flatMap(\.verdict.evidence)
        verdict.notes = replaced.map { r in
            "\(mechanisms[r.mechanism].name) loads first, but \(mechanisms[r.by].name) replaces its \(family.displayName) filter table later in boot"
        }
        if let disagreement = final.disagreement {
            let words = deciding.map { "\(mechanisms[$0.mechanism].name) \($0.verdict.answer.rawValue)" }.joined(separator: ", ")
            verdict.notes.append("The firewalls that load at boot disagree (\(words)); \(disagreement).")
        }
        verdict.notes += deciding.flatMap(\.verdict.notes)
        return verdict
    }

    /// When a mechanism loads in boot: 0 before network-pre.target (the
    /// restore units, ufw, firewalld, nftables), 1 when ifup runs its
    /// hooks and commands, 2 rc.local, after network.target.
    func bootTier(_ m: FirewallMechanism) -> Int {
        guard m.kind == .restoreScript else { return 0 }
        return m.files.first == "/etc/rc.local" ? 2 : 1
    }

    /// nftables and firewalld keep their own nft tables; the iptables
    /// mechanisms share the iptables filter table.
    func sharesIptables(_ m: FirewallMechanism) -> Bool {
        m.kind != .nftables && m.kind != .firewalld
    }

    /// The mechanisms whose rules are still in place when boot has finished:
    /// an iptables restore that flushes the filter table replaces what the
    /// iptables mechanisms of earlier tiers loaded.
    func bootOrder(_ per: [MechanismVerdict], family: AddressFamily) -> (deciding: [MechanismVerdict], replaced: [(mechanism: Int, by: Int)]) {
        let replacers = per.filter { mv in
            let m = mechanisms[mv.mechanism]
            return sharesIptables(m) && m.kind != .ufw && (m.build.replacedTables[family]?.contains("filter") ?? false)
        }
        guard let lastTier = replacers.map({ bootTier(mechanisms[$0.mechanism]) }).max(),
              let by = replacers.last(where: { bootTier(mechanisms[$0.mechanism]) == lastTier }) else { return (per, []) }
        var deciding: [MechanismVerdict] = []
        var replaced: [(Int, Int)] = []
        for mv in per {
            let m = mechanisms[mv.mechanism]
            if sharesIptables(m) && bootTier(m) < lastTier { replaced.append((mv.mechanism, by.mechanism)) } else { deciding.append(mv) }
        }
        return (deciding, replaced)
    }

    /// The answer of the mechanisms still in place. Separate nft tables all
    /// see the packet, so one that drops it drops it whatever the order; the
    /// iptables mechanisms of one tier replace each other in an order the disk
    /// does not fix, so they decide only when they agree.
    func combine(_ deciding: [MechanismVerdict]) -> (answer: FirewallAnswer, disagreement: String?) {
        let answers = Set(deciding.map(\.verdict.answer))
        if answers.count <= 1 { return (answers.first ?? .accepted, nil) }
        let ipt = deciding.filter { sharesIptables(mechanisms[$0.mechanism]) }
        let nft = deciding.filter { !sharesIptables(mechanisms[$0.mechanism]) }
        let flushes = nft.contains { mechanisms[$0.mechanism].build.nft?.flushesRuleset == true }
        let iptAnswers = Set(ipt.map(\.verdict.answer))
        let iptAnswer: FirewallAnswer? = ipt.isEmpty ? nil : iptAnswers.count == 1 ? iptAnswers.first : .unknown
        if flushes && !ipt.isEmpty {
            return (.unknown, "`flush ruleset` in the nftables configuration removes the iptables rules when it loads after them, and the order is not fixed")
        }
        let parts = nft.map(\.verdict.answer) + (iptAnswer.map { [$0] } ?? [])
        if parts.contains(.dropped) && (iptAnswer != .unknown || nft.contains { $0.verdict.answer == .dropped }) {
            return (.dropped, "a firewall that drops it drops it whichever order they load in")
        }
        if parts.allSatisfy({ $0 == .accepted }) { return (.accepted, nil) }
        return (.unknown, "which one wins depends on the order they load")
    }
}

extension PacketFilter {
    /// A port ≥ 1024 outside the ranges given: "some other port" on lo,
    /// a real port no rule names; nil when every one is named.
    static func unnamedPort(excluding given: [ClosedRange<Int>]) -> Int? {
        let ranges = given.sorted { $0.lowerBound < $1.lowerBound }
        var candidate = 1024
        for r in ranges where r.upperBound >= candidate {
            if r.lowerBound > candidate { break }
            candidate = r.upperBound + 1
            if candidate > 65535 { return nil }
        }
        return candidate
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

/// The probe packet for a question.
func probe(_ question: FirewallQuestion, _ family: AddressFamily, port: Int?, interface: String? = nil) -> ProbePacket {
    switch question {
    case .ssh(let p):
        var packet = ProbePacket(family: family, loopback: false, transport: .tcp(destinationPort: p, syn: true), state: "NEW")
        packet.interface = interface
        return packet
    case .loopback: return ProbePacket(family: family, loopback: true, transport: .tcp(destinationPort: port, syn: true), state: "NEW")
    case .ping: return ProbePacket(family: family, loopback: false, transport: .echoRequest, state: "NEW")
    case .established: return ProbePacket(family: family, loopback: false, transport: .tcp(destinationPort: nil, syn: false), state: "ESTABLISHED")
    }
}
