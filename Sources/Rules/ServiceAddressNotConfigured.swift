import Parsers
import Plan
import SystemModel
import TargetAccess

/// `service-address-not-configured`: a service is set to listen on an
/// address that no persisted network configuration gives to any interface.
public struct ServiceAddressNotConfigured: Rule {
    public static let id = "service-address-not-configured"
    public init() {}

    public func check(_ system: SystemSnapshot) -> [Finding] {
        let claims = system.persistedClaims
        let configured = claims.flatMap { c in c.addresses.map { (claim: c, fact: $0) } }
        let loopback = LoopbackNotConfigured.loopbackAtBoot(system)
        var findings: [Finding] = []
        var reported: Set<String> = []
        // The repair of a loopback address is loopback-not-configured's: the
        // same step, so the plan lists it once. Worked out once, when needed.
        var loopbackFixCache: [ProposedAction]?
        func loopbackFix() -> [ProposedAction] {
            if let f = loopbackFixCache { return f }
            let f = LoopbackNotConfigured().check(system).flatMap(\.actions)
            loopbackFixCache = f
            return f
        }
        for listener in system.listeners.listeners {
            guard let written = listener.address else { continue }
            let resolved = system.listeners.resolve(written).compactMap(IPAddress.init)
            // A name /etc/hosts does not know, or a wildcard: nothing to compare.
            for ip in resolved where !ip.isUnspecified && !ip.isLinkLocal {
                if ip.isLoopback {
                    // Loopback addresses exist exactly when lo is up.
                    guard !loopback.up else { continue }
                } else if configured.contains(where: { IPAddress($0.fact.address) == ip }) {
                    continue
                }
                let key = "\(listener.service)|\(listener.source.location)|\(ip.bytes)"
                guard reported.insert(key).inserted else { continue }
                findings.append(report(listener, written: written, ip: ip, system: system, claims: claims,
                                       configured: configured.map(\.fact), loopbackWhy: ip.isLoopback ? loopback.why : nil,
                                       loopbackFix: ip.isLoopback ? loopbackFix() : []))
            }
        }
        return findings
    }

    private func report(_ l: Listener, written: String, ip: IPAddress, system: SystemSnapshot, claims: [InterfaceClaim],
                        configured: [AddressFact], loopbackWhy: String?, loopbackFix: [ProposedAction]) -> Finding {
        let service = l.detail.map { "\(l.service) (\($0))" } ?? l.service
        let port = l.port.map { " port \($0)" } ?? ""
        let shown = written == ip.text ? ip.text : "\(written) (\(ip.text) in /etc/hosts)"
        var evidence = [Evidence(l.addressSource ?? l.source, note: "\(service) listens on \(shown)\(port)")]
        if let a = l.addressSource, a != l.source { evidence.append(Evidence(l.source, note: "the listener this address applies to")) }
        let family: AddressFamily = ip.isV6 ? .ipv6 : .ipv4
        if let loopbackWhy {
            evidence.append(.fact("/etc/network/interfaces", "lo does not come up at boot: \(loopbackWhy)"))
            return finding(
                message: "\(service) is configured to listen on the loopback address \(ip.text)\(port), but nothing brings lo up at boot.",
                atBoot: "\(l.service) cannot bind \(ip.text) after a reboot and fails to start (as amavisd did in seed 000).",
                evidence: evidence, actions: loopbackFix)
        }
        let sameFamily = configured.filter { $0.family == family }
        evidence.append(.fact(system.status(of: claims.first?.stack ?? .ifupdown)?.files.first ?? "/etc/network/interfaces",
                              "persisted \(family.displayName) addresses: "
                                + (sameFamily.isEmpty ? "none" : sameFamily.map { "\($0.address)\($0.prefixLength.map { "/\($0)" } ?? "") (\($0.source.location))" }.joined(separator: ", "))))
        // An interface that takes its address from DHCP might be leased this one.
        let dhcp = claims.filter { family == .ipv4 ? $0.dhcp4 : $0.dhcp6 }
        var severity: Severity = .high
        var message = "\(service) is configured to listen on \(ip.text)\(port), but no persisted network configuration gives that address to any interface; it exists, if at all, only until the next reboot."
        if !dhcp.isEmpty {
            severity = .medium
            message += " \(dhcp.map(\.displayName).joined(separator: ", ")) take\(dhcp.count == 1 ? "s" : "") an address from DHCP, which may or may not be \(ip.text)."
            evidence += dhcp.map { Evidence($0.source, note: "takes its address from DHCP") }
        }
        var actions = fix(ip: ip, listener: l, claims: claims, service: service)
        if !actions.contains(where: { $0.action.isAutomatic }), let listenFix = sshdListensEverywhere(l, system) {
            actions.insert(listenFix, at: 0)
        }
        return finding(severity, message: message,
                       atBoot: "\(l.service) cannot bind \(ip.text) after a reboot (\"Cannot assign requested address\") and fails to start.",
                       evidence: evidence, actions: actions)
    }

