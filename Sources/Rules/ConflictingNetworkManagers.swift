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
        for p in firstConflicts(system, claims) {
            let pair = [claims[p.i].stack.rawValue, claims[p.j].stack.rawValue].sorted()
            seen.insert("\(p.name)|\(pair)")
            findings.append(report(system, name: p.name, claims[p.i], claims[p.j]))
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

    /// One finding per interface and pair of stacks: the first pair of claims
    /// (in claim order) that configure it from two stacks, unless NetworkManager
    /// leaves it alone. The claims are indexed by device name (and the few
    /// match-only claims checked against each name), so this stays linear in
    /// the number of claims; the result is what comparing every pair gives.
    private func firstConflicts(_ system: SystemSnapshot, _ claims: [InterfaceClaim]) -> [(i: Int, j: Int, name: String)] {
        struct Key: Hashable { var name: String; var low: NetworkStack; var high: NetworkStack }
        func key(_ name: String, _ x: NetworkStack, _ y: NetworkStack) -> Key {
            x.rawValue < y.rawValue ? Key(name: name, low: x, high: y) : Key(name: name, low: y, high: x)
        }
        // Claim indices (ascending) by device name and stack; claims with only a match.
        var named: [String: [NetworkStack: [Int]]] = [:]
        var nameOrder: [String] = []
        var matchOnly: [Int] = []
        for (i, c) in claims.enumerated() {
            if let n = c.baseDevice {
                if named[n] == nil { nameOrder.append(n) }
                named[n, default: [:]][c.stack, default: []].append(i)
            } else if c.effectiveName == nil {
                matchOnly.append(i)
            }
        }
        var first: [Key: (i: Int, j: Int)] = [:]
        func offer(_ k: Key, _ i: Int, _ j: Int) {
            if let f = first[k], (f.i, f.j) <= (i, j) { return }
            first[k] = (i, j)
        }
        // Two named claims of the same device from two stacks.
        for name in nameOrder {
            guard let byStack = named[name], byStack.count > 1 else { continue }
            let stacks = byStack.keys.sorted { $0.rawValue < $1.rawValue }
            for (x, sx) in stacks.enumerated() {
                for sy in stacks[(x + 1)...] {
                    guard let xs = byStack[sx], let ys = byStack[sy] else { continue }
                    // Merged in claim order: the first i with a later j of the other stack that counts.
                    var bestI = Int.max
                    var bestJ = Int.max
                    for (mine, other) in [(xs, ys), (ys, xs)] {
                        for i in mine {
                            if i > bestI { break }
                            // The first index of `other` after i.
                            var lo = 0, hi = other.count
                            while lo < hi { let mid = (lo + hi) / 2; if other[mid] <= i { lo = mid + 1 } else { hi = mid } }
                            var found = false
                            for j in other[lo...] {
                                if (i, j) >= (bestI, bestJ) { break }
                                if !leavesAlone(system, claims[i], claims[j], name) { bestI = i; bestJ = j; found = true; break }
                            }
                            if found { break }
                        }
                    }
                    if bestI != Int.max { offer(key(name, sx, sy), bestI, bestJ) }
                }
            }
        }
        // A named claim and a claim that matches its name.
        for m in matchOnly {
            let b = claims[m]
            for name in nameOrder where b.covers(name) {
                guard let byStack = named[name] else { continue }
                for (stack, indices) in byStack where stack != b.stack {
                    for n in indices {
                        let (i, j) = n < m ? (n, m) : (m, n)
                        if let f = first[key(name, stack, b.stack)], (f.i, f.j) <= (i, j) { break }
                        if !leavesAlone(system, claims[i], claims[j], name) { offer(key(name, stack, b.stack), i, j); break }
                    }
                }
            }
        }
        return first.map { (i: $0.value.i, j: $0.value.j, name: $0.key.name) }.sorted { ($0.i, $0.j) < ($1.i, $1.j) }
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
