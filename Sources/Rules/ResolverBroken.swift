import Parsers
import Plan
import SystemModel

/// `resolver-broken`: /etc/resolv.conf is missing, lists no nameserver, or
/// points at systemd-resolved's stub while systemd-resolved does not run.
public struct ResolverBroken: Rule {
    public static let id = "resolver-broken"
    public init() {}

    static let path = "/etc/resolv.conf"

    public func check(_ system: SystemSnapshot) -> [Finding] {
        let known = system.persistedClaims.flatMap(\.nameservers)
        let rc = system.facts.resolvConf
        guard rc.exists else {
            if rewriter(system) != nil { return [] }
            return [finding(message: "\(Self.path) does not exist, and nothing on the target writes it at boot.",
                            atBoot: "Every host name lookup fails after boot (apt, mail delivery, NTP, anything that connects by name).",
                            evidence: [.fact(Self.path, "missing")] + known.map { Evidence($0.source, note: "a nameserver the network configuration knows") },
                            actions: write(known, exists: false))]
        }
        if let target = rc.linkTarget {
            return symlink(system, target: target, known: known)
        }
        guard let servers = rc.nameservers else { return [] }  // unreadable: config-file-unreadable says so
        guard servers.isEmpty, rewriter(system) == nil else { return [] }
        return [finding(message: "\(Self.path) lists no nameserver, and nothing on the target rewrites it at boot.",
                        atBoot: "Every host name lookup fails after boot (the resolver falls back to 127.0.0.1, where nothing answers).",
                        evidence: [.fact(Self.path, "no `nameserver` line in \(rc.lineCount) line(s)")]
                            + known.map { Evidence($0.source, note: "a nameserver the network configuration knows") },
                        actions: write(known, exists: true))]
    }

    /// What regenerates /etc/resolv.conf at boot, if anything.
    private func rewriter(_ system: SystemSnapshot) -> String? {
        if system.units.startsAtBoot("NetworkManager.service") != nil { return "NetworkManager" }
        if system.packages.hasFiles("resolvconf") || system.packages.hasFiles("openresolv") { return "resolvconf" }
        let dhclient = system.packages.hasFiles("isc-dhcp-client") || system.packages.hasFiles("dhcpcd-base") || system.packages.hasFiles("dhcpcd5")
        if dhclient && system.activeClaims.contains(where: { $0.stack == .ifupdown && $0.dhcp4 }) { return "the DHCP client of ifupdown" }
        return nil
    }

    private func symlink(_ system: SystemSnapshot, target: String, known: [Located<String>]) -> [Finding] {
        let evidence = Evidence.fact(Self.path, "symlink to \(target)")
        if target.hasSuffix("systemd/resolve/stub-resolv.conf") || target.hasSuffix("systemd/resolve/resolv.conf") {
            let unit = "systemd-resolved.service"
            if system.units.startsAtBoot(unit) != nil { return [] }
            var actions: [ProposedAction] = []
            var why = "systemd-resolved is not installed"
            if system.units.unitFile(unit) != nil {
                why = system.units.isMasked(unit).map { "\(unit) is masked (\($0.linkPath))" } ?? "\(unit) is not enabled"
                let links = system.units.enableLinks(for: unit)
                if system.units.isMasked(unit) == nil, !links.isEmpty {
                    actions.append(ProposedAction(.enableUnit(unit: unit, links: links.map { SymlinkSpec(path: $0.linkPath, target: $0.target) }),
                                                  "Enable \(unit), which writes the file \(Self.path) points to"))
                }
            }
            if actions.isEmpty {
                actions.append(ProposedAction(.manual(description: "Replace the symlink by a file with your nameservers.",
                                                      commands: ["rm \(rootPath(Self.path))",
                                                                 "printf 'nameserver %s\\n' \(known.map(\.value).first(where: IPText.isIP) ?? "NAMESERVER") > \(rootPath(Self.path))"]),
                                              "Replace \(Self.path) by a plain file"))
            }
            return [finding(message: "\(Self.path) points to systemd-resolved's \(target.hasSuffix("stub-resolv.conf") ? "stub " : "")file, but \(why).",
                            atBoot: "Nothing creates \(target) at boot, so \(Self.path) dangles and every host name lookup fails.",
                            evidence: [evidence, .fact(system.units.unitFile(unit)?.path ?? "/lib/systemd/system/\(unit)", why)], actions: actions)]
        }
        // Other links into /run are written at boot by whoever owns them.
        if target.contains("/run/") || target.hasPrefix("../run") || target.hasPrefix("run/") {
            if target.contains("resolvconf"), !(system.packages.hasFiles("resolvconf") || system.packages.hasFiles("openresolv")) {
                return [finding(message: "\(Self.path) points to resolvconf's file \(target), but resolvconf is not installed.",
                                atBoot: "Nothing creates \(target) at boot, so \(Self.path) dangles and every host name lookup fails.",
                                evidence: [evidence], actions: write(known, exists: false, replaceLink: true))]
            }
            if target.contains("NetworkManager"), system.units.startsAtBoot("NetworkManager.service") == nil {
                return [finding(message: "\(Self.path) points to NetworkManager's file \(target), but NetworkManager does not start at boot.",
                                atBoot: "Nothing creates \(target) at boot, so \(Self.path) dangles and every host name lookup fails.",
                                evidence: [evidence], actions: write(known, exists: false, replaceLink: true))]
            }
            return []
        }
        if !system.facts.resolvConf.resolves {
            return [finding(message: "\(Self.path) is a symlink to \(target), which does not exist on the target.",
                            atBoot: "Every host name lookup fails after boot.",
                            evidence: [evidence], actions: write(known, exists: false, replaceLink: true))]
        }
        return []
    }

    /// Writes the nameservers the network configuration knows; without any,
    /// a person has to say which resolver the network has.
    private func write(_ known: [Located<String>], exists: Bool, replaceLink: Bool = false) -> [ProposedAction] {
        var seen: Set<String> = []
        let servers = known.map(\.value).filter { IPText.isIP($0) && seen.insert($0).inserted }.prefix(3)
        guard !servers.isEmpty, !replaceLink else {
            return [ProposedAction(.manual(description: "Write the nameservers of this network into \(Self.path) (your provider documents them).",
                                           commands: [(replaceLink ? "rm \(rootPath(Self.path)); " : "") + "${EDITOR:-vi} \(rootPath(Self.path))"]),
                                   "Write nameservers into \(Self.path)")]
        }
        let lines = ["# Written by rescue-audit from the nameservers of the network configuration."] + servers.map { "nameserver \($0)" }
        return [ProposedAction(exists ? .appendBlock(path: Self.path, lines: lines) : .createFile(path: Self.path, lines: lines, mode: 0o644),
                               "\(exists ? "Add" : "Write") nameserver \(servers.joined(separator: ", ")) \(exists ? "to" : "into") \(Self.path)")]
    }
}
