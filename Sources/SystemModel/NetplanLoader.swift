import Parsers
import TargetAccess

/// One netplan YAML file as netplan found it.
public struct NetplanFileInfo: Hashable, Sendable {
    /// The target path read.
    public var path: String
    /// Files of the same name in lower-precedence directories that this one hides.
    public var shadows: [String]
    public var version: Located<Int>?
    public var renderer: Located<String>?
    /// False when `netplan generate` refuses this file (and so the whole configuration).
    public var accepted: Bool
    /// The device IDs it defines, in file order.
    public var deviceIDs: [String]
}

/// The netplan configuration of a target: every YAML file merged as
/// `netplan generate` merges them, and the interface claims it makes.
public struct NetplanConfig: Sendable {
    /// Target paths of the files read, in merge order (lexical by file name).
    public var files: [String] = []
    public var fileInfo: [NetplanFileInfo] = []
    /// The global `network.renderer` that wins (the last file that sets it);
    /// nil means netplan's default, networkd.
    public var renderer: Located<String>?
    /// Devices after merging every file, in order of first definition.
    public var devices: [NetplanDevice] = []
    /// One claim per device, stack `.netplan`.
    public var claims: [InterfaceClaim] = []
    public var issues: [NetplanIssue] = []
    /// Whether the target has netplan's generator (then a rejected file
    /// means no netplan-made network configuration at boot at all).
    public var netplanInstalled = false
    /// The netplan release on the target, when its package database says.
    public var version: NetplanVersion?

    public var diagnostics: [Diagnostic] { issues.map(\.diagnostic) }

    /// The renderer in effect globally: `renderer`, else `networkd`.
    public var effectiveRenderer: String { renderer?.value ?? "networkd" }

    /// False when netplan generate would refuse the configuration: it then
    /// writes nothing, and `claims` describe what was meant, not what boots.
    public var isAccepted: Bool { !issues.contains { $0.rejectedByNetplan } }

    /// The issues graded by their effect at boot: netplan generates nothing
    /// when one file is bad, so a rejected file costs the whole netplan
    /// network, if netplan is installed to generate it.
    public var configDiagnostics: [ConfigDiagnostic] {
        issues.map { issue in
            let impact: DiagnosticImpact = issue.rejectedByNetplan && netplanInstalled ? .bootNetworkRejected : .tolerated
            return ConfigDiagnostic(issue.diagnostic, format: "netplan", impact: impact)
        }
    }
}

/// Reads the netplan configuration through the confined `TargetRoot`, as
/// netplan 0.106 does:
/// - every `*.yaml` (not starting with `.`) in `/lib/netplan`, `/etc/netplan`
///   and `/run/netplan`; a file in `/run` hides one of the same name in
///   `/etc`, which hides one in `/lib`;
/// - the files that remain are merged in lexical (byte) order of their names,
///   whatever directory they are in; see `NetplanDevice.merge` for how.
public enum NetplanLoader {
    /// Lowest precedence first.
    public static let directories = ["/lib/netplan", "/etc/netplan", "/run/netplan"]

    /// Where Debian and Ubuntu put the generator that runs at boot: the
    /// systemd generator link and the binary it points at.
    public static let generatorPaths = [
        "/lib/systemd/system-generators/netplan", "/usr/lib/systemd/system-generators/netplan",
        "/usr/libexec/netplan/generate", "/lib/netplan/generate", "/usr/lib/netplan/generate", "/usr/sbin/netplan",
    ]

    /// `packages` names the netplan release installed on the target: the
    /// keys it knows are the ones that count (see `NetplanParser.parse`).
    public static func load(_ root: TargetRoot, packages: PackageDatabase = .none) -> NetplanConfig {
        load(root, version: installedVersion(packages))
    }

    /// The netplan release the package database names (netplan.io, else its library).
    public static func installedVersion(_ packages: PackageDatabase) -> NetplanVersion? {
        ["netplan.io", "libnetplan1", "libnetplan0"].lazy
            .compactMap { packages.package($0).flatMap { $0.filesPresent ? $0.version : nil } }
            .compactMap { NetplanVersion(debianVersion: $0) }.first
    }

    /// Reads the configuration as netplan `version` would (nil: the newest known).
    public static func load(_ root: TargetRoot, version: NetplanVersion?) -> NetplanConfig {
        var config = NetplanConfig()
        config.netplanInstalled = generatorPaths.contains { root.exists($0) }
        config.version = version

        // name → (winning path, paths it hides)
        var chosen: [String: (path: String, shadows: [String])] = [:]
        for dir in directories {
            guard let entries = root.listFollowing(dir) else { continue }
            for e in entries where e.name.hasSuffix(".yaml") && !e.name.hasPrefix(".") && e.kind != .directory {
                let path = dir + "/" + e.name
                var shadows = chosen[e.name].map { $0.shadows + [$0.path] } ?? []
                shadows.sort()
                chosen[e.name] = (path, shadows)
            }
        }
        let names = chosen.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }

