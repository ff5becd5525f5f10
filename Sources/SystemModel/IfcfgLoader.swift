import Parsers
import TargetAccess

/// One `ifcfg-*` file as initscripts (and NetworkManager's ifcfg-rh plugin) reads it.
public struct IfcfgInterface: Sendable {
    public var path: String
    public var file: IfcfgFile
    /// `DEVICE`, else the file name after `ifcfg-`.
    public var device: String
    /// Set for alias files (`ifcfg-eth0:0`): the parent device, `eth0`.
    public var aliasOf: String?
    /// `NM_CONTROLLED`: nil when unset (NetworkManager then manages it).
    public var nmControlled: Located<Bool>?
    /// The `route-`/`route6-` files read for this interface.
    public var routeFiles: [String]
    /// What it configures; for an alias, what it adds to its parent's claim.
    public var claim: InterfaceClaim
}

/// The facts of `/etc/sysconfig/network`.
public struct SysconfigNetwork: Sendable {
    public var path: String
    /// `NETWORKING`; `no` makes the network service bring nothing up.
    public var networking: Located<Bool>?
    public var gateway: Located<String>?
    public var gatewayDevice: Located<String>?
    public var ipv6DefaultGateway: Located<String>?
}

/// The RHEL/Fedora ifcfg configuration of a target.
public struct IfcfgConfig: Sendable {
    /// Every file read, as target paths.
    public var files: [String] = []
    /// Interfaces in the order the network service brings them up (aliases after their parent).
    public var interfaces: [IfcfgInterface] = []
    public var network: SysconfigNetwork?
    /// Files initscripts ignores by name (`*~`, `*.bak`, `*.rpmsave`...).
    public var ignoredFiles: [String] = []
    public var diagnostics: [Diagnostic] = []

    /// False when `/etc/sysconfig/network` says `NETWORKING=no`.
    public var networkingEnabled: Bool { network?.networking?.value ?? true }

    /// One claim per interface file (aliases folded into their parent's
    /// claim), stack `.ifcfg`. With `NETWORKING=no` every claim's
    /// `autostart` is false: the network service exits before ifup.
    public var claims: [InterfaceClaim] { interfaces.filter { $0.aliasOf == nil }.map(\.claim) }

    /// Problems only initscripts' ifup has (a GATEWAY outside the subnet:
    /// NetworkManager's ifcfg-rh plugin adds the host route itself).
    public var initscriptsOnlyDiagnostics: [Diagnostic] = []
    /// Set by the snapshot when NetworkManager, not the network service, reads these files at boot.
    public var readByNetworkManager = false

    /// initscripts sources the files: a line sh cannot read is skipped, the rest applies.
    public var configDiagnostics: [ConfigDiagnostic] {
        (diagnostics + (readByNetworkManager ? [] : initscriptsOnlyDiagnostics))
            .map { ConfigDiagnostic($0, format: "ifcfg", impact: .partIgnored) }
    }

    public func interface(named name: String) -> IfcfgInterface? {
        interfaces.first { $0.aliasOf == nil && $0.device == name }
    }
}

/// Reads RHEL/Fedora network-scripts configuration through the confined
/// `TargetRoot`, as initscripts 9.x/10.x does:
/// - `ifcfg-*` in `/etc/sysconfig/network-scripts`, except names ending in
///   `~`, `.bak`, `.old`, `.orig`, `.rpmnew`, `.rpmorig`, `.rpmsave`
///   (`__sed_discard_ignored_files`) and `ifcfg-*-range` files;
/// - `ONBOOT` is yes unless it says no (the network service skips only
///   `ONBOOT=no`); `ifcfg-lo` is always brought up;
/// - alias files `ifcfg-DEV:N` are brought up with their parent (unless
///   `ONPARENT=no`); their addresses and gateway join the parent's claim
///   with the alias as label;
/// - `IPADDR`, `IPADDR0`, `IPADDR1`, `IPADDR2`... as `expand_config` reads
///   them: gaps are allowed before index 2, from there the first missing
///   index ends the list; `PREFIXn` wins over `NETMASKn`; neither means the
///   classful prefix `ipcalc` gives;
/// - the default route: `GATEWAY` from the ifcfg file, else the global one
///   from `/etc/sysconfig/network`, unless `DEFROUTE=no` or `GATEWAYDEV`
///   names another device. A global `GATEWAY` without `GATEWAYDEV` goes to
///   the first static interface (in bring-up order) whose first address's
///   subnet contains it, as ifup-eth's `ipcalc --network` check allows;
///   with `GATEWAYDEV` it goes to that device. `METRIC` is its metric.
///   With `BOOTPROTO=dhcp` the lease gives the default route: no static one;
/// - `route-DEV`/`route6-DEV` (and `route-CONFIG` when the file name differs
///   from `DEVICE`), in either format, see `IfcfgParser.parseRoutes`.
public enum IfcfgLoader {
    public static let directory = "/etc/sysconfig/network-scripts"
    public static let networkFile = "/etc/sysconfig/network"
    /// initscripts' `__sed_discard_ignored_files`.
    public static let ignoredSuffixes = ["~", ".bak", ".old", ".orig", ".rpmnew", ".rpmorig", ".rpmsave"]

