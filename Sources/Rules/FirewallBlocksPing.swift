import Parsers
import Plan
import SystemModel

/// `firewall-blocks-ping`: the firewall restored at boot drops ICMP echo requests.
public struct FirewallBlocksPing: Rule {
    public static let id = "firewall-blocks-ping"
    public init() {}

    public func check(_ system: SystemSnapshot) -> [Finding] {
        let dropped = system.firewall.verdicts.filter { $0.question == .ping && $0.answer == .dropped }
        guard !dropped.isEmpty else { return [] }
        var evidence: [Evidence] = []
        evidence += FirewallSupport.evidence(dropped, what: "ICMP echo requests are dropped")
        evidence += FirewallSupport.activation(system, dropped)
        return [finding(
            message: "The firewall restored at boot, \(FirewallSupport.names(system, dropped)), drops ICMP echo requests (\(FirewallSupport.families(dropped))).",
            atBoot: "After boot the machine does not answer ping, so monitoring and a provider's checks report it down even when SSH works.",
            evidence: evidence, actions: FirewallSupport.actions(dropped))]
    }
}
