import Plan
import TargetAccess
import SystemModel

/// Every rule, registered by id. The catalogue test checks this list against
/// `rules/` both ways.
public enum RuleRegistry {
    public static let all: [any Rule.Type] = [
        ConfigFileUnreadable.self,
        ConfigSyntaxError.self,
        IfUpScriptBroken.self,
        InterfaceNameMismatch.self,
        ConflictingFirewalls.self,
        FirewallBlocksLoopback.self,
        FirewallBlocksPing.self,
        FirewallBlocksSsh.self,
        FirewallRulesUnparseable.self,
        LoopbackNotConfigured.self,
        MultipleDefaultRoutes.self,
        ServiceAddressNotConfigured.self,
        GatewayUnreachable.self,
        DuplicateAddress.self,
        ConflictingNetworkManagers.self,
        NetworkServiceDisabled.self,
        NoNetworkConfigured.self,
        ResolverBroken.self,
        FstabDeviceMissing.self,
        FilesystemNeedsCheck.self,
        PackageTransactionInterrupted.self,
        KernelMissing.self,
        LastBootErrors.self,
        SshdWillNotStart.self,
        SshdConfigInvalid.self,
        SshdHostKeysMissing.self,
        SshLoginImpossible.self,
        Fail2banRestoresSshBans.self,
        CloudInitOverwritesHandEdit.self,
        MacPinMatchesNoCard.self,
        SelinuxPolicyMissing.self,
        SelinuxRelabelPending.self,
        CloneIdentityBakedIn.self,
    ]

    public static func rule(_ id: String) -> (any Rule.Type)? { all.first { $0.id == id } }
}

/// The result of running every rule on a snapshot: findings, most critical
/// first, and the repair plan built from their actions.
public struct AuditResult: Sendable {
    public var findings: [Finding]
    public var plan: RepairPlan
    /// Will SSH reach the machine after the next boot (nil only for results built by hand).
    public var verdict: Verdict? = nil
    /// The verdict after the plan's automatic steps, when it was predicted
    /// (`predictAfterRepair`; the CLI always does, the renderers show it).
    public var afterRepair: AfterRepair? = nil

    /// Runs `rules` (all by default) on the snapshot.
    public static func run(_ system: SystemSnapshot, rules: [any Rule.Type] = RuleRegistry.all) -> AuditResult {
        var findings: [Finding] = []
        for rule in rules { findings += rule.init().check(system) }
        // Most critical first; within a severity, by rule id then first evidence, for stable output.
        findings = findings.enumerated().sorted { a, b in
            if a.element.severity != b.element.severity { return a.element.severity > b.element.severity }
            if a.element.rule != b.element.rule { return a.element.rule < b.element.rule }
            return a.offset < b.offset
        }.map(\.element)
        FindingLinks.link(&findings)
        findings = findings.map { $0.bounded() }
        var requests: [ActionRequest] = []
        for (i, f) in findings.enumerated() {
            for a in f.actions {
                let (action, summary) = throughSymlink(a, system)
                requests.append(ActionRequest(rule: f.rule, findingIndex: i, action: action, summary: summary))
            }
        }
        let plan = PlanBuilder.build(requests, fileBytes: { system.bytes($0) })
        return AuditResult(findings: findings, plan: plan, verdict: BootVerdict.judge(system, findings))
    }

    /// An edit of a file that is a symlink (interfaces -> interfaces.real)
    /// edits the file the link leads to inside the target, as an editor
    /// would; the link stays. The repair script refuses to write through a
    /// symlink, so the plan names the real file.
    static func throughSymlink(_ a: ProposedAction, _ system: SystemSnapshot) -> (RepairAction, String) {
        let through = { (path: String) -> String? in system.symlinkedFiles[TargetRoot.normalize(path)] }
        switch a.action {
        case .editLines(let path, let edits):
            if let real = through(path) { return (.editLines(path: real, edits: edits), a.summary + " (\(real), which the symlink \(path) points to)") }
        case .appendBlock(let path, let lines):
            if let real = through(path) { return (.appendBlock(path: real, lines: lines), a.summary + " (\(real), which the symlink \(path) points to)") }
        default:
            break
        }
        return (a.action, a.summary)
    }

    /// The highest severity found, nil when nothing was found.
    public var worst: Severity? { findings.map(\.severity).max() }
}
