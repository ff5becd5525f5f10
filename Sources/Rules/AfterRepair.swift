import Parsers
import Plan
import SystemModel
import TargetAccess

/// The verdict the target would get after the repair script ran: the plan's
/// automatic steps laid over the snapshot in memory (`RepairPlan.overlay`),
/// the model, the rules and the verdict computed again. Nothing is written.
public struct AfterRepair: Sendable {
    public var verdict: Verdict
    /// The findings the repaired system would still have.
    public var findings: [Finding]
    /// Automatic steps whose effect is not modelled (a command run inside the
    /// target other than those `RepairPlan.overlay` knows): the prediction
    /// ignores them.
    public var notModelled: [PlannedAction]

    public static let prefix = "After this plan: "

    /// "After this plan: reachable at …", "After this plan: still NOT reachable: …".
    public var line: String {
        let rest = verdict.line.hasPrefix(Verdict.prefix) ? String(verdict.line.dropFirst(Verdict.prefix.count)) : verdict.line
        return Self.prefix + (verdict.outcome == .notReachable ? "still " : "") + rest
    }

    /// What the prediction leaves out, in one sentence, or nil.
    public var caveat: String? {
        guard !notModelled.isEmpty else { return nil }
        return "The prediction does not model what " + notModelled.map { a in
            if case .chroot(let c, _, _, _) = a.operation { return "\(a.id) (\(c.joined(separator: " ")))" }
            return a.id
        }.joined(separator: ", ") + " changes."
    }
}

extension AuditResult {
    /// The verdict after this result's plan, judged on `system` (the snapshot
    /// this result came from) with the plan's automatic steps laid over it.
    public func predictAfterRepair(_ system: SystemSnapshot, rules: [any Rule.Type] = RuleRegistry.all) -> AfterRepair {
        let (overlay, unknown) = plan.overlay(on: system.root)
        // Nothing the script changes: the verdict stays what it is.
        if overlay.isEmpty, let verdict {
            return AfterRepair(verdict: verdict, findings: findings, notModelled: unknown)
        }
        let repaired = SystemSnapshot.load(root: system.root.overlaying(overlay), kind: system.kind, environment: system.environment)
        let again = AuditResult.run(repaired, rules: rules)
        var verdict = again.verdict ?? BootVerdict.judge(repaired, again.findings)
        // A step whose effect is not modelled (a rebuilt initramfs decides the
        // interface names) may be the one that fixes the broken link: the
        // prediction then cannot say "still NOT reachable" (renamed-interface
        // came back at boot after `update-initramfs -u -k all`).
        if !unknown.isEmpty, verdict.outcome == .notReachable {
            let rest = verdict.line.hasPrefix(Verdict.prefix) ? String(verdict.line.dropFirst(Verdict.prefix.count)) : verdict.line
            verdict.outcome = .cannotTell
            verdict.line = Verdict.prefix + "cannot tell: " + unknown.map(\.id).joined(separator: ", ")
                + " is not modelled, and without it: " + rest
        }
        return AfterRepair(verdict: verdict, findings: again.findings, notModelled: unknown)
    }
}