    public static func load(_ root: TargetRoot) -> IfcfgConfig {
        var config = IfcfgConfig()
        if let f = read(root, networkFile, into: &config) {
            let file = IfcfgParser.parse(f, path: networkFile)
            config.diagnostics += file.diagnostics
            config.network = SysconfigNetwork(
                path: networkFile,
                networking: file.value("NETWORKING").map { Located(!file.isNo("NETWORKING"), $0.source) },
                gateway: file.value("GATEWAY"), gatewayDevice: file.value("GATEWAYDEV"),
                ipv6DefaultGateway: file.value("IPV6_DEFAULTGW"))
        }
        guard let entries = root.listFollowing(directory) else { return config }
        var parsed: [(config: String, path: String, file: IfcfgFile)] = []
        for e in entries where e.name.hasPrefix("ifcfg-") && e.kind != .directory {
            let path = directory + "/" + e.name
            if ignoredSuffixes.contains(where: { e.name.hasSuffix($0) }) || e.name.hasSuffix("-range") {
                config.ignoredFiles.append(path)
                continue
            }
            guard let bytes = read(root, path, into: &config) else { continue }
            let file = IfcfgParser.parse(bytes, path: path)
            config.diagnostics += file.diagnostics
            parsed.append((String(e.name.dropFirst(6)), path, file))
        }
        // The network service's order: `sort -k 1,1 -k 2n` after a space
        // before the first digit, so eth2 comes before eth10.
        parsed.sort { naturalKey($0.config) < naturalKey($1.config) }

        var mains: [IfcfgInterface] = []
        var aliases: [IfcfgInterface] = []
        for p in parsed {
            var iface = interface(root, configName: p.config, path: p.path, file: p.file, into: &config)
            if iface.device.contains(":") || p.config.contains(":") {
                let dev = iface.device.contains(":") ? iface.device : p.config
                iface.aliasOf = String(dev.prefix { $0 != ":" })
                aliases.append(iface)
            } else {
                mains.append(iface)
            }
        }
        applyGlobalGateway(&mains, config: &config)
        for alias in aliases {
            // The parent is found by its DEVICE, or by its file name (`ifcfg-eth0`
            // with DEVICE=ens3 is still the parent of `ifcfg-eth0:1`).
            guard let parent = alias.aliasOf,
                  let i = mains.firstIndex(where: { $0.device == parent }) ?? mains.firstIndex(where: { Self.configName($0.path) == parent }) else {
                let s = alias.claim.source
                config.diagnostics.append(Diagnostic(s.location, text: s.text,
                    message: "Alias \(alias.device) has no ifcfg-\(alias.aliasOf ?? "?") parent: ifup-aliases only runs when the parent comes up."))
                config.interfaces.append(alias)
                continue
            }
            if !alias.file.isNo("ONPARENT") {
                mains[i].claim.addresses += alias.claim.addresses
                mains[i].claim.routes += alias.claim.routes
            }
            config.interfaces.append(alias)
        }
        config.interfaces = mains + config.interfaces
        if !config.networkingEnabled {
            for i in config.interfaces.indices { config.interfaces[i].claim.autostart = false }
        }
        return config
    }

    /// `eth10` → ("eth", 10) as `sed 's/[0-9]/ &/' | sort -k 1,1 -k 2n` orders names.
    /// `ifcfg-eth0` → `eth0`.
    static func configName(_ path: String) -> String {
        let base = path.split(separator: "/").last.map(String.init) ?? path
        return base.hasPrefix("ifcfg-") ? String(base.dropFirst(6)) : base
    }

    static func naturalKey(_ name: String) -> NaturalKey {
        let head = String(name.prefix { !$0.isNumber })
        let rest = name.dropFirst(head.count)
        let digits = rest.prefix { $0.isNumber }
        return NaturalKey(head: head, number: Int(digits) ?? -1, tail: String(rest))
    }

    struct NaturalKey: Comparable {
        var head: String
        var number: Int
        var tail: String
        static func < (a: NaturalKey, b: NaturalKey) -> Bool {
            if a.head != b.head { return a.head.utf8.lexicographicallyPrecedes(b.head.utf8) }
            if a.number != b.number { return a.number < b.number }
            return a.tail.utf8.lexicographicallyPrecedes(b.tail.utf8)
        }
    }