    /// sshd cannot bind any of its ListenAddress lines at boot (or only if
    /// DHCP happens to lease one): they are commented out, so sshd listens on
    /// every address of the port, but only when the sshd model, run again
    /// with the edit, says it then listens.
    /// (An address the network does configure keeps its line: sshd binds it.)
    private func sshdListensEverywhere(_ l: Listener, _ system: SystemSnapshot) -> ProposedAction? {
        let sshd = system.sshd
        // Broken (the address is on no interface), or cannot tell (DHCP may or may not lease it).
        guard l.service == "sshd", sshd.boot.listens.state != .holds, !sshd.socketActivated else { return nil }
        let lines = sshd.config.globalAll("listenaddress")
        guard !lines.isEmpty else { return nil }
        var o = TargetOverlay()
        var edits: [String: [LineEdit]] = [:]
        for (path, ds) in Dictionary(grouping: lines, by: { $0.source.location.path }) {
            guard let bytes = system.bytes(path) else { return nil }
            var text = Text.lines(bytes)
            for d in ds where d.source.location.line >= 1 && d.source.location.line <= text.count {
                text[d.source.location.line - 1] = "#" + d.source.text
                edits[path, default: []].append(.replace(line: d.source.location.line, with: ["#" + d.source.text]))
            }
            let st = system.file(path)?.status
            o.set(path, .file(bytes: Array(text.joined(separator: "\n").utf8) + [0x0A], mode: st?.permissions ?? 0o644,
                              uid: st?.userID ?? 0, gid: st?.groupID ?? 0))
        }
        guard edits.count == 1, let (path, e) = edits.first, system.sshd(after: o).boot.listens.state == .holds else { return nil }
        return ProposedAction(.editLines(path: path, edits: e.sorted { $0.line < $1.line }),
                              "Comment out the ListenAddress line\(e.count == 1 ? "" : "s") of \(path), so sshd listens on every address the machine has (the firewall still decides who reaches it)")
    }

    /// Persists the address on the interface whose subnet holds it, in that
    /// stack's own syntax; otherwise a person decides where it belongs.
    private func fix(ip: IPAddress, listener: Listener, claims: [InterfaceClaim], service: String) -> [ProposedAction] {
        for claim in claims {
            for fact in claim.addresses {
                guard let len = fact.prefixLength, let have = IPAddress(fact.address), have.sharesPrefix(with: ip, length: len) else { continue }
                let device = claim.baseDevice ?? claim.displayName
                let cidr = "\(ip.text)/\(len)"
                switch claim.stack {
                case .ifupdown:
                    let after = max(claim.source.location.line, fact.source.location.line)
                    let path = claim.source.location.path
                    return [ProposedAction(
                        .editLines(path: path, edits: [.insert(["    up ip addr add \(cidr) dev \(device)",
                                                                "    down ip addr del \(cidr) dev \(device)"], before: after + 1)]),
                        "Persist \(ip.text) on \(device) in \(path), as \(service) expects")]
                case .networkd:
                    return [ProposedAction(.editLines(path: fact.source.location.path,
                                                      edits: [.insert(["Address=\(cidr)"], before: fact.source.location.line + 1)]),
                                           "Add Address=\(cidr) to \(fact.source.location.path), as \(service) expects")]
                case .netplan:
                    let text = fact.source.text
                    let indent = String(text.prefix { $0 == " " })
                    guard text.dropFirst(indent.count).hasPrefix("- ") else { continue }
                    let quoted = text.contains("\"") ? "\"\(cidr)\"" : cidr
                    return [ProposedAction(.editLines(path: fact.source.location.path,
                                                      edits: [.insert(["\(indent)- \(quoted)"], before: fact.source.location.line + 1)]),
                                           "Add \(cidr) to the addresses of \(device) in \(fact.source.location.path), as \(service) expects")]
                case .ifcfg, .networkManager:
                    continue
                }
            }
        }
        let where_ = listener.addressSource ?? listener.source
        return [ProposedAction(
            .manual(description: "Either add \(ip.text) to the interface that should carry it in the network configuration, or change \(service) to listen on an address that is configured.",
                    commands: ["${EDITOR:-vi} \(path: where_.location.path)   # line \(where_.location.line): \(comment: where_.text)"]),
            "Decide where \(ip.text) belongs")]
    }
}
