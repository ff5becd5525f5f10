import Parsers
import SystemModel

/// The verdict of an audit: the boot model's chains, with what the rules
/// found critical laid over the link it breaks. Critical means nobody gets in
/// or the boot stops, so a critical finding about the SSH chain or the boot
/// always makes the verdict "NOT reachable", naming the same cause.
enum BootVerdict {
    enum Effect: Equatable {
        /// It breaks this link of the chain.
        case link(BootLink.Kind)
        /// The boot stops before the network comes up.
        case bootStop
        /// It is about something else than reaching sshd (loopback services, ping, DNS).
        case none
    }

    /// What a rule's critical finding does to the chain.
    static func effect(of rule: String) -> Effect {
        switch rule {
        case InterfaceNameMismatch.id: .link(.interface)
        case NetworkServiceDisabled.id, NoNetworkConfigured.id, ConflictingNetworkManagers.id, ConfigSyntaxError.id,
             ConfigFileUnreadable.id: .link(.stack)
        case IfUpScriptBroken.id, DuplicateAddress.id: .link(.address)
        case GatewayUnreachable.id, MultipleDefaultRoutes.id: .link(.defaultRoute)
        case FirewallBlocksSsh.id, FirewallRulesUnparseable.id, ConflictingFirewalls.id: .link(.firewall)
        case FstabDeviceMissing.id, KernelMissing.id, FilesystemNeedsCheck.id, PackageTransactionInterrupted.id: .bootStop
        default: .none
        }
    }

    static func judge(_ system: SystemSnapshot, _ findings: [Finding]) -> Verdict {
        var endpoints = system.bootModel.endpoints
        var stops: [BootStop] = []
        for f in findings where f.severity == .critical {
            let evidence = f.evidence.map { SourceLine(path: $0.path, line: $0.line ?? 0, text: $0.text) }
            let summary = "\(f.rule): \(firstSentence(f.atBoot.isEmpty ? f.message : f.atBoot))"
            guard case .link(let kind) = effect(of: f.rule) else {
                if effect(of: f.rule) == .bootStop { stops.append(BootStop(rule: f.rule, summary: summary, evidence: evidence)) }
                continue
            }
            for e in endpoints.indices {
                guard let k = endpoints[e].chain.firstIndex(where: { $0.kind == kind }) else {
                    // A chain that stops early (nothing comes up) keeps its own first broken link.
                    continue
                }
                if endpoints[e].chain[k].state != .broken {
                    endpoints[e].chain[k] = BootLink(kind, .broken, summary, evidence: evidence)
                }
            }
        }
        var verdict = Verdict.judge(endpoints, bootStops: stops)
        verdict.qualify(unreplayed: system.unreplayedJournals)
        return verdict
    }

    static func firstSentence(_ s: String) -> String {
        var out = ""
        var previous: Character = " "
        for c in s {
            if c == " " && previous == "." { break }
            out.append(c)
            previous = c
        }
        return out.hasSuffix(".") ? String(out.dropLast()) : out
    }
}
