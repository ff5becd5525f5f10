import Glibc
import Parsers
import TargetAccess

/// A `[Match]` section of a `.network` or `.link` file.
public struct NetworkdMatch: Hashable, Sendable {
    /// `Name=` globs that must match (any of them); empty means any name.
    public var names: [String] = []
    /// Globs from `Name=!...` assignments: none of them may match.
    public var excludedNames: [String] = []
    /// `.link` files' `OriginalName=` globs (matched like `names`).
    public var originalNames: [String] = []
    public var macAddresses: [String] = []
    public var drivers: [String] = []
    public var types: [String] = []
    /// `Kind=` globs (a virtual device's kind; `!*` means a physical one).
    public var kinds: [String] = []
    /// Link properties we cannot evaluate on an audited disk (`Path=`,
    /// `Property=`, `SSID=`, `BSSID=`, `WLANInterfaceType=`), as `Key=value`.
    public var unevaluated: [String] = []
    /// Conditions on the machine (`Host=`, `Virtualization=`,
    /// `KernelCommandLine=`...): they make the section non-empty, and are not
    /// evaluated (a match that names an interface still does).
    public var conditions: [String] = []
    public var source: SourceLine?

    /// True when the section sets nothing: a `.network` is then ignored by
    /// networkd (since v246; "To match all interfaces, add Name=*"). Any
    /// match or condition counts (systemd's net_match_is_empty and
    /// `!network->conditions`, src/network/networkd-network.c).
    public var isEmpty: Bool {
        names.isEmpty && excludedNames.isEmpty && originalNames.isEmpty && macAddresses.isEmpty
            && drivers.isEmpty && types.isEmpty && kinds.isEmpty && unevaluated.isEmpty && conditions.isEmpty
    }

    /// Whether a link with these properties matches. A property the match
    /// tests but the caller does not know (nil) does not match: we only
    /// claim what we can show.
    /// `kind` nil is a physical device (no IFLA_INFO_KIND). A property we
    /// cannot evaluate never matches.
    public func matches(name: String, mac: String? = nil, driver: String? = nil, type: String? = nil, kind: String? = nil) -> Bool {
        if !unevaluated.isEmpty { return false }
        if !kinds.isEmpty {
            // systemd's net_condition_test_strv: any positive pattern must match, no `!` pattern may.
            let positive = kinds.filter { !$0.hasPrefix("!") }
            let negative = kinds.filter { $0.hasPrefix("!") }.map { String($0.dropFirst()) }
            if let kind {
                if negative.contains(where: { glob($0, kind) }) { return false }
                if !positive.isEmpty && !positive.contains(where: { glob($0, kind) }) { return false }
            } else if !positive.isEmpty {
                return false
            }
        }
        if !names.isEmpty && !names.contains(where: { glob($0, name) }) { return false }
        if excludedNames.contains(where: { glob($0, name) }) { return false }
        if !originalNames.isEmpty && !originalNames.contains(where: { glob($0, name) }) { return false }
        if !macAddresses.isEmpty {
            guard let mac, macAddresses.contains(where: { $0.lowercased() == mac.lowercased() }) else { return false }
        }
        if !drivers.isEmpty {
            guard let driver, drivers.contains(where: { glob($0, driver) }) else { return false }
        }
        if !types.isEmpty {
            guard let type, types.contains(where: { glob($0, type) }) else { return false }
        }
        return true
    }

    /// The one interface name the match selects, when it is a plain name.
    public var exactName: String? {
        guard names.count == 1, let n = names.first, !n.contains(where: { "*?[".contains($0) }) else { return nil }
        return n
    }

    /// As the shared model writes it: names with `!` negations.
    public var interfaceMatch: InterfaceMatch {
        InterfaceMatch(names: names + excludedNames.map { "!" + $0 }, macAddress: macAddresses.first,
                       driver: drivers.first, type: types.first)
    }

    private func glob(_ pattern: String, _ s: String) -> Bool { fnmatch(pattern, s, 0) == 0 }

