import Parsers

/// How an interface gets one of its addresses at boot.
public struct BootAddress: Hashable, Sendable {
    public enum Method: String, Hashable, Sendable, Codable {
        case `static`
        case dhcp = "DHCP"
    }
    public var family: AddressFamily
    /// The address without prefix; nil for DHCP.
    public var address: String?
    public var prefixLength: Int?
    public var method: Method
    public var source: SourceLine
}

/// One interface at the next boot: which stack brings it up (and which only
/// hold a stale file for it), its addresses and default routes.
public struct BootInterface: Sendable {
    /// The name it is configured under (or the match that selects it).
    public var name: String
    /// The stack that brings it up at boot; nil when none does.
    public var stack: NetworkStack?
    /// The configuration of the stack that brings it up.
    public var claims: [InterfaceClaim]
    /// Configuration of stacks that do not act on it at boot (their software
    /// removed, their service not started), each with why.
    public var stale: [(claim: InterfaceClaim, why: String)]
    public var addresses: [BootAddress]
    public var defaultRoutes: [DefaultRoute]
    /// The interface, stack and address links, and the default-route link of each family.
    public var interfaceLink: BootLink
    public var stackLink: BootLink
    public var addressLink: BootLink
    public var routeLinks: [AddressFamily: BootLink]

    /// It comes up with an address at boot.
    public var comesUp: Bool { stackLink.state == .holds && addressLink.state != .broken }
}

/// One way SSH may be reached: an address (or a DHCP lease) of an interface,
/// on one of sshd's ports, with its whole chain.
public struct BootEndpoint: Hashable, Sendable {
    public var interface: String
    public var family: AddressFamily
    /// nil for an address from DHCP.
    public var address: String?
    public var method: BootAddress.Method
    public var port: Int
    /// interface → stack → address → default route → firewall → sshd starts → listens → login.
    public var chain: [BootLink]

    public var firstBroken: BootLink? { chain.first { $0.state == .broken } }
    public var firstUnknown: BootLink? { chain.first { $0.state == .cannotTell } }
    public var holds: Bool { chain.allSatisfy { $0.state == .holds } }

    /// `192.0.2.10:22 (ens3, static)`, `[2001:db8::1]:22 (ens3, static)`, `ens3 (DHCP)`.
    public var label: String {
        if let a = address {
            let host = family == .ipv6 ? "[\(a)]" : a
            return "\(host):\(port) (\(interface), \(method.rawValue))"
        }
        let dhcp = family == .ipv6 ? "DHCPv6" : "DHCP"
        return port == 22 ? "\(interface) (\(dhcp))" : "\(interface) port \(port) (\(dhcp))"
    }
}

/// Something that stops the boot before the network matters (emergency
/// mode, no kernel), with the lines that decide it.
public struct BootStop: Hashable, Sendable {
    public var rule: String
    public var summary: String
    public var evidence: [SourceLine]

    public init(rule: String, summary: String, evidence: [SourceLine]) {
        self.rule = rule
        self.summary = summary
        self.evidence = evidence
    }
}

/// The one answer: will SSH reach this machine after the next boot?
public struct Verdict: Sendable {
    public enum Outcome: String, Sendable, Codable {
        case reachable
        case notReachable = "not-reachable"
        case cannotTell = "cannot-tell"
    }
    /// The version of this object's JSON shape.
    public static let version = 1

    public var outcome: Outcome
    /// "SSH after the next boot: reachable at 192.0.2.10:22 (ens3, static)".
    public var line: String
    /// The chain that decides: the reachable endpoint, or the one that gets furthest.
    public var chain: [BootLink]
    /// Every endpoint with its chain.
    public var endpoints: [BootEndpoint]
    /// What stops the boot before the network comes up.
    public var bootStops: [BootStop]
    /// Filesystems whose journal (or XFS log) was not replayed for the audit:
    /// the files read may be older than what the next boot reads. The answer
    /// stands, qualified in `line`.
    public var unreplayedJournals: [FilesystemHealth] = []

    /// Keeps the answer and says, in the line itself, that the files read may
    /// not be the ones the next boot sees, and what would decide it.
    public mutating func qualify(unreplayed: [FilesystemHealth]) {
        guard !unreplayed.isEmpty else { return }
        unreplayedJournals = unreplayed
        let what = unreplayed.map { "\($0.fsType) journal of \($0.mountPoint) (\($0.device))" }.joined(separator: ", ")
        let checks = unreplayed.compactMap { $0.checkCommand }
        line += " (the \(what) was not replayed: files may differ at boot"
            + (checks.isEmpty ? "" : "; run \(checks.joined(separator: " and ")) to know") + ")"
    }