    private static func read(_ root: TargetRoot, _ path: String, into config: inout IfcfgConfig) -> [UInt8]? {
        root.readConfig(path, files: &config.files, diagnostics: &config.diagnostics)
    }

    private static func interface(_ root: TargetRoot, configName: String, path: String, file: IfcfgFile,
                                  into config: inout IfcfgConfig) -> IfcfgInterface {
        var diags: [Diagnostic] = []
        func note(_ l: Located<String>, _ m: String) { diags.append(Diagnostic(l.location, text: l.source.text, message: m)) }
        let device = file.value("DEVICE")?.value ?? configName
        let fileSource = SourceLine(path: path, line: 0, text: "")
        let isAlias = device.contains(":") || configName.contains(":")

        let type = file.value("TYPE")?.value.lowercased()
        var kind: String
        switch type {
        case "bond": kind = "bond"
        case "bridge": kind = "bridge"
        case "vlan": kind = "vlan"
        case "wireless": kind = "wifi"
        case "team": kind = "team"
        case "infiniband": kind = "infiniband"
        case "ethernet", nil: kind = "ethernet"
        default: kind = type ?? "ethernet"
        }
        if file.isYes("VLAN") { kind = "vlan" }
        if file.value("BONDING_OPTS") != nil, type == nil { kind = "bond" }
        if device == "lo" { kind = "loopback" }

        let bootproto = file.value("BOOTPROTO")?.value.lowercased() ?? "none"
        let dhcp4 = bootproto == "dhcp" || bootproto == "bootp"

        // Addresses, as expand_config reads them.
        var addresses: [AddressFact] = []
        var firstSubnet: (address: String, prefix: Int)?
        for idx in [""] + (0...255).map(String.init) {
            guard let ip = file.value("IPADDR" + idx) else {
                if let n = Int(idx), n >= 2 { break }
                continue
            }
            guard IPText.isIP(ip.value, v6: false) else {
                note(ip, "IPADDR\(idx)=\(ip.value) is not an IPv4 address; ifup cannot configure it.")
                continue
            }
            var prefix: Int?
            if let p = file.value("PREFIX" + idx) {
                if let n = Int(p.value), (0...32).contains(n) { prefix = n } else { note(p, "PREFIX\(idx)=\(p.value) is not a prefix length (0-32).") }
            }
            if prefix == nil, let m = file.value("NETMASK" + idx) {
                prefix = IPv4.prefixLength(netmask: m.value)
                if prefix == nil { note(m, "NETMASK\(idx)=\(m.value) is not a valid netmask.") }
            }
            if prefix == nil { prefix = IPv4.classfulPrefix(ip.value) }
            if firstSubnet == nil, let prefix { firstSubnet = (ip.value, prefix) }
            addresses.append(AddressFact(family: .ipv4, address: ip.value, prefixLength: prefix,
                                         label: isAlias ? device : nil, source: ip.source))
        }
        for a in file.assignments where a.key.hasPrefix("IPADDR") && !a.value.isEmpty {
            // expand_config never looks past IPADDR255.
            guard let n = Int(a.key.dropFirst(6)), n > 2, n <= 255,
                  let gap = (2..<n).first(where: { file.value("IPADDR\($0)") == nil }) else { continue }
            diags.append(Diagnostic(a.source.location, text: a.source.text,
                message: "\(a.key) is never configured: initscripts stops at the first missing IPADDRn from IPADDR2 on (IPADDR\(gap))."))
        }

        var dhcp6 = false
        let ipv6 = file.isYes("IPV6INIT")
        if ipv6 {
            dhcp6 = file.isYes("DHCPV6C")
            var v6: [Located<String>] = []
            if let a = file.value("IPV6ADDR") { v6.append(a) }
            if let s = file.value("IPV6ADDR_SECONDARIES") {
                v6 += Text.words(s.value).map { Located(String($0), s.source) }
            }
            for a in v6 {
                let split = IPText.split(a.value)
                guard split.valid, a.value.contains(":") else {
                    note(a, "'\(a.value)' is not an IPv6 address; ifup-ipv6 cannot configure it.")
                    continue
                }
                addresses.append(AddressFact(family: .ipv6, address: split.address, prefixLength: split.prefix ?? 64, source: a.source))
            }
        }

        var routes: [RouteFact] = []
        let metric = file.value("METRIC").flatMap { Int($0.value) }
        let defroute = !file.isNo("DEFROUTE")
        let gatewayDevice = config.network?.gatewayDevice?.value
        let gatewayDevOK = gatewayDevice == nil || gatewayDevice == device
        if let gw = file.value("GATEWAY") {
            if !IPText.isIP(gw.value, v6: false) {
                note(gw, "GATEWAY=\(gw.value) is not an IPv4 address; no default route is added.")
            } else if defroute && gatewayDevOK && !dhcp4 {
                // With BOOTPROTO=dhcp the default route comes from the lease; ifup ignores GATEWAY.
                routes.append(RouteFact(family: .ipv4, destination: "default", gateway: gw.value, metric: metric, source: gw.source))
                if let s = firstSubnet, !IPv4.contains(network: s.address, prefix: s.prefix, gw.value) {
                    config.initscriptsOnlyDiagnostics.append(Diagnostic(gw.location, text: gw.source.text,
                        message: "GATEWAY=\(gw.value) is outside \(s.address)/\(s.prefix): initscripts' ifup adds no default route (NetworkManager does)."))
                }
            }
        }
        if ipv6, let gw6 = file.value("IPV6_DEFAULTGW") ?? config.network?.ipv6DefaultGateway {
            let addr = String(gw6.value.prefix { $0 != "%" })
            if IPText.isIP(addr, v6: true), defroute {
                routes.append(RouteFact(family: .ipv6, destination: "default", gateway: addr, metric: metric, source: gw6.source))
            } else if !IPText.isIP(addr, v6: true) {
                note(gw6, "IPV6_DEFAULTGW=\(gw6.value) is not an IPv6 address; no IPv6 default route is added.")
            }
        }

        var routeFiles: [String] = []
        if !isAlias {
            var names = [device]
            if configName != device { names.append(configName) }
            for name in names {
                for (prefix, v6) in [("route-", false), ("route6-", true)] {
                    let rpath = directory + "/" + prefix + name
                    guard let bytes = read(root, rpath, into: &config) else { continue }
                    routeFiles.append(rpath)
                    let r = IfcfgParser.parseRoutes(bytes, path: rpath, ipv6: v6)
                    diags += r.diagnostics
                    routes += r.routes.map {
                        RouteFact(family: v6 ? .ipv6 : .ipv4, destination: $0.destination, gateway: $0.gateway,
                                  metric: $0.metric, table: $0.table, onLink: $0.onLink, source: $0.source)
                    }
                }
            }
        }

        let dns = file.numbered("DNS").map(\.value)
        let onboot = !file.isNo("ONBOOT") || device == "lo"
        let hwaddr = file.value("HWADDR")?.value
        let nm = file.value("NM_CONTROLLED").map { Located(!file.isNo("NM_CONTROLLED"), $0.source) }
        config.diagnostics += diags

        let claim = InterfaceClaim(
            stack: .ifcfg, name: device,
            match: hwaddr.map { InterfaceMatch(names: [device], macAddress: $0) },
            macAddress: file.value("MACADDR")?.value, kind: kind, autostart: onboot, dhcp4: dhcp4, dhcp6: dhcp6,
            addresses: addresses, routes: routes, nameservers: dns,
            source: file.value("DEVICE")?.source ?? fileSource)
        return IfcfgInterface(path: path, file: file, device: device, aliasOf: nil, nmControlled: nm,
                              routeFiles: routeFiles, claim: claim)
    }

