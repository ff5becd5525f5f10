import Parsers
import Plan
import SystemModel

/// `firewall-rules-unparseable`: a persisted ruleset that its restore program will refuse at boot.
public struct FirewallRulesUnparseable: Rule {
    public static let id = "firewall-rules-unparseable"
    public init() {}

    public func check(_ system: SystemSnapshot) -> [Finding] {
        system.firewall.failures.map { mechanism, failure in
            var evidence: [Evidence] = []
            if let line = failure.line {
                evidence.append(Evidence(line, note: FirewallSupport.oneLine(failure.message)))
            } else {
                evidence.append(.fact(failure.path, FirewallSupport.oneLine(failure.message)))
            }
            if let by = failure.invokedBy, by != failure.line {
                evidence.append(Evidence(by, note: "\(mechanism.name) runs \(failure.program) at boot"))
            }
            for line in mechanism.activation.prefix(1) where line != failure.invokedBy {
                evidence.append(Evidence(line, note: mechanism.reason))
            }
            let at = failure.line.map { " at line \($0.location.line)" } ?? ""
            let message = "\(failure.program) fails on \(failure.path)\(at): \(FirewallSupport.oneLine(failure.message))"
            let atBoot: String
            if failure.stopsInterface {
                atBoot = "ifup runs the restore before it brings the interface up; the restore fails, so ifup aborts and the interface stays down."
            } else if mechanism.kind == .nftables {
                atBoot = "nft -f loads nothing when one line is wrong, so nftables.service fails and the machine boots without this firewall."
            } else if mechanism.kind == .firewalld && failure.path.hasPrefix("/etc/firewalld/zones/") {
                atBoot = "firewalld cannot load its configuration, falls back to its stock one (/usr/lib/firewalld, default zone public) and ignores everything in /etc/firewalld."
            } else if mechanism.kind == .restoreScript {
                atBoot = "The script that restores the rules fails at boot (run-parts reports it and ifup fails), and the tables from the error on are not loaded."
            } else {
                atBoot = "\(mechanism.name) fails at boot and the tables from the error on are not loaded, so the machine runs without the firewall it was meant to have."
            }
            return finding(failure.stopsInterface ? .critical : .high, message: message, atBoot: atBoot, evidence: evidence,
                           actions: failure.fixes.map(FirewallSupport.action))
        }
    }
}
