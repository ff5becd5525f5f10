import Parsers
import Plan
import SystemModel

/// `firewall-blocks-loopback`: the firewall restored at boot drops traffic on lo.
public struct FirewallBlocksLoopback: Rule {
    public static let id = "firewall-blocks-loopback"
    public init() {}

    public func check(_ system: SystemSnapshot) -> [Finding] {
        let dropped = system.firewall.verdicts.filter { $0.question == .loopback && $0.answer == .dropped }
        guard !dropped.isEmpty else { return [] }
        // Services bound to the loopback address of a family whose loopback traffic is dropped.
        var bound: [Evidence] = []
        for v in dropped {
            let ports = Set(FirewallModel.loopbackPorts(system.listeners, v.family))
            for l in system.listeners.listeners where l.port.map({ ports.contains($0) }) ?? false {
                guard let a = l.address, !system.listeners.resolve(a.trimmingBrackets).filter({ v.family == .ipv4 ? $0.hasPrefix("127.") : $0 == "::1" }).isEmpty else { continue }
                for line in [l.addressSource, l.source].compactMap({ $0 }) where line.location.line > 0 {
                    let e = Evidence(line, note: "\(l.service) listens on \(a):\(l.port ?? 0)")
                    if !bound.contains(e) { bound.append(e) }
                }
            }
        }
        var evidence: [Evidence] = []
        // Name the port only when a service listens there; otherwise it is just some port no rule names.
        let listening = Set(dropped.flatMap { FirewallModel.loopbackPorts(system.listeners, $0.family) })
        let ports = Array(Set(dropped.compactMap(\.port)).intersection(listening)).sorted().map(String.init)
        evidence += FirewallSupport.evidence(dropped, what: ports.isEmpty ? "loopback traffic is dropped"
                                                : "loopback traffic (tcp to port \(ports.joined(separator: ", "))) is dropped")
        evidence += bound
        evidence += FirewallSupport.activation(system, dropped)
        let services = Array(Set(bound.compactMap { $0.note?.split(separator: " ").first.map(String.init) })).sorted()
        let message = "The firewall restored at boot, \(FirewallSupport.names(system, dropped)), has no rule that accepts traffic on lo and drops it (\(FirewallSupport.families(dropped)))."
            + (services.isEmpty ? "" : " \(services.joined(separator: ", ")) listen\(services.count == 1 ? "s" : "") on the loopback address.")
        let atBoot = bound.isEmpty
            ? "After boot local programs cannot talk to each other over 127.0.0.1, and the kernel logs the dropped loopback packets."
            : "After boot \(services.joined(separator: ", ")) on 127.0.0.1 cannot be reached by the programs that use \(services.count == 1 ? "it" : "them"): mail is deferred and the firewall logs dropped loopback packets."
        return [finding(bound.isEmpty ? .high : .critical, message: message, atBoot: atBoot, evidence: evidence,
                        actions: FirewallSupport.actions(dropped))]
    }
}

extension String {
    var trimmingBrackets: String {
        var s = Substring(self)
        if s.first == "[" { s = s.dropFirst() }
        if s.last == "]" { s = s.dropLast() }
        return String(s)
    }
}
