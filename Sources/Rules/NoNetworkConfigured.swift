import Parsers
import Plan
import SystemModel
import TargetAccess

/// `no-network-configured`: no stack configures any interface but lo for boot.
public struct NoNetworkConfigured: Rule {
    public static let id = "no-network-configured"
    public init() {}

    public func check(_ system: SystemSnapshot) -> [Finding] {
        // Configuration that a missing or disabled service would apply is
        // `network-service-disabled`'s business, not ours.
        let any = system.claims.filter { $0.autostart && !$0.isLoopback && !$0.isVendorDefault }
        guard any.isEmpty else { return [] }
        // A configuration the tool refuses, or a file we could not read, is
        // reported by config-syntax-error and config-file-unreadable: the
        // network is configured there, only broken.
        if system.diagnostics.contains(where: { $0.impact == .bootNetworkRejected }) { return [] }
        let networkDirs = ["/etc/network/", "/etc/netplan/", "/etc/systemd/network/", "/etc/sysconfig/network-scripts/", "/etc/NetworkManager/"]
        if system.skippedReads.contains(where: { s in networkDirs.contains { (s.path + "/").hasPrefix($0) } }) { return [] }
        if nmAutoConnects(system) || cloudInitWritesNetwork(system) != nil { return [] }

        var evidence: [Evidence] = []
        let files = system.stacks.flatMap(\.files)
        evidence.append(.fact(system.ifupdown?.mainPath ?? "/etc/network/interfaces",
                              files.isEmpty ? "no network configuration file was found (ifupdown, netplan, networkd, ifcfg, NetworkManager)"
                                  : "read: " + files.joined(separator: ", ") + "; none brings up an interface other than lo at boot"))
        let notAuto = system.claims.filter { !$0.autostart && !$0.isLoopback }
        evidence += notAuto.prefix(4).map { Evidence($0.source, note: "\($0.displayName) is configured but not brought up at boot") }
        if system.units.unitFile("NetworkManager.service") != nil {
            evidence.append(.fact("/etc/NetworkManager/NetworkManager.conf", nmWhy(system)))
        }
        let plan = fix(system)
        return [finding(
            message: "No network stack brings up any interface other than lo at boot." + (notAuto.isEmpty ? "" : " \(notAuto.map(\.displayName).joined(separator: ", ")) \(notAuto.count == 1 ? "is" : "are") configured but not marked to start at boot."),
            atBoot: "The machine boots with no address on any network interface and cannot be reached.",
            evidence: evidence + plan.evidence, actions: plan.actions)]
    }

    /// NetworkManager, when it runs, makes a DHCP connection for every
    /// Ethernet device without one, unless `no-auto-default` says not to.
    private func nmAutoConnects(_ system: SystemSnapshot) -> Bool {
        guard system.units.startsAtBoot("NetworkManager.service") != nil else { return false }
        return !system.networkManager.noAutoDefault.contains { $0.value == "*" }
    }

    private func nmWhy(_ system: SystemSnapshot) -> String {
        if system.units.startsAtBoot("NetworkManager.service") == nil { return "NetworkManager is installed but not enabled" }
        return "NetworkManager makes no automatic connections: no-auto-default=*"
    }

    /// cloud-init, when it runs and is not told otherwise, writes the
    /// datasource's network configuration, or DHCP on the first NIC, at boot.
    private func cloudInitWritesNetwork(_ system: SystemSnapshot) -> String? {
        system.cloudInit.rendersAtNextBoot ? system.cloudInit.summary : nil
    }

    private struct Plan {
        var actions: [ProposedAction] = []
        var evidence: [Evidence] = []
    }

