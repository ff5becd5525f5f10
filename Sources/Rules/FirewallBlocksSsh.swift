import Parsers
import Plan
import SystemModel

/// `firewall-blocks-ssh`: the firewall restored at boot drops inbound TCP to sshd's port.
public struct FirewallBlocksSsh: Rule {
    public static let id = "firewall-blocks-ssh"
    public init() {}

    public func check(_ system: SystemSnapshot) -> [Finding] {
        var findings: [Finding] = []
        var seen = Set<Int>()
        for port in system.bootModel.sshd?.ports ?? system.listeners.sshPorts where seen.insert(port.value).inserted {
            let dropped = system.firewall.verdicts.filter { $0.question == .ssh(port: port.value) && $0.answer == .dropped }
            guard !dropped.isEmpty else { continue }
            let v4 = dropped.contains { $0.family == .ipv4 }
            let v4Answer = system.firewall.verdict(.ssh(port: port.value), .ipv4)?.answer
            // Dropped over IPv4 leaves the machine unreachable; IPv6 alone still hurts.
            let severity: Severity = v4 ? .critical : (v4Answer == .accepted ? .medium : .high)
            var evidence: [Evidence] = []
            if port.source.location.line > 0 {
                evidence.append(Evidence(port.source, note: "sshd listens on port \(port.value)"))
            } else {
                evidence.append(.fact(port.source.location.path, "no Port line: sshd listens on port 22"))
            }
            evidence += FirewallSupport.evidence(dropped, what: "tcp/\(port.value) is dropped")
            evidence += FirewallSupport.activation(system, dropped)
            let notes = FirewallSupport.notes(dropped)
            let custom = port.value != 22 ? " (a custom port)" : ""
            let message = "The firewall restored at boot, \(FirewallSupport.names(system, dropped)), drops inbound TCP to port \(port.value)\(custom), where sshd listens, for \(FirewallSupport.families(dropped))."
                + (notes.isEmpty ? "" : " " + notes)
            let atBoot = v4
                ? "After boot every SSH connection to port \(port.value) is dropped, so the machine cannot be reached over SSH."
                : "After boot SSH over IPv6 to port \(port.value) is dropped; only IPv4 can reach sshd."
            findings.append(finding(severity, message: message, atBoot: atBoot, evidence: evidence,
                                    actions: FirewallSupport.actions(dropped)))
        }
        return findings
    }
}
