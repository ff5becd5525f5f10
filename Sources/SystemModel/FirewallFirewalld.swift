import Parsers

/// firewalld's configuration as it starts at boot: the default zone from
/// firewalld.conf, zones from /etc/firewalld/zones over
/// /usr/lib/firewalld/zones, services the same way, and the zones bound to
/// interfaces or sources. Its answers follow firewalld 1.3's rules: lo,
/// established and related traffic are always accepted; a zone's deny
/// (icmp-blocks, rich drop/reject rules) comes before its allow (services,
/// ports, protocols, rich accept rules), then the zone's target.
struct FirewalldState: Sendable {
    static let conf = "/etc/firewalld/firewalld.conf"

    var defaultZone: String
    var defaultZoneSource: SourceLine?
    var zones: [String: FirewalldZone] = [:]
    /// Zone name → the /usr/lib file when the zone comes from there.
    var vendorOnly: Set<String> = []
    var services: [String: FirewalldService] = [:]
    /// The zones that can receive inbound traffic: the default one and those bound to interfaces or sources.
    var considered: [String] = []
    var notes: [String] = []

    static func build(files: FileSource, context: FirewallContext) -> MechanismBuild {
        var b = MechanismBuild()
        var s = FirewalldState(defaultZone: "public")
        for path in [conf, "/usr/lib/firewalld/firewalld.conf"] {
            guard let bytes = files.bytes(path) else { continue }
            b.files.append(path)
            if let a = ShellAssignments.dictionary(ShellAssignments.parse(bytes, path: path).assignments)["DefaultZone"] {
                s.defaultZone = a.value
                s.defaultZoneSource = a.source
            }
            break
        }
        var failures: [RestoreFailure] = []
        // firewalld 1.x (fw.py start): a zone file it cannot read makes the
        // start fail, and it falls back to its stock configuration
        // (_start_failsafe: /usr/lib/firewalld only, built-in firewalld.conf
        // defaults, so the default zone is public).
        var etcRefused: RestoreFailure?
        var stockZones: [String: FirewalldZone] = [:]
        for dir in ["/usr/lib/firewalld/zones", "/etc/firewalld/zones"] {
            for name in files.list(dir) where name.hasSuffix(".xml") {
                let path = dir + "/" + name
                let zoneName = String(name.dropLast(4))
                guard let bytes = files.bytes(path) else { continue }
                let (zone, diags) = FirewalldParser.zone(bytes, path: path, name: zoneName)
                if let zone {
                    s.zones[zoneName] = zone
                    if dir.hasPrefix("/usr") { stockZones[zoneName] = zone }
                    if dir.hasPrefix("/usr") { s.vendorOnly.insert(zoneName) } else { s.vendorOnly.remove(zoneName) }
                    b.files.append(path)
                } else if let d = diags.first {
                    let failure = RestoreFailure(path: path, program: "firewalld", line: d.location.line > 0 ? SourceLine(d.location, d.text) : nil,
                                                 message: d.message, invokedBy: nil, stopsInterface: false, fixes: [])
                    if dir.hasPrefix("/etc") {
                        etcRefused = etcRefused ?? failure
                    } else {
                        s.zones[zoneName] = nil
                        failures.append(failure)
                    }
                }
            }
        }
        if let refused = etcRefused {
            // The stock configuration only: the zones of /usr/lib, default zone public.
            s.zones = stockZones
            s.vendorOnly = Set(stockZones.keys)
            s.defaultZone = "public"
            s.defaultZoneSource = nil
        }
        for dir in ["/usr/lib/firewalld/services", "/etc/firewalld/services"] where !(etcRefused != nil && dir.hasPrefix("/etc")) {
            for name in files.list(dir) where name.hasSuffix(".xml") {
                let path = dir + "/" + name
                guard let bytes = files.bytes(path) else { continue }
                if let svc = FirewalldParser.service(bytes, path: path, name: String(name.dropLast(4))).service {
                    s.services[svc.name] = svc
                }
            }
        }
        s.considered = [s.defaultZone]
        for name in s.zones.keys.sorted() where name != s.defaultZone {
            if let z = s.zones[name], !z.interfaces.isEmpty || !z.sources.isEmpty { s.considered.append(name) }
        }
        if s.zones[s.defaultZone] == nil && !failures.contains(where: { $0.path.hasSuffix("/\(s.defaultZone).xml") }) {
            let src = s.defaultZoneSource
            failures.append(RestoreFailure(path: src?.location.path ?? conf, program: "firewalld", line: src,
                                           message: "The default zone '\(s.defaultZone)' has no zone file in /etc/firewalld/zones or /usr/lib/firewalld/zones",
                                           invokedBy: nil, stopsInterface: false, fixes: []))
        }
        if let d = files.bytes("/etc/firewalld/direct.xml"), Text.lines(d).contains(where: { $0.contains("<rule") || $0.contains("<passthrough") }) {
            b.notes.append("/etc/firewalld/direct.xml adds direct rules, which are not evaluated")
        }
        if !files.list("/etc/firewalld/policies").filter({ $0.hasSuffix(".xml") }).isEmpty {
            b.notes.append("/etc/firewalld/policies holds firewalld policies, which are not evaluated")
        }
        for f in failures where s.considered.contains(where: { f.path.hasSuffix("/\($0).xml") }) || f.path == conf {
            b.failures.append(f)
        }
        if !b.failures.isEmpty {
            b.notes.append("firewalld cannot load every zone it needs, so what it lets in is not known")
        }
        if var f = etcRefused {
            // Reported, but what firewalld lets in is known: the stock configuration's.
            f.message += "; firewalld then starts with its stock configuration (/usr/lib/firewalld, default zone public) and ignores /etc/firewalld"
            b.failures.append(f)
        }
        b.firewalld = s
        return b
    }