    public static let prefix = "SSH after the next boot: "
    /// How many endpoints (and causes) the one line names.
    static let maxShown = 8

    /// Judges the endpoints: reachable when one chain holds throughout, NOT
    /// reachable when every chain has a broken link (the first one is named),
    /// cannot tell otherwise (the first link that cannot be evaluated).
    public static func judge(_ endpoints: [BootEndpoint], bootStops: [BootStop] = []) -> Verdict {
        if let stop = bootStops.first {
            return Verdict(outcome: .notReachable, line: prefix + "NOT reachable: the boot stops before the network comes up: " + stop.summary,
                           chain: endpoints.first?.chain ?? [], endpoints: endpoints, bootStops: bootStops)
        }
        let reachable = endpoints.filter(\.holds)
        if !reachable.isEmpty {
            var labels: [String] = []
            var seen = Set<String>()
            for e in reachable where seen.insert(e.label).inserted { labels.append(e.label) }
            // One line: a machine with thousands of addresses names the first few.
            let more = labels.count > maxShown ? labels.count - maxShown : 0
            labels = Array(labels.prefix(maxShown))
            let atWords = labels.map { l in l.first == "[" || l.first?.isNumber == true ? "at " + l : "on " + l }
            var line = prefix + "reachable " + atWords.joined(separator: ", ") + (more > 0 ? " and \(more) more" : "")
            // The endpoints that are not reachable, grouped by the link that stops them.
            var reasons: [String] = []
            var byReason: [String: [String]] = [:]
            for e in endpoints where !e.holds && seen.insert(e.label).inserted {
                let why = (e.firstBroken ?? e.firstUnknown).map { ($0.state == .broken ? "" : "cannot tell: ") + $0.summary } ?? ""
                if byReason[why] == nil { reasons.append(why) }
                byReason[why, default: []].append(e.label)
            }
            for why in reasons.prefix(maxShown) {
                let those = byReason[why] ?? []
                line += "; not at " + those.prefix(maxShown).joined(separator: ", ") + (those.count > maxShown ? " and \(those.count - maxShown) more" : "")
                    + (why.isEmpty ? "" : ": " + why)
            }
            if reasons.count > maxShown { line += "; and \(reasons.count - maxShown) more causes" }
            return Verdict(outcome: .reachable, line: line, chain: reachable[0].chain, endpoints: endpoints, bootStops: [])
        }
        let undecided = endpoints.filter { $0.firstBroken == nil }
        if let e = undecided.first, let link = e.firstUnknown {
            return Verdict(outcome: .cannotTell, line: prefix + "cannot tell: " + link.summary, chain: e.chain, endpoints: endpoints, bootStops: [])
        }
        // The endpoint that gets furthest names the link that breaks.
        let best = endpoints.max { a, b in
            (a.chain.firstIndex { $0.state == .broken } ?? 0) < (b.chain.firstIndex { $0.state == .broken } ?? 0)
        }
        let link = best?.firstBroken
        return Verdict(outcome: .notReachable, line: prefix + "NOT reachable: " + (link?.summary ?? "no interface comes up at boot"),
                       chain: best?.chain ?? [], endpoints: endpoints, bootStops: [])
    }
}

/// One step of the boot transaction that matters for the network: a
/// generator, a unit, udev's hotplug rule, a hook, a firewall restore.
public struct BootStep: Hashable, Sendable {
    /// When it runs, coarsely: the order the disk fixes.
    public enum Phase: Int, Hashable, Sendable, Comparable {
        /// systemd generators, before any unit.
        case generators
        /// Before network-pre.target: firewall restore units, ufw, nftables, firewalld.
        case beforeNetwork
        /// The network stacks, udev's ifup@ units, ifupdown's hooks and commands.
        case network
        /// After network.target: rc.local, sshd.
        case afterNetwork