        var byID: [String: Int] = [:]
        var ports: Set<String> = []
        for name in names {
            guard let (path, shadows) = chosen[name] else { continue }
            let parsed: NetplanFile
            switch root.read(path) {
            case .file(let f):
                parsed = NetplanParser.parse(f.bytes, path: path, version: config.version)
            case .missing:
                continue  // a dangling symlink: glob finds it, netplan cannot open it either
            case .skipped(let why):
                let d = Diagnostic(SourceLocation(path: path, line: 0), text: "", message: "\(path) was not read: \(why).")
                config.issues.append(NetplanIssue(diagnostic: d, rejectedByNetplan: false))
                config.files.append(path)
                continue
            }
            config.files.append(path)
            config.issues += parsed.issues
            if let r = parsed.renderer { config.renderer = r }
            config.fileInfo.append(NetplanFileInfo(path: path, shadows: shadows, version: parsed.version,
                                                   renderer: parsed.renderer, accepted: parsed.isAccepted,
                                                   deviceIDs: parsed.devices.map(\.id)))
            for device in parsed.devices {
                if let i = byID[device.id] {
                    if config.devices[i].type != device.type {
                        let s = device.source
                        let d = Diagnostic(s.location, text: s.text,
                                           message: "'\(device.id)' is already defined as \(config.devices[i].type.rawValue) in \(config.devices[i].source.location); netplan refuses to change a device's type.")
                        config.issues.append(NetplanIssue(diagnostic: d, rejectedByNetplan: true))
                        continue
                    }
                    config.devices[i].merge(device)
                } else {
                    byID[device.id] = config.devices.count
                    config.devices.append(device)
                }
            }
            // netplan resolves the IDs a file refers to (a VLAN's link, a
            // bond's, bridge's or VRF's interfaces) once the file is read,
            // among the devices of this file and the ones before it; one it
            // cannot find stops it ("interface 'x' is not defined").
            ports.formUnion(parsed.definedPorts)
            if parsed.isAccepted {
                config.issues += undefinedReferences(parsed.devices, known: ports.union(byID.keys))
            }
        }
        // netplan's validation refuses an Open vSwitch device when
        // /usr/bin/ovs-vsctl is missing (validation.c, OPENVSWITCH_OVS_VSCTL);
        // at boot the generator runs on this root, so it is this root's file.
        if let ovs = config.devices.first(where: { $0.openVSwitch != nil }), let s = ovs.openVSwitch,
           !root.exists("/usr/bin/ovs-vsctl") {
            let d = Diagnostic(s.location, text: s.text,
                               message: "\(ovs.id): netplan requires the 'ovs-vsctl' tool (package openvswitch-switch) to set up Open vSwitch interfaces, and /usr/bin/ovs-vsctl is not on this system.")
            config.issues.append(NetplanIssue(diagnostic: d, rejectedByNetplan: true))
        }
        // A VRF's members route through its table, not the main one.
        var vrfTables: [String: Int] = [:]
        for d in config.devices where d.type == .vrfs {
            guard let t = d.table?.value else { continue }
            vrfTables[d.id] = t
            for m in d.interfaces { vrfTables[m.value] = t }
        }
        config.claims = config.devices.map { claim($0, globalRenderer: config.renderer?.value, vrfTable: vrfTables[$0.id]) }
        return config
    }

    static func undefinedReferences(_ devices: [NetplanDevice], known: Set<String>) -> [NetplanIssue] {
        var out: [NetplanIssue] = []
        for d in devices {
            var refs: [Located<String>] = []
            if d.type == .vlans || d.type == .ethernets, let l = d.link { refs.append(l) }
            if [.bonds, .bridges, .vrfs].contains(d.type) { refs += d.interfaces }
            for r in refs where !known.contains(r.value) {
                let diag = Diagnostic(r.source.location, text: r.source.text,
                                      message: "\(d.id): interface '\(r.value)' is not defined; netplan refuses the whole configuration.")
                out.append(NetplanIssue(diagnostic: diag, rejectedByNetplan: true))
            }
        }
        return out
    }

    static func claim(_ d: NetplanDevice, globalRenderer: String?, vrfTable: Int? = nil) -> InterfaceClaim {
        var match: InterfaceMatch?
        if let m = d.match {
            match = InterfaceMatch(names: m.name.map { [$0.value] } ?? [], macAddress: m.macAddress?.value,
                                   driver: m.drivers.first?.value)
        }
        let addresses = d.addresses.map {
            AddressFact(family: $0.isIPv6 ? .ipv6 : .ipv4, address: $0.address, prefixLength: $0.prefixLength,
                        label: $0.label, source: $0.source)
        }
        var routes: [RouteFact] = []
        if let g = d.gateway4 {
            routes.append(RouteFact(family: .ipv4, destination: "default", gateway: g.value, metric: nil, table: vrfTable, source: g.source))
        }
        if let g = d.gateway6 {
            routes.append(RouteFact(family: .ipv6, destination: "default", gateway: g.value, metric: nil, table: vrfTable, source: g.source))
        }
        for r in d.routes {
            routes.append(RouteFact(family: r.isIPv6 ? .ipv6 : .ipv4, destination: r.isDefault ? "default" : (r.to ?? ""),
                                    gateway: r.via, metric: r.metric, table: r.table ?? vrfTable, onLink: r.onLink, source: r.source))
        }
        return InterfaceClaim(
            stack: .netplan,
            // With `match`, the ID is only a label; the match picks the interface.
            name: d.match == nil ? d.id : nil,
            match: match,
            setName: d.setName?.value,
            macAddress: d.macAddress?.value,
            kind: d.type.kind,
            // netplan configures every device it defines; `optional` only
            // stops boot from waiting for it (see NetplanDevice.optional).
            autostart: true,
            dhcp4: d.dhcp4?.value ?? false,
            dhcp6: d.dhcp6?.value ?? false,
            addresses: addresses,
            routes: routes,
            nameservers: d.nameservers,
            renderer: d.renderer?.value ?? globalRenderer ?? "networkd",
            source: d.source)
    }
}