    // MARK: Answers

    struct ZoneAnswer {
        var answer: FirewallAnswer
        var evidence: [SourceLine]
        var note: String?
    }

    func verdict(_ question: FirewallQuestion, _ family: AddressFamily) -> FilterVerdict {
        switch question {
        case .loopback, .established:
            return FilterVerdict(answer: .accepted, evidence: [])
        case .ssh, .ping:
            var answers: [(String, ZoneAnswer)] = []
            for name in considered {
                guard let zone = zones[name] else {
                    return FilterVerdict(answer: .unknown, evidence: [], notes: ["firewalld zone \(name) cannot be loaded"])
                }
                var a = answer(question, family, zone)
                if name == defaultZone, a.answer == .dropped, let d = defaultZoneSource { a.evidence.insert(d, at: 0) }
                answers.append((name, a))
            }
            let kinds = Set(answers.map(\.1.answer))
            if kinds.count == 1, let a = kinds.first {
                return FilterVerdict(answer: a, evidence: answers.flatMap(\.1.evidence), notes: answers.compactMap(\.1.note),
                                     droppingStage: a == .dropped ? "zone \(answers.first!.0)" : nil)
            }
            let words = answers.map { "zone \($0.0): \($0.1.answer.rawValue)" }.joined(separator: ", ")
            return FilterVerdict(answer: .unknown, evidence: answers.flatMap(\.1.evidence),
                                 notes: ["The zones that receive inbound traffic differ (\(words)); which applies depends on the interface."])
        }
    }

    /// The ports and protocols a service opens, with its includes.
    func serviceOpens(_ name: String, depth: Int = 0) -> (ports: [FirewalldPort], protocols: [String])? {
        guard depth < 8, let s = services[name] else { return nil }
        var ports = s.ports, protocols = s.protocols
        for inc in s.includes {
            guard let more = serviceOpens(inc, depth: depth + 1) else { return nil }
            ports += more.ports
            protocols += more.protocols
        }
        return (ports, protocols)
    }