        public static func < (a: Phase, b: Phase) -> Bool { a.rawValue < b.rawValue }
        public var name: String {
            switch self {
            case .generators: "generators"
            case .beforeNetwork: "before-network"
            case .network: "network"
            case .afterNetwork: "after-network"
            }
        }
    }
    public var name: String
    public var phase: Phase
    /// Something starts it at the next boot.
    public var runs: Bool
    /// It does its job when it runs; nil when that cannot be known offline.
    public var succeeds: Bool?
    /// One sentence: why it runs or not, and why it fails.
    public var reason: String
    public var evidence: [SourceLine]
}

/// What happens at the next boot, computed once from the snapshot: per
/// interface the stack that brings it up, its addresses and routes; sshd;
/// and, per endpoint, the chain that decides SSH. The firewall as loaded at
/// the end of boot is `SystemSnapshot.firewall`.
public struct BootModel: Sendable {
    public var interfaces: [BootInterface] = []
    public var sshd: SSHDBoot?
    public var endpoints: [BootEndpoint] = []
    /// The boot transaction as far as the network is concerned, in phase order.
    public var steps: [BootStep] = []
    /// Configuration of interfaces that another stack brings up (see `isStale`).
    public var staleClaims: Set<InterfaceClaim> = []

    public init() {}

    /// The verdict from the model alone (rules add what stops the boot and
    /// what they found critical: `AuditResult.verdict`).
    public var verdict: Verdict { Verdict.judge(endpoints) }

    public func interface(_ name: String) -> BootInterface? { interfaces.first { $0.name == name } }

    /// The interface's configuration that no stack acts on, when another stack brings it up.
    public func isStale(_ claim: InterfaceClaim) -> Bool { staleClaims.contains(claim) }

    /// The DHCP clients ifupdown knows (inet.defn: dhclient, pump, udhcpc, dhcpcd), by package and by program.
    static let dhcpClientPackages = ["isc-dhcp-client", "dhcpcd-base", "dhcpcd5", "dhcpcd", "udhcpc", "pump"]
    static let dhcpClients = ["/sbin/dhclient", "/usr/sbin/dhclient", "/sbin/pump", "/usr/sbin/pump", "/sbin/udhcpc",
                              "/usr/sbin/udhcpc", "/sbin/dhcpcd", "/usr/sbin/dhcpcd"]

    static func build(_ s: SystemSnapshot) -> BootModel {
        var model = BootModel()
        let active = Set(s.activeClaims)
        var routesByDevice: [String: [DefaultRoute]] = [:]
        for r in s.defaultRoutes { routesByDevice[r.device.split(separator: ":").first.map(String.init) ?? r.device, default: []].append(r) }
        var order: [String] = []
        var byName: [String: [InterfaceClaim]] = [:]
        // systemd's own .network files for interfaces other machines make
        // (80-container-host0: Virtualization=container; ve-*, vz-*, vb-*,
        // vt-*: the host side of containers and VMs, matched by glob or
        // driver) are not an interface of this machine, even when networkd runs.
        let elsewhere = Set(s.networkd.networkFiles.filter { f in
            f.claim.isVendorDefault && (f.match.conditions.contains { $0.hasPrefix("Virtualization=") }
                                       || (!f.match.names.isEmpty && f.match.exactName == nil))
        }.map(\.claim))
        for c in s.claims where c.autostart && !c.isLoopback && !(c.isVendorDefault && (!active.contains(c) || elsewhere.contains(c))) {
            let key = c.effectiveName ?? c.displayName
            if byName[key] == nil { order.append(key) }
            byName[key, default: []].append(c)
        }
        for name in order {
            guard let claims = byName[name] else { continue }
            let i = interface(s, name: name, claims: claims, active: active, routes: routesByDevice[name] ?? [])
            if i.stack != nil && i.stackLink.state == .holds { model.staleClaims.formUnion(i.stale.map(\.claim)) }
            model.interfaces.append(i)
        }

        let sshd = s.sshdAtBoot
        model.sshd = sshd
        model.steps = steps(s, sshd: sshd)
        var seenEndpoints = Set<BootEndpoint>()
        for i in model.interfaces where i.stack != nil {
            for a in i.addresses {
                let ports = sshd.ports.isEmpty ? [Located(22, SourceLine(path: "/etc/ssh/sshd_config", line: 0, text: ""))] : sshd.ports
                for p in ports {
                    let chain = [i.interfaceLink, i.stackLink, addressLink(i, a), i.routeLinks[a.family] ?? i.addressLink,
                                 firewallLink(s, family: a.family, port: p.value, interface: i.name), sshd.starts, listensLink(s, sshd, a), sshd.login]
                    let e = BootEndpoint(interface: i.name, family: a.family, address: a.address, method: a.method, port: p.value, chain: chain)
                    if seenEndpoints.insert(e).inserted { model.endpoints.append(e) }
                }
            }
        }
        if model.endpoints.isEmpty, model.interfaces.isEmpty, s.cloudInit.rendersAtNextBoot {
            // No file configures a card, but cloud-init writes one at boot.
            let link = BootLink(.interface, .cannotTell, s.cloudInit.summary + "; no network file is on the disk yet",
                                evidence: s.cloudInit.evidence)
            model.endpoints.append(BootEndpoint(interface: "-", family: .ipv4, address: nil, method: .dhcp,
                                                port: sshd.ports.first?.value ?? 22, chain: [link]))
        }
        if model.endpoints.isEmpty {
            // Nothing comes up: the chain breaks at the first interface (or there is none).
            let i = model.interfaces.first
            let chain = [i?.interfaceLink ?? BootLink(.interface, .broken, "no interface is configured to come up at boot"),
                         i?.stackLink, i?.addressLink].compactMap { $0 }
            model.endpoints.append(BootEndpoint(interface: i?.name ?? "-", family: .ipv4, address: nil, method: .dhcp,
                                                port: sshd.ports.first?.value ?? 22, chain: chain))
        }
        return model
    }

