import Parsers

/// Whether one network stack will act at the next boot, and why we think so.
public struct StackStatus: Sendable {
    public var stack: NetworkStack
    /// It has configuration for at least one non-loopback interface.
    public var configured: Bool
    /// Its software is on the target (nil when no package database tells).
    public var installed: Bool?
    /// Something starts it at boot: an enabled unit, an rc link, a generator.
    public var startsAtBoot: Bool
    /// One sentence: which mechanism decides (for the evidence).
    public var reason: String
    /// The files that hold its configuration.
    public var files: [String]
    /// Its unit is enabled but cannot run: the `ExecStart=` program is gone.
    public var execFailure: ExecStartFailure? = nil

    /// It has configuration and will act on it at boot.
    public var inCharge: Bool { configured && startsAtBoot && installed != false }
}

extension SystemSnapshot {
    /// Works out, per stack, whether it is configured, installed and started at boot.
    static func stackStatus(_ s: SystemSnapshot) -> [StackStatus] {
        var out: [StackStatus] = []
        let systemd = s.initSystem.kind == .systemd
        func unit(_ name: String) -> (Bool, String) {
            if let m = s.units.isMasked(name) { return (false, "\(name) is masked (\(m.linkPath) -> /dev/null)") }
            if let e = s.units.startsAtBoot(name) {
                // Enabled, but a unit whose program is gone brings nothing up.
                if let f = s.units.execStartFailure(name) { return (false, "\(name) is enabled (\(e.linkPath)), but \(f.words)") }
                return (true, "\(name) is enabled (\(e.linkPath))")
            }
            if let e = s.units.isEnabled(name), let by = e.wantedBy {
                return (false, "\(name) is linked only from \(e.linkPath), and nothing started at boot wants \(by)")
            }
            return (false, "\(name) is not enabled (no link in /etc/systemd/system/*.wants)")
        }
        func installed(_ packages: [String]) -> Bool? {
            guard s.packages.isKnown else { return nil }
            return packages.contains { s.packages.hasFiles($0) }
        }

        // ifupdown: networking.service under systemd, the rc link under sysvinit.
        if let c = s.ifupdown {
            let configured = c.stanzas.contains { $0.method != "loopback" && $0.name != "lo" }
            var (starts, reason) = unit("networking.service")
            if !systemd {
                if let link = s.units.isEnabledSysV("networking") {
                    (starts, reason) = (true, "the networking init script starts from \(link.linkPath)")
                } else if s.units.sysvLinks.isEmpty {
                    (starts, reason) = (true, "no rc links were found; assuming the networking init script runs")
                } else {
                    (starts, reason) = (false, "no /etc/rc?.d/S??networking link starts the networking init script")
                }
            }
            let hotplug = c.hotplugInterfaces.map(\.value).filter { s.ifupdownHotplugStarts($0) && $0 != "lo" }
            // ifup@.service runs the same ifup: without it udev's hotplug path fails too.
            let ifupFailure = systemd ? s.units.execStartFailure("ifup@.service") : nil
            if let f = ifupFailure, !hotplug.isEmpty, !starts {
                reason += "; ifup@.service, which udev starts for the allow-hotplug interfaces, fails too: \(f.words)"
            }
            if !starts, ifupFailure == nil, !hotplug.isEmpty, let rule = s.ifupdownHotplugRule {
                (starts, reason) = (true, "\(reason); udev's \(rule) still brings up the allow-hotplug interfaces \(hotplug.joined(separator: ", ")) through ifup@.service")
            }
            out.append(StackStatus(stack: .ifupdown, configured: configured, installed: installed(["ifupdown", "ifupdown2"]),
                                   startsAtBoot: starts, reason: reason, files: c.files))
        }

        // netplan: its systemd generator writes networkd (or NetworkManager) configuration at boot.
        if !s.netplan.files.isEmpty {
            let gen = s.units.netplanGenerator
            out.append(StackStatus(
                stack: .netplan, configured: !s.netplan.claims.isEmpty,
                installed: s.netplan.netplanInstalled || gen != nil,
                startsAtBoot: gen != nil || s.netplan.netplanInstalled,
                reason: gen.map { "netplan's systemd generator \($0) runs at every boot" }
                    ?? (s.netplan.netplanInstalled ? "netplan.io is installed" : "netplan.io is not installed: nothing reads /etc/netplan"),
                files: s.netplan.files))
        }

        // networkd: its own unit, or netplan's generator pulling it in for a networkd renderer.
        let networkdFiles = s.networkd.networkFiles.map(\.path)
        if !networkdFiles.isEmpty || s.netplan.effectiveRenderer == "networkd" && !s.netplan.claims.isEmpty {
            var (starts, reason) = unit("systemd-networkd.service")
            if !starts, s.units.netplanGenerator != nil, s.netplan.effectiveRenderer == "networkd", !s.netplan.claims.isEmpty {
                if let f = s.units.execStartFailure("systemd-networkd.service") {
                    reason = "netplan's generator starts systemd-networkd for its configuration, but \(f.words)"
                } else {
                    (starts, reason) = (true, "netplan's generator starts systemd-networkd for its configuration")
                }
            }
            out.append(StackStatus(stack: .networkd, configured: !s.networkd.claims.isEmpty || !s.netplan.claims.isEmpty,
                                   installed: s.units.unitFile("systemd-networkd.service") != nil ? true
                                       : s.packages.isKnown ? ["systemd", "systemd-networkd", "systemd-sysv"].contains { s.packages.hasFiles($0) } : nil,
                                   startsAtBoot: starts, reason: reason, files: networkdFiles))
        }

        // NetworkManager: keyfiles, or ifcfg files through its ifcfg-rh plugin.
        let nmFiles = s.networkManager.connections.map(\.path)
        if !nmFiles.isEmpty {
            let (starts, reason) = unit("NetworkManager.service")
            out.append(StackStatus(stack: .networkManager, configured: !s.networkManager.claims.isEmpty,
                                   installed: installed(["network-manager", "NetworkManager"]) ?? (s.units.unitFile("NetworkManager.service") != nil),
                                   startsAtBoot: starts, reason: reason, files: nmFiles))
        }

        // ifcfg: the legacy network service, or NetworkManager reading them (RHEL 7-9).
        if !s.ifcfg.interfaces.isEmpty {
            let configured = s.ifcfg.claims.contains { $0.kind != "loopback" && $0.name != "lo" }
            var (starts, reason) = unit("network.service")
            if !starts, s.units.startsAtBoot("NetworkManager.service") != nil {
                if let f = s.units.execStartFailure("NetworkManager.service") {
                    reason = "NetworkManager is enabled and would read ifcfg files through its ifcfg-rh plugin, but \(f.words)"
                } else {
                    (starts, reason) = (true, "NetworkManager is enabled and reads ifcfg files through its ifcfg-rh plugin")
                }
            }
            if !s.ifcfg.networkingEnabled { (starts, reason) = (false, "NETWORKING=no in /etc/sysconfig/network") }
            out.append(StackStatus(stack: .ifcfg, configured: configured, installed: nil, startsAtBoot: starts,
                                   reason: reason, files: s.ifcfg.files))
        }
        // The unit each stack's service runs as, when it is enabled but its program is gone.
        for i in out.indices where !out[i].startsAtBoot && systemd {
            let unit: String? = switch out[i].stack {
            case .ifupdown: "networking.service"
            case .networkd: "systemd-networkd.service"
            case .networkManager: "NetworkManager.service"
            case .ifcfg: s.units.startsAtBoot("NetworkManager.service") != nil ? "NetworkManager.service" : "network.service"
            default: nil
            }
            if let unit, s.units.startsAtBoot(unit) != nil || out[i].stack == .networkd { out[i].execFailure = s.units.execStartFailure(unit) }
        }
        return out
    }
}