    /// A minimal DHCP configuration for the stack the target uses, as a
    /// provider's network helper writes it.
    private func fix(_ system: SystemSnapshot) -> Plan {
        var plan = Plan()
        // With the hardware known, the names the cards will have at the next boot.
        var names: [String] = []
        if let hardware = system.environment.hardware {
            let finals = system.naming.bootNames(of: hardware)
            names = finals.map(\.name)
            if !finals.isEmpty {
                plan.evidence.append(.fact("/sys/class/net", "network cards on this machine and their names at the next boot: "
                                           + finals.map { "\($0.nic.currentName) -> \($0.name)" }.joined(separator: ", ")))
            }
        }
        let netplanInstalled = system.netplan.netplanInstalled || system.units.netplanGenerator != nil
        let networkdUnit = system.units.unitFile("systemd-networkd.service") != nil
        let nmUnit = system.units.unitFile("NetworkManager.service") != nil

        if netplanInstalled {
            var lines = ["# Written by rescue-audit: DHCP on the Ethernet interfaces.", "network:", "  version: 2", "  ethernets:"]
            if names.isEmpty {
                for (id, glob) in [("all-en", "en*"), ("all-eth", "eth*")] {
                    lines += ["    \(id):", "      match:", "        name: \"\(glob)\"", "      dhcp4: true", "      dhcp6: true"]
                }
            } else {
                for n in names { lines += ["    \(yamlKey(n)):", "      dhcp4: true", "      dhcp6: true"] }
            }
            plan.actions.append(ProposedAction(.createFile(path: "/etc/netplan/90-rescue-audit-dhcp.yaml", lines: lines, mode: 0o600),
                                               "Write /etc/netplan/90-rescue-audit-dhcp.yaml: DHCP on \(names.isEmpty ? "en* and eth*" : names.joined(separator: ", "))"))
            return plan
        }
        if system.ifupdownManagesNetwork || system.packages.hasFiles("ifupdown"), !names.isEmpty {
            var lines = [""]
            for n in names { lines += ["# Written by rescue-audit: DHCP on \(n).", "allow-hotplug \(n)", "iface \(n) inet dhcp", ""] }
            let path = system.ifupdown?.mainPath ?? "/etc/network/interfaces"
            plan.actions.append(ProposedAction(.appendBlock(path: path, lines: lines), "Add DHCP stanzas for \(names.joined(separator: ", ")) to \(path)"))
            plan.actions += enable(system, "networking.service")
            return plan
        }
        if nmUnit && !networkdUnit || nmUnit && system.status(of: .networkManager) != nil {
            let id = "rescue-audit-dhcp"
            let lines = ["[connection]", "id=\(id)", "uuid=\(uuid(for: id))", "type=ethernet", "autoconnect=true",
                         "", "[ipv4]", "method=auto", "", "[ipv6]", "method=auto"]
            plan.actions.append(ProposedAction(.createFile(path: "/etc/NetworkManager/system-connections/\(id).nmconnection", lines: lines, mode: 0o600),
                                               "Write a NetworkManager connection that uses DHCP on any Ethernet interface"))
            plan.actions += enable(system, "NetworkManager.service")
            return plan
        }
        if networkdUnit {
            let match = names.isEmpty ? "en* eth*" : names.joined(separator: " ")
            let lines = ["# Written by rescue-audit: DHCP on the Ethernet interfaces.", "[Match]", "Name=\(match)", "", "[Network]", "DHCP=yes"]
            plan.actions.append(ProposedAction(.createFile(path: "/etc/systemd/network/90-rescue-audit-dhcp.network", lines: lines, mode: 0o644),
                                               "Write /etc/systemd/network/90-rescue-audit-dhcp.network: DHCP on \(match)"))
            plan.actions += enable(system, "systemd-networkd.service")
            return plan
        }
        plan.actions.append(ProposedAction(.manual(
            description: "Configure the primary network interface with the network software the target has (no netplan, networkd or NetworkManager was found, and the interface name is not known).",
            commands: ["ls /sys/class/net", "${EDITOR:-vi} \"$ROOT/etc/network/interfaces\""]), "Configure the network interface by hand"))
        return plan
    }

    private func enable(_ system: SystemSnapshot, _ unit: String) -> [ProposedAction] {
        guard system.units.startsAtBoot(unit) == nil, system.units.isMasked(unit) == nil else { return [] }
        let links = system.units.enableLinks(for: unit)
        guard !links.isEmpty else { return [] }
        return [ProposedAction(.enableUnit(unit: unit, links: links.map { SymlinkSpec(path: $0.linkPath, target: $0.target) }), "Enable \(unit)")]
    }

    /// netplan ids are YAML keys; quote anything unusual.
    private func yamlKey(_ name: String) -> String {
        name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." } ? name : "\"" + name.replacing("\"", with: "") + "\""
    }

    /// A stable version-4-shaped UUID, so the plan is the same on every run.
    private func uuid(for seed: String) -> String {
        var c = Array(sha256Hex(Array(seed.utf8)).prefix(32))
        c[12] = "4"
        c[16] = ["8", "9", "a", "b"][Int(String(c[16]), radix: 16)! & 3]
        return String(c[0..<8]) + "-" + String(c[8..<12]) + "-" + String(c[12..<16]) + "-" + String(c[16..<20]) + "-" + String(c[20..<32])
    }
}