    static func steps(_ s: SystemSnapshot, sshd: SSHDBoot) -> [BootStep] {
        var out: [BootStep] = []
        if !s.netplan.files.isEmpty {
            let gen = s.units.netplanGenerator
            out.append(BootStep(name: "netplan generator", phase: .generators, runs: gen != nil,
                                succeeds: gen == nil ? nil : s.netplan.isAccepted,
                                reason: gen == nil ? "netplan's generator is not on the target, so nothing reads /etc/netplan"
                                    : s.netplan.isAccepted ? "\(gen ?? "") writes networkd or NetworkManager configuration from /etc/netplan"
                                    : "netplan rejects its YAML, so the generator writes nothing", evidence: []))
        }
        let units: [NetworkStack: String] = [.ifupdown: "networking.service", .networkd: "systemd-networkd.service",
                                             .networkManager: "NetworkManager.service", .ifcfg: "network.service"]
        for st in s.stacks where st.stack != .netplan {
            let runs = st.startsAtBoot && st.installed != false
            var succeeds: Bool? = true
            var reason = st.installed == false ? "its software is not installed" : st.reason
            if st.stack == .ifupdown && runs {
                if let d = s.diagnostics.first(where: { $0.format == "ifupdown" && $0.impact == .bootNetworkRejected }) {
                    succeeds = false
                    reason += "; ifup refuses \(d.diagnostic.location.path): \(d.diagnostic.message)"
                } else if let h = s.hooks.scripts.first(where: { $0.runner == .ifupdown && $0.isRun && s.hooks.failsAtBoot($0) }) {
                    succeeds = false
                    reason += "; \(h.path) fails (\(h.problem?.summary ?? "")), so ifup reports failure"
                }
            }
            out.append(BootStep(name: units[st.stack] ?? st.stack.rawValue, phase: .network, runs: runs, succeeds: runs ? succeeds : nil,
                                reason: reason, evidence: []))
        }
        if let rule = s.ifupdownHotplugRule, let c = s.ifupdown, s.stackCanAct(InterfaceClaim(stack: .ifupdown, name: nil, autostart: true,
                                                                                             source: SourceLine(path: c.mainPath, line: 0, text: ""))) {
            for i in c.hotplugInterfaces where i.value != "lo" {
                out.append(BootStep(name: "ifup@\(i.value).service", phase: .network, runs: true, succeeds: nil,
                                    reason: "udev's \(rule) starts it when the card appears", evidence: [i.source]))
            }
        }
        let ifupdownRuns = s.status(of: .ifupdown).map { $0.startsAtBoot && $0.installed != false } ?? false
        let nmRuns = s.units.startsAtBoot("NetworkManager.service") != nil
        for h in s.hooks.scripts where h.runner == .ifupdown ? ifupdownRuns : nmRuns {
            let stopped = s.hooks.whyNotRun(h.path, firstUse: nil)
            let fails = s.hooks.failsAtBoot(h)
            out.append(BootStep(name: h.path, phase: .network, runs: h.isRun && (stopped == nil || fails),
                                succeeds: h.isRun ? !fails : nil,
                                reason: stopped?.why ?? "\(h.runner == .ifupdown ? "ifup" : "NetworkManager-dispatcher") runs it (\(h.phase))",
                                evidence: h.evidence.map { [$0] } ?? []))
        }
        for m in s.firewall.mechanisms {
            // A hook that restores nothing is already listed as the hook it is.
            if !m.active, m.kind == .restoreScript, out.contains(where: { $0.name == m.name }) { continue }
            let phase: BootStep.Phase = m.kind != .restoreScript ? .beforeNetwork : m.files.first == "/etc/rc.local" ? .afterNetwork : .network
            out.append(BootStep(name: m.name, phase: phase, runs: m.active, succeeds: m.active ? m.failures.isEmpty : nil,
                                reason: m.reason + (m.failures.isEmpty ? "" : "; " + m.failures.map { "`\($0.program)` of \($0.path) fails: \($0.message.split(separator: "\n").first.map(String.init) ?? "")" }.joined(separator: "; ")),
                                evidence: Array(m.activation.prefix(2))))
        }
        out.append(BootStep(name: "sshd", phase: .afterNetwork, runs: sshd.starts.state != .broken,
                            succeeds: sshd.starts.state == .cannotTell ? nil : sshd.starts.state == .holds,
                            reason: sshd.starts.summary, evidence: sshd.starts.evidence))
        return out.enumerated().sorted { a, b in a.element.phase != b.element.phase ? a.element.phase < b.element.phase : a.offset < b.offset }.map(\.element)
    }

