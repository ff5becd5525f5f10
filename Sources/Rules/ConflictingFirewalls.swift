import Parsers
import Plan
import SystemModel

/// `conflicting-firewalls`: two firewall mechanisms load rules at boot.
public struct ConflictingFirewalls: Rule {
    public static let id = "conflicting-firewalls"
    public init() {}

    public func check(_ system: SystemSnapshot) -> [Finding] {
        let active = system.firewall.active
        // A script that restores the very files another mechanism loads adds nothing of its own.
        var distinct: [FirewallMechanism] = []
        for m in active {
            let files = Set(m.files)
            if distinct.contains(where: { $0.kind != m.kind && !files.isEmpty && Set($0.files).isSuperset(of: files.subtracting([$0.name, m.name])) && m.kind == .restoreScript }) { continue }
            distinct.append(m)
        }
        guard Set(distinct.map(\.kind)).count >= 2 || distinct.filter({ $0.kind == .restoreScript }).count >= 2 else { return [] }
        var evidence: [Evidence] = []
        for m in distinct {
            if let line = m.activation.first {
                evidence.append(Evidence(line, note: "\(m.name) loads rules at boot: \(m.reason)"))
            } else {
                evidence.append(.fact(m.files.first ?? "/", "\(m.name) loads rules at boot: \(m.reason)"))
            }
        }
        let names = distinct.map(\.name)
        var commands: [ShellCommand] = []
        for m in distinct {
            commands.append("# to stop \(comment: m.name):")
            if case .manual(_, let c) = FirewallSupport.disable(m.disable).action { commands += c }
        }
        return [finding(
            message: "\(names.count) firewalls load rules at boot: \(names.joined(separator: ", ")). Each replaces or adds to the other's rules, so what is allowed depends on which one runs last.",
            atBoot: "At boot the rules that end up in the kernel depend on the order \(names.joined(separator: " and ")) start in, so a rule that lets SSH in may be flushed by the other.",
            evidence: evidence,
            actions: [ProposedAction(.manual(description: "Keep one firewall and disable the others (\(names.joined(separator: ", "))); move its rules into the one you keep first",
                                             commands: commands), "Keep one of \(names.joined(separator: ", ")) and disable the rest")])]
    }
}
