import Parsers
import Plan
import SystemModel

/// `gateway-unreachable`: a gateway lies outside every on-link prefix of the
/// interface it is configured on, and nothing marks it on-link.
public struct GatewayUnreachable: Rule {
    public static let id = "gateway-unreachable"
    public init() {}

    public func check(_ system: SystemSnapshot) -> [Finding] {
        let claims = system.persistedClaims
        var findings: [Finding] = []
        for claim in claims where !claim.isLoopback {
            // NetworkManager adds a host route to an off-link gateway itself.
            if claim.stack == .networkManager { continue }
            if claim.stack == .ifcfg && system.units.startsAtBoot("NetworkManager.service") != nil { continue }
            for route in claim.routes where !route.onLink {
                guard let gwText = route.gateway, let gw = IPAddress(gwText), !gw.isLinkLocal, !gw.isUnspecified else { continue }
                if claim.stack == .ifupdown && ifupdownAddsOnlink(system) { continue }
                // Every address of the device counts: aliases share their base device.
                let device = claim.baseDevice
                let peers = claims.filter { device != nil && $0.baseDevice == device && $0.stack == claim.stack }
                let onLink = (peers.isEmpty ? [claim] : peers).flatMap(\.addresses).filter { ($0.family == .ipv6) == gw.isV6 }
                // DHCP or SLAAC brings a prefix we cannot see.
                let dynamic = (peers.isEmpty ? [claim] : peers).contains { gw.isV6 ? $0.dhcp6 : $0.dhcp4 }
                if dynamic || onLink.isEmpty { continue }
                // A route on the link to the gateway itself (`[Route] Destination=GW`
                // without a gateway, the usual /32 layout), or an `[Address] Peer=GW`.
                let linkRoutes = (peers.isEmpty ? [claim] : peers).flatMap(\.routes).filter { $0.gateway == nil && !$0.isDefault }
                if linkRoutes.contains(where: { r in
                    let split = IPText.split(r.destination)
                    guard split.valid, let dest = IPAddress(split.address), dest.isV6 == gw.isV6 else { return false }
                    return dest.sharesPrefix(with: gw, length: split.prefix ?? (gw.isV6 ? 128 : 32))
                }) { continue }
                if onLink.contains(where: { a in
                    guard let ip = IPAddress(a.address) else { return true }
                    // A pointopoint peer or an address without a length: no claim.
                    guard let len = a.prefixLength else { return true }
                    return ip.sharesPrefix(with: gw, length: len)
                }) { continue }
                findings.append(report(claim, route: route, gateway: gw, onLink: onLink))
            }
        }
        return findings
    }

    /// Debian's ifupdown adds `onlink` to the routes of `gateway` lines
    /// since 0.8 (2016); ifupdown2 and older ifupdown do not.
    private func ifupdownAddsOnlink(_ system: SystemSnapshot) -> Bool {
        guard let v = system.packages.package("ifupdown")?.version, system.packages.hasFiles("ifupdown") else { return false }
        return DebianVersion.isAtLeast(v, "0.8")
    }

    private func report(_ claim: InterfaceClaim, route: RouteFact, gateway: IPAddress, onLink: [AddressFact]) -> Finding {
        let prefixes = onLink.map { "\($0.address)/\($0.prefixLength ?? 0)" }
        var evidence = [Evidence(route.source, note: "gateway \(gateway.text) (\(claim.stack.rawValue))")]
        evidence += onLink.map { Evidence($0.source, note: "on-link prefix \($0.address)/\($0.prefixLength ?? 0)") }
        return finding(
            message: "The gateway \(gateway.text) of \(claim.displayName) is outside its on-link prefixes (\(prefixes.joined(separator: ", "))) and is not marked on-link.",
            atBoot: "The kernel refuses the route (\"Nexthop has invalid gateway\"), so \(claim.displayName) comes up without a default route and the machine is unreachable from other networks.",
            evidence: evidence, actions: fix(claim, route: route, gateway: gateway))
    }

    /// Marks the route on-link in the stack's own syntax, which is what
    /// providers with /32 addressing document; a person checks the gateway.
    private func fix(_ claim: InterfaceClaim, route: RouteFact, gateway: IPAddress) -> [ProposedAction] {
        let path = route.source.location.path
        let line = route.source.location.line
        switch claim.stack {
        case .networkd where Text.trimmed(route.source.text).hasPrefix("Gateway="):
            // A [Network] Gateway= cannot carry the flag: move it into a [Route] section.
            return [ProposedAction(.editLines(path: path, edits: [.delete(line: line)]),
                                   "Remove the [Network] Gateway= line from \(path)"),
                    ProposedAction(.appendBlock(path: path, lines: ["", "[Route]", "Gateway=\(gateway.text)", "GatewayOnLink=yes"]),
                                   "Add the gateway as an on-link [Route] in \(path)")]
        case .ifupdown:
            // The method's own `gateway` route runs before any `up` line, so
            // it cannot be rescued by a host route: replace it by both routes.
            let device = claim.baseDevice ?? claim.displayName
            let family = gateway.isV6 ? "-6 " : ""
            let metric = route.metric.map { " metric \($0)" } ?? ""
            return [ProposedAction(.editLines(path: path, edits: [.replace(line: line, with: [
                "    up ip \(family)route add \(gateway.text) dev \(device)",
                "    up ip \(family)route add default via \(gateway.text) dev \(device)\(metric)"])]),
                "Replace the gateway line in \(path) by a host route to \(gateway.text) on \(device) and a default route through it")]
        default:
            return [ProposedAction(.manual(description: "Check the gateway \(gateway.text): correct it to an address inside the interface's prefix, or mark the route on-link (netplan `on-link: true`, networkd `GatewayOnLink=yes`).",
                                           commands: ["${EDITOR:-vi} \(rootPath(path))   # line \(line)"]),
                                   "Correct the gateway of \(claim.displayName) or mark it on-link")]
        }
    }
}