    /// The global GATEWAY of /etc/sysconfig/network, for the interfaces whose
    /// own file sets none.
    private static func applyGlobalGateway(_ mains: inout [IfcfgInterface], config: inout IfcfgConfig) {
        guard let gw = config.network?.gateway else { return }
        guard IPText.isIP(gw.value, v6: false) else {
            config.diagnostics.append(Diagnostic(gw.location, text: gw.source.text,
                                                 message: "GATEWAY=\(gw.value) is not an IPv4 address; no default route is added."))
            return
        }
        let candidates = mains.indices.filter { i in
            let f = mains[i].file
            return f.value("GATEWAY") == nil && !f.isNo("DEFROUTE") && mains[i].claim.kind != "loopback"
        }
        let chosen: Int?
        if let dev = config.network?.gatewayDevice?.value {
            chosen = candidates.first { mains[$0].device == dev }
        } else {
            chosen = candidates.first { i in
                guard !mains[i].claim.dhcp4, let a = mains[i].claim.addresses.first(where: { $0.family == .ipv4 }),
                      let p = a.prefixLength else { return false }
                return IPv4.contains(network: a.address, prefix: p, gw.value)
            }
        }
        guard let i = chosen else { return }
        let metric = mains[i].file.value("METRIC").flatMap { Int($0.value) }
        mains[i].claim.routes.insert(RouteFact(family: .ipv4, destination: "default", gateway: gw.value, metric: metric,
                                               source: gw.source), at: 0)
    }
}