    /// Reads `[Match]` with systemd's list rules: each assignment adds
    /// blank-separated words, a leading `!` negates that assignment's words,
    /// an empty assignment resets the list.
    static func parse(_ unit: UnitFile) -> NetworkdMatch {
        var m = NetworkdMatch()
        m.source = unit.all("Match").first?.source
        for section in unit.all("Match") {
            for e in section.entries {
                let value = e.value
                let negated = value.hasPrefix("!")
                let words = Text.words(negated ? String(value.dropFirst()) : value).map(String.init)
                switch e.key {
                case "Name":
                    if value.isEmpty { m.names = []; m.excludedNames = [] } else if negated { m.excludedNames += words } else { m.names += words }
                case "OriginalName": m.originalNames = value.isEmpty ? [] : m.originalNames + words
                case "MACAddress", "PermanentMACAddress": m.macAddresses = value.isEmpty ? [] : m.macAddresses + words
                case "Driver": m.drivers = value.isEmpty ? [] : m.drivers + words
                case "Type": m.types = value.isEmpty ? [] : m.types + words
                case "Kind": m.kinds = value.isEmpty ? [] : m.kinds + words.map { negated ? "!" + $0 : $0 }
                case "Path", "Property", "SSID", "BSSID", "WLANInterfaceType":
                    if value.isEmpty { m.unevaluated.removeAll { $0.hasPrefix(e.key + "=") } } else { m.unevaluated.append(e.key + "=" + value) }
                case "Host", "Virtualization", "KernelCommandLine", "KernelVersion", "Architecture", "Firmware", "Credential":
                    m.conditions.append(e.key + "=" + value)
                default: break
                }
            }
        }
        return m
    }
}

/// A `.network` file with its drop-ins applied.
public struct NetworkFile: Sendable {
    public var path: String
    public var dropIns: [String]
    public var unit: UnitFile
    public var match: NetworkdMatch
    /// What it configures on the links it matches.
    public var claim: InterfaceClaim
}

/// A `.link` file (applied by udev when a link appears): how it is named and
/// what MAC address it gets. First match wins, as for `.network` files.
public struct LinkFile: Sendable {
    public var path: String
    public var dropIns: [String]
    public var match: NetworkdMatch
    /// `[Link] Name=`.
    public var name: Located<String>?
    /// `[Link] NamePolicy=` words, in order (`kernel database onboard slot path mac keep`).
    public var namePolicy: [Located<String>]
    public var macAddressPolicy: Located<String>?
}

/// A `.netdev` file: a virtual device networkd creates.
public struct NetDevFile: Sendable {
    public var path: String
    public var dropIns: [String]
    public var name: Located<String>?
    /// `bond`, `bridge`, `vlan`, `wireguard`...
    public var kind: Located<String>?
}

/// systemd-networkd's configuration of a target.
public struct NetworkdConfig: Sendable {
    /// Every file read (main files and drop-ins), as target paths.
    public var files: [String] = []
    /// In networkd's order: sorted by file name across directories.
    public var networkFiles: [NetworkFile] = []
    public var linkFiles: [LinkFile] = []
    public var netdevFiles: [NetDevFile] = []
    /// Files (and drop-ins) masked by a symlink to /dev/null or by being empty.
    public var masked: [String] = []
    /// Files hidden by one of the same name in a higher-precedence directory: (hidden, winner).
    public var shadowed: [(hidden: String, by: String)] = []
    public var diagnostics: [Diagnostic] = []
    /// One claim per `.network` file networkd uses, stack `.networkd`.
    public var claims: [InterfaceClaim] { networkFiles.map(\.claim) }

    /// networkd drops what it cannot read (a line, or a whole file) and goes on.
    public var configDiagnostics: [ConfigDiagnostic] {
        diagnostics.map { ConfigDiagnostic($0, format: "systemd-networkd", impact: .partIgnored) }
    }

    /// The `.network` file networkd applies to a link: the first, in file
    /// name order, whose `[Match]` matches.
    public func networkFile(for name: String, mac: String? = nil, driver: String? = nil, type: String? = nil) -> NetworkFile? {
        networkFiles.first { $0.match.matches(name: name, mac: mac, driver: driver, type: type) }
    }

    /// The `.link` file udev applies to a link, by its kernel name.
    public func linkFile(for originalName: String, mac: String? = nil, driver: String? = nil, type: String? = nil) -> LinkFile? {
        linkFiles.first { $0.match.matches(name: originalName, mac: mac, driver: driver, type: type) }
    }
}