    static func interface(_ s: SystemSnapshot, name: String, claims: [InterfaceClaim], active: Set<InterfaceClaim>,
                          routes deviceRoutes: [DefaultRoute]) -> BootInterface {
        let acting = claims.filter { active.contains($0) }
        let stack = acting.first?.stack
        let mine = acting.filter { $0.stack == stack }
        var stale: [(InterfaceClaim, String)] = []
        for c in claims where c.stack != stack {
            stale.append((c, staleReason(s, c)))
        }
        var interfaceLink = BootLink(.interface, .holds, "\(name) is configured by name",
                                     evidence: Array((mine + claims.filter { !mine.contains($0) }).prefix(2).map(\.source)))
        if let pin = macPinLink(s, name: name, claims: mine) { interfaceLink = pin }

        var stackLink: BootLink
        if let stack, let first = mine.first {
            var what = stack.rawValue
            if stack == .netplan { what += " (\(first.renderer ?? s.netplan.effectiveRenderer) renderer)" }
            let reason = s.status(of: stack == .netplan ? .netplan : stack)?.reason ?? ""
            var summary = "\(what) brings up \(name)" + (reason.isEmpty ? "" : ": \(reason)")
            if !stale.isEmpty {
                summary += "; stale: " + stale.map { "\($0.0.source.location.path) (\($0.1))" }.joined(separator: ", ")
            }
            stackLink = BootLink(.stack, .holds, summary, evidence: [first.source])
            if stack == .ifupdown, let d = s.diagnostics.first(where: { $0.format == "ifupdown" && $0.impact == .bootNetworkRejected }) {
                stackLink = BootLink(.stack, .broken, "ifup refuses \(d.diagnostic.location.path): \(d.diagnostic.message)",
                                     evidence: [SourceLine(d.diagnostic.location, d.diagnostic.text)])
            } else if stack == .netplan, !s.netplan.isAccepted {
                stackLink = BootLink(.stack, .broken, "netplan rejects its YAML, so its generator writes nothing for \(name)", evidence: [first.source])
            }
            if stackLink.state == .holds, let c = cloudInitLink(s, name: name, claims: mine) { stackLink = c }
        } else {
            let why = stale.map { "\($0.0.stack.rawValue): \($0.1)" }.joined(separator: "; ")
            stackLink = BootLink(.stack, .broken, "nothing brings up \(name) at boot (\(why))", evidence: stale.prefix(3).map(\.0.source))
        }

        var addresses: [BootAddress] = []
        for c in mine {
            for a in c.addresses where !addresses.contains(where: { $0.address == a.address && $0.family == a.family }) {
                addresses.append(BootAddress(family: a.family, address: a.address, prefixLength: a.prefixLength, method: .static, source: a.source))
            }
            if c.dhcp4 && !addresses.contains(where: { $0.method == .dhcp && $0.family == .ipv4 }) {
                addresses.append(BootAddress(family: .ipv4, address: nil, prefixLength: nil, method: .dhcp, source: c.source))
            }
            if c.dhcp6 && !addresses.contains(where: { $0.method == .dhcp && $0.family == .ipv6 }) {
                addresses.append(BootAddress(family: .ipv6, address: nil, prefixLength: nil, method: .dhcp, source: c.source))
            }
        }
        var addressLink = BootLink(.address, .holds, addresses.isEmpty ? "" : addressWords(addresses),
                                   evidence: addresses.map(\.source))
        if stack != nil && addresses.isEmpty {
            addressLink = BootLink(.address, .broken, "\(name) comes up without an address", evidence: mine.prefix(1).map(\.source))
        }
        if stack == .ifupdown {
            // A failing if-pre-up.d hook or pre-up restore makes ifup leave the interface down.
            if let h = s.hooks.scripts.first(where: { $0.runner == .ifupdown && $0.phase == "pre-up" && $0.isRun && s.hooks.failsAtBoot($0) }) {
                addressLink = BootLink(.address, .broken, "\(h.path) fails before \(name) is configured (\(h.problem?.summary ?? "it fails")), so ifup leaves \(name) down",
                                       evidence: [h.evidence ?? SourceLine(path: h.path, line: 0, text: "")])
            } else if let f = s.firewall.failures.first(where: { $0.failure.stopsInterface }) {
                addressLink = BootLink(.address, .broken, "`\(f.failure.program)` of \(f.failure.path) fails before \(name) is configured (\(f.failure.message.split(separator: "\n").first.map(String.init) ?? "")), so ifup leaves \(name) down",
                                       evidence: [f.failure.invokedBy, f.failure.line].compactMap { $0 })
            } else if addresses.contains(where: { $0.method == .dhcp && $0.family == .ipv4 }),
                      !dhcpClientPackages.contains(where: { s.packages.hasFiles($0) }),
                      !dhcpClients.contains(where: { s.root.isRegularFile($0) }) {
                addressLink = BootLink(.address, s.packages.isKnown ? .broken : .cannotTell,
                                       "ifupdown needs a DHCP client for \(name) and none was found (isc-dhcp-client, dhcpcd, udhcpc)",
                                       evidence: addresses.filter { $0.method == .dhcp }.map(\.source))
            }
        }

        var routeLinks: [AddressFamily: BootLink] = [:]
        let routes = deviceRoutes.filter { $0.stack == stack?.rawValue }
        for family in [AddressFamily.ipv4, .ipv6] where addresses.contains(where: { $0.family == family }) {
            if let r = routes.first(where: { $0.family == family }) {
                routeLinks[family] = BootLink(.defaultRoute, .holds, "default route via \(r.gateway ?? "the link") on \(name)", evidence: [r.evidence])
            } else if addresses.contains(where: { $0.family == family && $0.method == .dhcp }) {
                routeLinks[family] = BootLink(.defaultRoute, .holds, "the default route comes from DHCP on \(name)", evidence: [])
            } else if let other = s.defaultRoutes.first(where: { $0.family == family }) {
                routeLinks[family] = BootLink(.defaultRoute, .holds, "the default route goes via \(other.gateway ?? "the link") on \(other.device)", evidence: [other.evidence])
            } else {
                let nets = addresses.filter { $0.family == family }.compactMap { a in a.address.map { "\($0)/\(a.prefixLength.map(String.init) ?? "?")" } }
                routeLinks[family] = BootLink(.defaultRoute, .cannotTell,
                    "no \(family.displayName) default route: only hosts on \(name)'s own network (\(nets.joined(separator: ", "))) reach it; it depends on where you connect from",
                    evidence: [])
            }
        }
        return BootInterface(name: name, stack: stack, claims: mine, stale: stale, addresses: addresses, defaultRoutes: routes,
                             interfaceLink: interfaceLink, stackLink: stackLink, addressLink: addressLink, routeLinks: routeLinks)
    }

