import Parsers
import Plan
import SystemModel

/// `conflicting-network-managers`: two stacks configure the same interface at boot.
public struct ConflictingNetworkManagers: Rule {
    public static let id = "conflicting-network-managers"
    public init() {}

    public func check(_ system: SystemSnapshot) -> [Finding] {
        let claims = system.activeClaims.filter { !$0.isLoopback }
        var findings: [Finding] = []
        var seen: Set<String> = []
        for (i, a) in claims.enumerated() {
            for b in claims[(i + 1)...] where a.stack != b.stack {
                guard let name = sharedInterface(a, b), !leavesAlone(system, a, b, name) else { continue }
                let pair = [a.stack.rawValue, b.stack.rawValue].sorted()
                guard seen.insert("\(name)|\(pair)").inserted else { continue }
                findings.append(report(system, name: name, a, b))
            }
        }
        // RHEL: the legacy network service and NetworkManager both bring up ifcfg interfaces.
        if system.units.startsAtBoot("network.service") != nil, system.units.startsAtBoot("NetworkManager.service") != nil {
            for i in system.ifcfg.interfaces where i.aliasOf == nil && i.claim.autostart && i.nmControlled?.value != false && i.device != "lo" {
                guard seen.insert("\(i.device)|ifcfg-nm").inserted else { continue }
                findings.append(finding(
                    message: "\(i.device) is brought up both by the legacy network service and by NetworkManager (NM_CONTROLLED is not `no` in \(i.path)).",
                    atBoot: "Both services configure \(i.device) at boot; whichever runs second flushes or re-adds its addresses, and ifup reports failure.",
                    evidence: [Evidence(i.claim.source, note: "ONBOOT=yes, NM_CONTROLLED unset or yes"),
                               .fact("/etc/systemd/system", "network.service and NetworkManager.service are both enabled")],
                    actions: [ProposedAction(.manual(description: "Let one service own \(i.device): set NM_CONTROLLED=no in \(i.path), or disable network.service.",
                                                     commands: ["${EDITOR:-vi} \(path: i.path)"]),
                                             "Let one service own \(i.device)")]))
            }
        }
        return findings
    }

    /// The interface both claims configure: the same name, or one's name under the other's match.
    private func sharedInterface(_ a: InterfaceClaim, _ b: InterfaceClaim) -> String? {
        if let an = a.baseDevice, let bn = b.baseDevice, an == bn { return an }
        if let an = a.baseDevice, a.effectiveName != nil, b.effectiveName == nil, b.covers(an) { return an }
        if let bn = b.baseDevice, b.effectiveName != nil, a.effectiveName == nil, a.covers(bn) { return bn }
        return nil
    }

    /// NetworkManager leaves an interface alone when it is unmanaged, or when
    /// its ifupdown plugin (with `managed=false`, the default) sees it in
    /// /etc/network/interfaces.
    private func leavesAlone(_ system: SystemSnapshot, _ a: InterfaceClaim, _ b: InterfaceClaim, _ name: String) -> Bool {
        let stacks = Set([a.stack, b.stack])
        guard stacks.contains(.networkManager) else {
            // netplan with the NetworkManager renderer hands its claim to NetworkManager.
            return false
        }
        let nm = system.networkManager
        if nm.isUnmanaged(name: name, mac: a.macAddress ?? b.macAddress) { return true }
        if stacks.contains(.ifupdown), nm.pluginNames?.contains("ifupdown") == true, nm.ifupdownManaged?.value != true { return true }
        // NetworkManager reads ifcfg files itself (ifcfg-rh): one connection, not two managers.
        if stacks.contains(.ifcfg) { return true }
        if stacks.contains(.netplan), (a.stack == .netplan ? a : b).renderer ?? system.netplan.effectiveRenderer == "NetworkManager" { return true }
        return false
    }

    private func report(_ system: SystemSnapshot, name: String, _ a: InterfaceClaim, _ b: InterfaceClaim) -> Finding {
        let reasons = [a.stack, b.stack].compactMap { s in system.status(of: s).map { "\(s.rawValue): \($0.reason)" } }
        var evidence = [Evidence(a.source, note: "\(a.stack.rawValue) configures \(a.displayName)"),
                        Evidence(b.source, note: "\(b.stack.rawValue) configures \(b.displayName)")]
        evidence += reasons.map { Evidence.fact("/etc/systemd/system", $0) }
        if Set([a.stack, b.stack]).contains(.networkManager), let m = system.networkManager.ifupdownManaged, m.value {
            evidence.append(Evidence(m.source, note: "[ifupdown] managed=true: NetworkManager takes over ifupdown's interfaces"))
        }
        return finding(
            message: "\(name) is configured at boot by both \(a.stack.rawValue) and \(b.stack.rawValue).",
            atBoot: "Both bring \(name) up: the second flushes or duplicates the first one's addresses and routes, and which configuration wins depends on start order.",
            evidence: evidence,
            actions: [ProposedAction(.manual(description: "Choose the stack that owns \(name) and remove its configuration from the other (move the file aside or delete the stanza).",
                                             commands: [a.source.location.path, b.source.location.path].map { "${EDITOR:-vi} \(path: $0)" }),
                                     "Let one stack own \(name)")])
    }
}