/// Reads systemd-networkd's files through the confined `TargetRoot`:
/// - `.network`, `.link` and `.netdev` in `/etc/systemd/network`,
///   `/run/systemd/network`, `/usr/local/lib/systemd/network`,
///   `/usr/lib/systemd/network` and `/lib/systemd/network`, highest
///   precedence first; a file hides those of the same name after it;
/// - a file that is a symlink to `/dev/null`, or empty, is masked: it and
///   every file of its name below it are ignored;
/// - drop-ins `NAME.d/*.conf` from all those directories (same rules of
///   hiding and masking), applied in lexical order of their names;
/// - all files are used in lexical order of their names, whatever the directory.
public enum NetworkdLoader {
    public static let directories = [
        "/etc/systemd/network", "/run/systemd/network", "/usr/local/lib/systemd/network",
        "/usr/lib/systemd/network", "/lib/systemd/network",
    ]

    public static func load(_ root: TargetRoot) -> NetworkdConfig {
        var config = NetworkdConfig()
        let mains = collect(root, directories, suffixes: [".network", ".link", ".netdev"], into: &config)
        for (name, path) in mains {
            guard var unit = read(root, path, into: &config) else { continue }
            let dropInDirs = directories.map { $0 + "/" + name + ".d" }
            let dropIns = collect(root, dropInDirs, suffixes: [".conf"], into: &config)
            var dropInPaths: [String] = []
            for (_, dropPath) in dropIns {
                guard let d = read(root, dropPath, into: &config) else { continue }
                unit = unit.applying(d)
                dropInPaths.append(dropPath)
            }
            if unit.rejected {
                // conf-parser failed: networkd drops the file as if absent.
                continue
            }
            let match = NetworkdMatch.parse(unit)
            if name.hasSuffix(".network") {
                if match.isEmpty {
                    let s = match.source ?? SourceLine(path: path, line: 0, text: "")
                    config.diagnostics.append(Diagnostic(s.location, text: s.text,
                        message: "No [Match] setting: networkd ignores this file (to match every link, write Name=*)."))
                    continue
                }
                let claim = claim(unit, path: path, match: match, diagnostics: &config.diagnostics)
                config.networkFiles.append(NetworkFile(path: path, dropIns: dropInPaths, unit: unit, match: match, claim: claim))
            } else if name.hasSuffix(".link") {
                let policy = unit.values("Link", "NamePolicy").flatMap { e in
                    Text.words(e.value).map { Located(String($0), e.source) }
                }
                config.linkFiles.append(LinkFile(path: path, dropIns: dropInPaths, match: match,
                                                 name: located(unit.value("Link", "Name")), namePolicy: policy,
                                                 macAddressPolicy: located(unit.value("Link", "MACAddressPolicy"))))
            } else {
                config.netdevFiles.append(NetDevFile(path: path, dropIns: dropInPaths,
                                                     name: located(unit.value("NetDev", "Name")),
                                                     kind: located(unit.value("NetDev", "Kind"))))
            }
        }
        // A .network for a device networkd creates claims that device's kind.
        for i in config.networkFiles.indices {
            guard let n = config.networkFiles[i].match.exactName,
                  let kind = config.netdevFiles.first(where: { $0.name?.value == n })?.kind?.value else { continue }
            config.networkFiles[i].claim.kind = kind
        }
        return config
    }

    private static func located(_ e: UnitEntry?) -> Located<String>? { e.map { Located($0.value, $0.source) } }

    /// The files with one of `suffixes` in `dirs` (highest precedence
    /// first), one per name, masked ones left out; sorted by name.
    static func collect(_ root: TargetRoot, _ dirs: [String], suffixes: [String],
                        into config: inout NetworkdConfig) -> [(name: String, path: String)] {
        var winner: [String: String] = [:]
        var maskedNames: Set<String> = []
        for dir in dirs {
            guard let entries = root.listFollowing(dir) else { continue }
            for e in entries where suffixes.contains(where: { e.name.hasSuffix($0) }) && e.kind != .directory {
                let path = dir + "/" + e.name
                if let w = winner[e.name] {
                    // On merged-/usr systems /lib is /usr/lib: the same file twice is not shadowing.
                    if !sameFile(root, w, path) { config.shadowed.append((path, w)) }
                    continue
                }
                winner[e.name] = path
                if isMasked(root, path) {
                    maskedNames.insert(e.name)
                    config.masked.append(path)
                }
            }
        }
        return winner.filter { !maskedNames.contains($0.key) }
            .map { (name: $0.key, path: $0.value) }
            .sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    }

    private static func sameFile(_ root: TargetRoot, _ a: String, _ b: String) -> Bool {
        guard let x = root.stat(a), let y = root.stat(b) else { return false }
        return x.device == y.device && x.inode == y.inode
    }