    /// The stack link when cloud-init rewrites the file that configures the
    /// interface at the next boot: cannot tell when what it writes comes from
    /// the datasource (not on the disk) and the file on disk is not what it
    /// wrote last (a first boot, or a hand edit it overwrites); the file's own
    /// configuration, qualified, when the file is cloud-init's unmodified last
    /// render from the same datasource. nil: cloud-init does not touch it.
    static func cloudInitLink(_ s: SystemSnapshot, name: String, claims: [InterfaceClaim]) -> BootLink? {
        let ci = s.cloudInit
        guard ci.rendersAtNextBoot,
              let claim = claims.first(where: { CloudInitModel.isCloudInitPath($0.source.location.path) || ci.generatedFile($0.source.location.path) != nil })
        else { return nil }
        let path = claim.source.location.path
        let file = ci.generatedFile(path)
        let evidence = [claim.source] + ci.evidence
        let source: String
        switch ci.networkSource {
        case .systemConfig(let l): source = "\(l.location.path) (a `network:` configuration, not translated by rescue-audit)"
        case .commandLine: source = "the kernel command line's network-config="
        default: source = "the datasource"
        }
        switch ci.renders {
        case .firstBoot:
            return BootLink(.stack, .cannotTell, "cloud-init renders the network from \(source) at its first boot on this disk; \(path) will be rewritten", evidence: evidence)
        case .everyBoot(let ds):
            if file?.handEdited ?? false {
                return BootLink(.stack, .cannotTell, "cloud-init renders the network from \(source) at every boot (datasource \(ds)); the hand edit of \(path) will be overwritten", evidence: evidence)
            }
            if case .systemConfig = ci.networkSource {
                return BootLink(.stack, .cannotTell, "cloud-init renders the network from \(source) at every boot; \(path) will be rewritten", evidence: evidence)
            }
            var link = BootLink(.stack, .holds, "", evidence: evidence)
            link.summary = "\(claim.stack.rawValue) brings up \(name) from \(path), which cloud-init re-renders at every boot from datasource \(ds) (its last render, unmodified: assumed the same)"
            return link
        case .newInstanceOnly:
            return nil
        }
    }