    func answer(_ question: FirewallQuestion, _ family: AddressFamily, _ zone: FirewalldZone) -> ZoneAnswer {
        let fam = family == .ipv4 ? "ipv4" : "ipv6"
        let icmpProto = family == .ipv4 ? "icmp" : "ipv6-icmp"
        func concerns(ports: [FirewalldPort], protocols: [String], services: [String], icmp: [String]) -> Bool? {
            switch question {
            case .ssh(let p):
                if ports.contains(where: { $0.proto == "tcp" && $0.ports.contains(p) }) || protocols.contains("tcp") { return true }
                for s in services {
                    guard let open = serviceOpens(s) else { return nil }
                    if open.ports.contains(where: { $0.proto == "tcp" && $0.ports.contains(p) }) || open.protocols.contains("tcp") { return true }
                }
                return false
            default:
                return icmp.contains("echo-request") || protocols.contains(icmpProto) || protocols.contains("icmp")
            }
        }
        var conditionalAccept: SourceLine? = nil, conditionalDeny: SourceLine? = nil
        var richAccept: SourceLine? = nil, richDeny: SourceLine? = nil
        // Unconditional rules with a priority, in the order firewalld runs them:
        // below 0 before everything else of the zone, above 0 after its allow list.
        var before: ZoneAnswer? = nil, after: ZoneAnswer? = nil
        for r in zone.richRules.sorted(by: { $0.priority < $1.priority }) where r.family == nil || r.family == fam {
            let everything = r.services.isEmpty && r.ports.isEmpty && r.protocols.isEmpty && r.icmpTypes.isEmpty
            guard let action = r.action else { continue }
            guard let hit = everything ? true : concerns(ports: r.ports, protocols: r.protocols, services: r.services, icmp: r.icmpTypes) else {
                return ZoneAnswer(answer: .unknown, evidence: [r.source], note: "a service this rich rule names has no definition")
            }
            guard hit else { continue }
            let terminal: FirewallAnswer? = action == "accept" ? .accepted : (action == "drop" || action == "reject") ? .dropped : nil
            if r.priority != 0 && !r.conditional, let terminal {
                if r.priority < 0 { before = before ?? ZoneAnswer(answer: terminal, evidence: [r.source]) }
                else { after = after ?? ZoneAnswer(answer: terminal, evidence: [r.source]) }
                continue
            }
            if action == "drop" || action == "reject" {
                if r.conditional { conditionalDeny = conditionalDeny ?? r.source } else { richDeny = richDeny ?? r.source }
            } else if action == "accept" {
                if r.conditional { conditionalAccept = conditionalAccept ?? r.source } else { richAccept = richAccept ?? r.source }
            } else {
                conditionalDeny = conditionalDeny ?? r.source
            }
        }
        if let before { return before }
        if let richDeny { return ZoneAnswer(answer: .dropped, evidence: [richDeny]) }
        func finish(_ a: ZoneAnswer) -> ZoneAnswer {
            if a.answer == .accepted, let c = conditionalDeny {
                return ZoneAnswer(answer: .unknown, evidence: [c], note: "a rich rule of zone \(zone.name) denies it for some sources")
            }
            if a.answer == .dropped, let c = conditionalAccept {
                return ZoneAnswer(answer: .unknown, evidence: [c], note: "a rich rule of zone \(zone.name) accepts it from some sources")
            }
            return a
        }
        let inversion = zone.icmpBlockInversion != nil
        if case .ping = question {
            let listed = zone.icmpBlocks.first { $0.value == "echo-request" }
            if let listed, !inversion { return finish(ZoneAnswer(answer: .dropped, evidence: [listed.source])) }
            if let richAccept { return finish(ZoneAnswer(answer: .accepted, evidence: [richAccept])) }
            if let listed, inversion { return finish(ZoneAnswer(answer: .accepted, evidence: [listed.source])) }
            if let p = zone.protocols.first(where: { $0.value == icmpProto || $0.value == "icmp" && family == .ipv4 }) {
                return finish(ZoneAnswer(answer: .accepted, evidence: [p.source]))
            }
            if let after { return finish(after) }
            switch zone.target {
            case "ACCEPT", "default":
                if let inv = zone.icmpBlockInversion { return finish(ZoneAnswer(answer: .dropped, evidence: [inv])) }
                return finish(ZoneAnswer(answer: .accepted, evidence: [zone.header]))
            default:
                return finish(ZoneAnswer(answer: .dropped, evidence: [zone.header]))
            }
        }
        guard case .ssh(let port) = question else { return ZoneAnswer(answer: .accepted, evidence: []) }
        if let richAccept { return finish(ZoneAnswer(answer: .accepted, evidence: [richAccept])) }
        if let p = zone.ports.first(where: { $0.proto == "tcp" && $0.ports.contains(port) }) {
            return finish(ZoneAnswer(answer: .accepted, evidence: [p.source]))
        }
        if let p = zone.protocols.first(where: { $0.value == "tcp" }) { return finish(ZoneAnswer(answer: .accepted, evidence: [p.source])) }
        for s in zone.services {
            guard let open = serviceOpens(s.value) else {
                return ZoneAnswer(answer: .unknown, evidence: [s.source], note: "service \(s.value) has no definition in /etc/firewalld/services or /usr/lib/firewalld/services")
            }
            if let p = open.ports.first(where: { $0.proto == "tcp" && $0.ports.contains(port) }) {
                return finish(ZoneAnswer(answer: .accepted, evidence: [s.source, p.source]))
            }
            if open.protocols.contains("tcp") { return finish(ZoneAnswer(answer: .accepted, evidence: [s.source])) }
        }
        if let after { return finish(after) }
        if zone.target == "ACCEPT" { return finish(ZoneAnswer(answer: .accepted, evidence: [zone.header])) }
        let listed = zone.services.map(\.value)
        return finish(ZoneAnswer(answer: .dropped, evidence: [zone.header] + zone.services.map(\.source),
                                 note: "zone \(zone.name) (target \(zone.target)) opens \(listed.isEmpty ? "no service" : "only " + listed.joined(separator: ", ")) and no port tcp/\(port)"))
    }
}
