import Glibc
import Parsers
import TargetAccess

/// Questions several rules ask about the network the target brings up at boot.
extension SystemSnapshot {
    /// What the snapshot knows about one stack; nil when it has no files at all.
    public func status(of stack: NetworkStack) -> StackStatus? { stacks.first { $0.stack == stack } }

    /// Whether the claim's stack has the software to act on it: its package
    /// is not known to be missing (a netplan claim also needs netplan.io).
    public func stackCanAct(_ claim: InterfaceClaim) -> Bool {
        if claim.stack == .netplan && !(netplan.netplanInstalled || units.netplanGenerator != nil) { return false }
        return status(of: claim.stack)?.installed != false
    }

    /// The persisted configuration that brings interfaces up at boot: claims
    /// marked to start at boot (auto, ONBOOT, autoconnect...) of stacks whose
    /// software is on the target. Whether the stack's service is enabled is a
    /// separate question (`network-service-disabled`).
    public var persistedClaims: [InterfaceClaim] { claims.filter { $0.autostart && stackCanAct($0) } }

    /// udev's rule from the ifupdown package, which runs `ifup@IFACE.service`
    /// for `allow-hotplug` interfaces when their card appears, whether or not
    /// networking.service is enabled (seen in a qemu boot of Debian 12,
    /// docs/boot-checks.md). Nil when absent or masked in /etc.
    public var ifupdownHotplugRule: String? { hotplugRule }

    static func findHotplugRule(_ root: TargetRoot, initSystem: InitSystem, units: UnitEnablement) -> String? {
        guard initSystem.kind == .systemd, units.isMasked("ifup@.service") == nil else { return nil }
        for p in ["/etc/udev/rules.d/80-ifupdown.rules", "/usr/lib/udev/rules.d/80-ifupdown.rules", "/lib/udev/rules.d/80-ifupdown.rules"] {
            guard let info = root.lstat(p) else { continue }
            if p.hasPrefix("/etc/") && (info.linkTarget == "/dev/null" || root.bytes(p)?.isEmpty == true) { return nil }
            return p
        }
        return nil
    }

    /// An `allow-hotplug` interface that udev brings up through ifup@.service.
    public func ifupdownHotplugStarts(_ name: String) -> Bool {
        guard ifupdownHotplugRule != nil, let c = ifupdown else { return false }
        let base = name.split(separator: ":").first.map(String.init) ?? name
        return c.hotplugInterfaces.contains { $0.value == name || $0.value == base }
    }

    /// Claims of stacks that are installed and started at boot.
    public var activeClaims: [InterfaceClaim] {
        claims.filter { c in
            guard c.autostart, stackCanAct(c) else { return false }
            // netplan hands its claims to the renderer's daemon.
            if c.stack == .netplan {
                let renderer = c.renderer ?? netplan.effectiveRenderer
                return renderer == "NetworkManager" ? units.startsAtBoot("NetworkManager.service") != nil
                    : status(of: .networkd)?.startsAtBoot ?? false
            }
            if c.stack == .ifupdown, let name = c.name, ifupdownHotplugStarts(name) { return true }
            return status(of: c.stack)?.startsAtBoot ?? false
        }
    }
}

extension InterfaceClaim {
    /// The loopback device (`lo`, or the loopback method).
    public var isLoopback: Bool { kind == "loopback" || name == "lo" || effectiveName == "lo" }

    /// A .network file systemd ships for containers and tunnels
    /// (/usr/lib/systemd/network/80-container-host0.network...): it applies
    /// when networkd runs, but it is not anyone's configuration of this machine.
    public var isVendorDefault: Bool {
        let p = source.location.path
        return stack == .networkd && (p.hasPrefix("/usr/lib/") || p.hasPrefix("/lib/"))
    }

    /// The kernel device an alias (`eth0:1`) or VLAN lives on: the part
    /// before the colon.
    public var baseDevice: String? {
        guard let n = effectiveName else { return nil }
        return n.split(separator: ":", maxSplits: 1).first.map(String.init) ?? n
    }

    /// What a person calls it in a message: the name, or the match it uses.
    public var displayName: String {
        if let n = effectiveName { return n }
        if let m = match {
            var parts: [String] = []
            if !m.names.isEmpty { parts.append("name " + m.names.joined(separator: " ")) }
            if let mac = m.macAddress { parts.append("MAC " + mac) }
            if let d = m.driver { parts.append("driver " + d) }
            if !parts.isEmpty { return "(match " + parts.joined(separator: ", ") + ")" }
        }
        return "(unnamed)"
    }

    /// Whether this claim applies to the interface called `name`: by name,
    /// or by a name glob of its match.
    public func covers(_ name: String) -> Bool {
        if let n = effectiveName { return n == name }
        guard let m = match, !m.names.isEmpty, m.macAddress == nil, m.driver == nil else { return false }
        var matched = false
        for pattern in m.names {
            if pattern.hasPrefix("!") {
                if fnmatch(String(pattern.dropFirst()), name, 0) == 0 { return false }
            } else if fnmatch(pattern, name, 0) == 0 {
                matched = true
            }
        }
        return matched
    }
}