    /// The interface link of a netplan device that takes its name from
    /// `set-name` on the card with one MAC (cloud-init's fallback and most
    /// datasources write it so): judged against the hardware when it is known.
    static func macPinLink(_ s: SystemSnapshot, name: String, claims: [InterfaceClaim]) -> BootLink? {
        guard let claim = claims.first(where: { $0.setName != nil && $0.match?.macAddress != nil }),
              let mac = claim.match?.macAddress?.lowercased(),
              let pin = s.cloudInit.macPins.first(where: { $0.mac.value.lowercased() == mac && $0.setName == claim.setName })
        else { return nil }
        let evidence = [pin.mac.source, claim.source]
        guard let hardware = s.environment.hardware else {
            return BootLink(.interface, .holds, "\(name) is the card with MAC \(mac) only (`match: macaddress` with `set-name`): depends on the NIC's MAC, which is not known offline",
                            evidence: evidence)
        }
        if let nic = hardware.first(where: { $0.mac?.lowercased() == mac }) {
            return BootLink(.interface, .holds, "\(name) is the card with MAC \(mac) (\(nic.currentName) on this machine)", evidence: evidence)
        }
        let macs = hardware.compactMap(\.mac).map { $0.lowercased() }
        let seen = macs.isEmpty ? "no network card was found" : "the cards have " + macs.joined(separator: ", ")
        if s.cloudInit.rendersAtNextBoot, s.cloudInit.contentUnknown, pin.generatedByCloudInit || s.cloudInit.generatedFile(claim.source.location.path) != nil {
            return BootLink(.interface, .cannotTell, "\(pin.mac.source.location.path) pins \(name) to MAC \(mac) and \(seen); cloud-init re-renders it from the datasource at boot", evidence: evidence)
        }
        return BootLink(.interface, .broken, "no network card has MAC \(mac), to which \(pin.mac.source.location.path) pins \(name) (\(seen)), so \(name) is not configured at boot",
                        evidence: evidence)
    }

    static func addressWords(_ a: [BootAddress]) -> String {
        a.map { x in
            if let address = x.address { return "\(address)\(x.prefixLength.map { "/\($0)" } ?? "") (static)" }
            return x.family == .ipv6 ? "an address from DHCPv6" : "an address from DHCP"
        }.joined(separator: ", ")
    }