    /// systemd masks with a symlink to /dev/null, or an empty file.
    static func isMasked(_ root: TargetRoot, _ path: String) -> Bool {
        if let info = root.lstat(path), info.kind == .symlink, info.linkTarget == "/dev/null" { return true }
        if let s = root.stat(path), s.kind == .regular, s.size == 0 { return true }
        return false
    }

    private static func read(_ root: TargetRoot, _ path: String, into config: inout NetworkdConfig) -> UnitFile? {
        guard let bytes = root.readConfig(path, files: &config.files, diagnostics: &config.diagnostics) else { return nil }
        let unit = SystemdUnitParser.parse(bytes, path: path)
        config.diagnostics += unit.diagnostics
        return unit
    }

    /// systemd's booleans.
    static func bool(_ s: String) -> Bool? {
        switch s.lowercased() {
        case "1", "yes", "y", "true", "t", "on": true
        case "0", "no", "n", "false", "f", "off": false
        default: nil
        }
    }

    static func claim(_ unit: UnitFile, path: String, match: NetworkdMatch, diagnostics: inout [Diagnostic]) -> InterfaceClaim {
        var dhcp4 = false, dhcp6 = false
        if let d = unit.value("Network", "DHCP") {
            switch d.value.lowercased() {
            case "ipv4": dhcp4 = true
            case "ipv6": dhcp6 = true
            case "both": dhcp4 = true; dhcp6 = true
            default:
                if bool(d.value) == true { dhcp4 = true; dhcp6 = true }
            }
        }
        var addresses: [AddressFact] = []
        func address(_ e: UnitEntry) {
            let split = IPText.split(e.value)
            guard split.valid else {
                diagnostics.append(Diagnostic(e.source.location, text: e.source.text,
                                              message: "Invalid address '\(e.value)'; networkd ignores it."))
                return
            }
            addresses.append(AddressFact(family: e.value.contains(":") ? .ipv6 : .ipv4, address: split.address,
                                         prefixLength: split.prefix, source: e.source))
        }
        unit.values("Network", "Address").forEach(address)
        var routes: [RouteFact] = []
        for g in unit.values("Network", "Gateway") {
            routes.append(RouteFact(family: g.value.contains(":") ? .ipv6 : .ipv4, destination: "default",
                                    gateway: g.value, metric: nil, source: g.source))
        }
        for section in unit.sections {
            let one = UnitFile(path: path, sections: [section])
            switch section.name {
            case "Address":
                if let a = one.value("Address", "Address") { address(a) }
                // `Peer=`: a point-to-point address; the kernel adds a route to the
                // peer on the link, so the peer is reachable as a gateway.
                if let p = one.value("Address", "Peer"), IPText.split(p.value).valid {
                    routes.append(RouteFact(family: p.value.contains(":") ? .ipv6 : .ipv4, destination: p.value,
                                            gateway: nil, metric: nil, source: p.source))
                }
            case "Route":
                let gw = one.value("Route", "Gateway")?.value
                let dest = one.value("Route", "Destination")?.value
                let isDefault = dest == nil || ["0.0.0.0/0", "::/0", "0/0"].contains(dest ?? "")
                let v6 = (dest ?? gw ?? "").contains(":")
                routes.append(RouteFact(
                    family: v6 ? .ipv6 : .ipv4, destination: isDefault ? "default" : (dest ?? ""), gateway: gw,
                    metric: one.value("Route", "Metric").flatMap { Int($0.value) },
                    table: one.value("Route", "Table").flatMap { Int($0.value) },
                    onLink: one.value("Route", "GatewayOnLink").flatMap { bool($0.value) } ?? false,
                    source: section.source))
            default: break
            }
        }
        let dns = unit.values("Network", "DNS").flatMap { e in
            Text.words(e.value).map { Located(String($0), e.source) }
        }
        return InterfaceClaim(
            stack: .networkd, name: match.exactName, match: match.interfaceMatch, kind: "ethernet",
            // networkd configures every matching link whenever it runs; whether
            // it runs at boot is the unit's business, not this file's.
            autostart: true, dhcp4: dhcp4, dhcp6: dhcp6, addresses: addresses, routes: routes, nameservers: dns,
            source: match.source ?? SourceLine(path: path, line: 0, text: ""))
    }
}

extension UnitFile {
    init(path: String, sections: [UnitSection]) {
        self.init(path: path)
        self.sections = sections
    }
}