    static func staleReason(_ s: SystemSnapshot, _ c: InterfaceClaim) -> String {
        if !s.stackCanAct(c) {
            switch c.stack {
            case .ifupdown: return "ifupdown is not installed, so nothing reads \(c.source.location.path)"
            case .netplan: return "netplan.io is not installed, so nothing reads \(c.source.location.path)"
            default: return "its software is not installed"
            }
        }
        if let st = s.status(of: c.stack), !st.startsAtBoot { return st.reason }
        return "another stack brings it up first"
    }

    static func addressLink(_ i: BootInterface, _ a: BootAddress) -> BootLink {
        guard i.addressLink.state == .holds else { return i.addressLink }
        let words = a.address.map { "\($0)\(a.prefixLength.map { "/\($0)" } ?? "") is set on \(i.name) (static)" }
            ?? "\(i.name) gets its \(a.family.displayName) address from \(a.family == .ipv6 ? "DHCPv6" : "DHCP")"
        return BootLink(.address, .holds, words, evidence: [a.source])
    }

    static func firewallLink(_ s: SystemSnapshot, family: AddressFamily, port: Int, interface: String) -> BootLink {
        if !sshdUses(s, family) {
            return BootLink(.firewall, .holds, "not evaluated: sshd does not listen on \(family.displayName)")
        }
        let base = interface.split(separator: ":").first.map(String.init) ?? interface
        // Only a rule that names an interface makes the generic answer unknown; then ask for this one.
        let generic = s.firewall.verdict(.ssh(port: port), family)
        guard let v = generic?.answer == .unknown ? s.firewall.ssh(port: port, family, interface: base) ?? generic : generic else {
            return BootLink(.firewall, .cannotTell, "the firewall was not evaluated for tcp/\(port) over \(family.displayName)")
        }
        let names = v.perMechanism.map { s.firewall.mechanisms[$0.mechanism].name }
        let by = names.isEmpty ? "" : " (\(names.joined(separator: ", ")))"
        switch v.answer {
        case .accepted:
            return BootLink(.firewall, .holds, names.isEmpty ? "no firewall loads \(family.displayName) rules at boot"
                            : "the firewall loaded at boot\(by) accepts tcp/\(port) on \(base) over \(family.displayName)", evidence: v.evidence)
        case .dropped:
            return BootLink(.firewall, .broken, "the firewall loaded at boot\(by) drops tcp/\(port) over \(family.displayName)", evidence: v.evidence)
        case .unknown:
            let why = v.notes.first.map { ": \($0)" } ?? ""
            return BootLink(.firewall, .cannotTell, "whether the firewall\(by) lets tcp/\(port) in over \(family.displayName) could not be decided\(why)",
                            evidence: v.evidence)
        }
    }

    /// sshd's AddressFamily lets it listen on the family.
    static func sshdUses(_ s: SystemSnapshot, _ family: AddressFamily) -> Bool {
        let af = s.listeners.sshAddressFamily?.value
        return af == nil || af == "any" || (af == "inet" && family == .ipv4) || (af == "inet6" && family == .ipv6)
    }

    static func listensLink(_ s: SystemSnapshot, _ sshd: SSHDBoot, _ a: BootAddress) -> BootLink {
        if sshd.listens.state == .holds, !sshdUses(s, a.family), let af = s.listeners.sshAddressFamily {
            return BootLink(.listens, .broken, "sshd's AddressFamily \(af.value) leaves out \(a.family.displayName)", evidence: [af.source])
        }
        guard sshd.listens.state == .holds, !sshd.addresses.isEmpty else { return sshd.listens }
        let wildcard = sshd.addresses.contains { ["0.0.0.0", "::", "*"].contains($0.value) }
        if wildcard { return sshd.listens }
        guard let addr = a.address else {
            return BootLink(.listens, .cannotTell, "sshd listens only on \(sshd.addresses.map(\.value).joined(separator: ", ")); whether DHCP gives that address cannot be known offline",
                            evidence: sshd.addresses.map(\.source))
        }
        if sshd.addresses.contains(where: { $0.value == addr || $0.value == "[\(addr)]" }) { return sshd.listens }
        return BootLink(.listens, .broken, "sshd listens only on \(sshd.addresses.map(\.value).joined(separator: ", "))",
                        evidence: sshd.addresses.map(\.source))
    }
}
