import Parsers
import TargetAccess

/// One NetworkManager connection keyfile as NetworkManager reads it.
public struct NMConnectionFile: Sendable {
    public var path: String
    public var keyfile: KeyFile
    /// `connection.id`; NetworkManager uses the file name when it is missing.
    public var id: String
    /// `connection.uuid`; nil when missing (NetworkManager then derives one from the path).
    public var uuid: Located<String>?
    /// `connection.type`, normalised (`802-3-ethernet` → `ethernet`, `802-11-wireless` → `wifi`).
    public var type: String?
    public var interfaceName: Located<String>?
    /// `connection.autoconnect` (default true).
    public var autoconnect: Bool
    /// `connection.master`/`controller`: a port of a bond, bridge or team (no IP of its own).
    public var controller: Located<String>?
    /// `ipv4.method` (default `auto`).
    public var ipv4Method: String
    public var ipv6Method: String
    /// Why NetworkManager does not load the file (insecure permissions, a
    /// syntax error, no type); nil when it is loaded.
    public var ignoredBecause: String?
    /// What it configures, stack `.networkManager`.
    public var claim: InterfaceClaim
}

/// NetworkManager's configuration of a target: its daemon configuration
/// (`NetworkManager.conf` and `conf.d`) and its keyfile connections.
public struct NetworkManagerConfig: Sendable {
    /// Every file read, as target paths.
    public var files: [String] = []
    /// Daemon configuration files in the order NetworkManager merges them.
    public var confFiles: [String] = []
    /// `[main] plugins`, after `plugins+=`/`plugins-=` from later files; nil when never set
    /// (then the build's default applies: `ifcfg-rh` on RHEL, `ifupdown,keyfile` on Debian).
    public var plugins: [Located<String>]?
    /// `[ifupdown] managed`; nil means the default, false: NetworkManager leaves
    /// interfaces in /etc/network/interfaces alone.
    public var ifupdownManaged: Located<Bool>?
    /// `[keyfile] unmanaged-devices` specs (`interface-name:eth0`, `mac:...`, `type:...`).
    public var unmanagedDevices: [Located<String>] = []
    /// `[main] no-auto-default`: devices NetworkManager makes no automatic
    /// DHCP connection for (`*` for all).
    public var noAutoDefault: [Located<String>] = []
    /// Connections NetworkManager loads, one per UUID, in file-name order.
    public var connections: [NMConnectionFile] = []
    /// Files NetworkManager will not load (see `ignoredBecause`).
    public var ignored: [NMConnectionFile] = []
    /// Files hidden by another with the same UUID in a higher-precedence place: (hidden, winner).
    public var shadowed: [(hidden: String, by: String)] = []
    public var diagnostics: [Diagnostic] = []
    /// Diagnostics from daemon configuration files: NetworkManager refuses to start on them.
    public var confDiagnostics: [Diagnostic] = []

    /// One claim per loaded connection, stack `.networkManager`.
    public var claims: [InterfaceClaim] { connections.map(\.claim) }

    public var pluginNames: [String]? { plugins?.map(\.value) }

    /// A bad connection file loses that connection; a bad NetworkManager.conf
    /// keeps NetworkManager from starting at all.
    public var configDiagnostics: [ConfigDiagnostic] {
        confDiagnostics.map { ConfigDiagnostic($0, format: "NetworkManager.conf", impact: .bootNetworkRejected) }
            + diagnostics.map { ConfigDiagnostic($0, format: "NetworkManager keyfile", impact: .partIgnored) }
    }

    /// Whether `[keyfile] unmanaged-devices` names this interface (by name or MAC).
    public func isUnmanaged(name: String, mac: String? = nil) -> Bool {
        unmanagedDevices.contains { spec in
            let s = spec.value
            if s.hasPrefix("interface-name:") { return globMatch(String(s.dropFirst(15)).replacingTilde(), name) }
            if s.hasPrefix("mac:"), let mac { return s.dropFirst(4).lowercased() == mac.lowercased() }
            if s == "*" { return true }
            return false
        }
    }

    private func globMatch(_ pattern: String, _ s: String) -> Bool {
        // NM's interface-name specs accept `*` globs (and `=` for literal).
        if pattern.hasPrefix("=") { return String(pattern.dropFirst()) == s }
        if pattern.hasSuffix("*") { return s.hasPrefix(pattern.dropLast()) }
        return pattern == s
    }
}

extension String {
    fileprivate func replacingTilde() -> String { hasPrefix("~") ? String(dropFirst()) : self }
}

/// Reads NetworkManager's configuration through the confined `TargetRoot`,
/// as NetworkManager 1.2x-1.4x does:
/// - daemon configuration: `/usr/lib/NetworkManager/conf.d/*.conf`, then
///   `/run/NetworkManager/conf.d/*.conf`, then `/etc/NetworkManager/NetworkManager.conf`,
///   then `/etc/NetworkManager/conf.d/*.conf`; later files override earlier
///   ones key by key; a conf.d file hides those of the same name in a
///   lower directory (/etc over /run over /usr/lib); `key+=`/`key-=` add to
///   and remove from list values;
/// - connections: keyfiles in `/run/NetworkManager/system-connections`,
///   `/etc/NetworkManager/system-connections` and
///   `/usr/lib/NetworkManager/system-connections`. In /etc any file name is
///   read (for compatibility), elsewhere only `*.nmconnection`; hidden files,
///   `*~`, `*.swp`, `*.swpx`, `*.pem`, `*.der`, `*.nmmeta` and mkstemp
///   temporaries (`*.XXXXXX`) are skipped everywhere;
/// - a file not owned by root, or readable/writable by group or others, is
///   ignored ("insecure permissions");
/// - shadowing is by `connection.uuid`, not by file name: for one UUID the
///   file in /run wins over /etc over /usr/lib; in one directory the newest
///   file wins, then the first by name.
public enum NetworkManagerLoader {
    /// Highest precedence first, as NetworkManager ranks them.
    public static let connectionDirectories = [
        "/run/NetworkManager/system-connections", "/etc/NetworkManager/system-connections",
        "/usr/lib/NetworkManager/system-connections",
    ]
    public static let mainConf = "/etc/NetworkManager/NetworkManager.conf"
    /// Lowest precedence first.
    public static let confDirectories = [
        "/usr/lib/NetworkManager/conf.d", "/run/NetworkManager/conf.d", "/etc/NetworkManager/conf.d",
    ]

    public static func load(_ root: TargetRoot) -> NetworkManagerConfig {
        var config = NetworkManagerConfig()
        loadConf(root, into: &config)
        loadConnections(root, into: &config)
        return config
    }

    // MARK: - Daemon configuration

    private static func loadConf(_ root: TargetRoot, into config: inout NetworkManagerConfig) {
        var byName: [String: (rank: Int, path: String)] = [:]
        for (rank, dir) in confDirectories.enumerated() {
            for e in root.listFollowing(dir) ?? [] where e.name.hasSuffix(".conf") && !e.name.hasPrefix(".") && e.kind != .directory {
                byName[e.name] = (rank, dir + "/" + e.name)
            }
        }
        let dropIns = byName.values.sorted { a, b in
            a.rank != b.rank ? a.rank < b.rank : a.path.utf8.lexicographicallyPrecedes(b.path.utf8)
        }
        let before = dropIns.filter { $0.rank < 2 }.map(\.path)
        let after = dropIns.filter { $0.rank == 2 }.map(\.path)
        for path in before + [mainConf] + after {
            guard let bytes = read(root, path, into: &config) else { continue }
            config.confFiles.append(path)
            let kf = KeyFileParser.parse(bytes, path: path)
            config.confDiagnostics += kf.diagnostics
            if kf.rejected { continue }
            for e in kf.entries("main") {
                switch e.key {
                case "plugins": config.plugins = list(e)
                case "plugins+": config.plugins = (config.plugins ?? []) + list(e)
                case "no-auto-default": config.noAutoDefault = list(e)
                case "no-auto-default+": config.noAutoDefault += list(e)
                case "plugins-":
                    let drop = Set(list(e).map(\.value))
                    config.plugins = config.plugins?.filter { !drop.contains($0.value) }
                default: break
                }
            }
            if let m = kf.value("ifupdown", "managed") {
                if let b = KeyFileParser.bool(m.value) {
                    config.ifupdownManaged = Located(b, m.source)
                } else {
                    config.confDiagnostics.append(Diagnostic(m.source.location, text: m.source.text,
                        message: "[ifupdown] managed=\(m.value) is not a boolean."))
                }
            }
            for e in kf.entries("keyfile") {
                switch e.key {
                case "unmanaged-devices": config.unmanagedDevices = list(e)
                case "unmanaged-devices+": config.unmanagedDevices += list(e)
                case "unmanaged-devices-":
                    let drop = Set(list(e).map(\.value))
                    config.unmanagedDevices.removeAll { drop.contains($0.value) }
                default: break
                }
            }
        }
    }

    /// NetworkManager.conf lists take `;` or `,` between elements.
    private static func list(_ e: KeyFileEntry) -> [Located<String>] {
        KeyFileParser.list(e.value, separators: [";", ","]).map { Located($0, e.source) }
    }

    // MARK: - Connections

    /// NetworkManager's `nm_keyfile_utils_ignore_filename`.
    public static func ignoresFileName(_ name: String, requireExtension: Bool) -> Bool {
        if name.hasPrefix(".") { return true }
        if requireExtension { return !(name.count > 13 && name.hasSuffix(".nmconnection")) }
        if name.hasSuffix("~") { return true }
        let lower = name.lowercased()
        for tag in [".swp", ".swpx", ".pem", ".der", ".nmmeta"] where lower.count > tag.count && lower.hasSuffix(tag) {
            return true
        }
        if let dot = name.lastIndex(of: ".") {
            let suffix = name[name.index(after: dot)...]
            if suffix.count == 6 && suffix.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) { return true }
        }
        return false
    }

    private static func loadConnections(_ root: TargetRoot, into config: inout NetworkManagerConfig) {
        struct Candidate {
            var priority: Int
            var mtime: Int64
            var name: String
            var file: NMConnectionFile
        }
        var byUUID: [String: [Candidate]] = [:]
        var order: [String] = []
        for (priority, dir) in connectionDirectories.enumerated() {
            let isEtc = dir.hasPrefix("/etc/")
            for e in root.listFollowing(dir) ?? [] where e.kind != .directory {
                if ignoresFileName(e.name, requireExtension: !isEtc) { continue }
                let path = dir + "/" + e.name
                guard let bytes = read(root, path, into: &config) else { continue }
                var conn = connection(bytes, path: path, fileName: e.name)
                config.diagnostics += conn.keyfile.diagnostics
                if conn.ignoredBecause == nil, let st = root.stat(path) {
                    if st.userID != 0 {
                        conn.ignoredBecause = "it is owned by uid \(st.userID), not root"
                    } else if st.permissions & 0o077 != 0 {
                        conn.ignoredBecause = "its permissions (\(String(st.permissions, radix: 8))) let users other than root read or write it"
                    }
                }
                if let why = conn.ignoredBecause {
                    config.ignored.append(conn)
                    config.diagnostics.append(Diagnostic(SourceLocation(path: path, line: 0), text: "",
                                                         message: "NetworkManager does not load \(path): \(why)."))
                    continue
                }
                // Without a UUID NetworkManager derives one from the path: never shared.
                let key = conn.uuid?.value.lowercased() ?? "path:" + path
                if byUUID[key] == nil { order.append(key) }
                byUUID[key, default: []].append(Candidate(priority: priority, mtime: root.stat(path)?.modificationTime ?? 0,
                                                         name: e.name, file: conn))
            }
        }
        var winners: [NMConnectionFile] = []
        for key in order {
            guard let all = byUUID[key] else { continue }
            let sorted = all.sorted { a, b in
                if a.priority != b.priority { return a.priority < b.priority }
                if a.mtime != b.mtime { return a.mtime > b.mtime }
                return a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
            }
            guard let best = sorted.first else { continue }
            winners.append(best.file)
            for loser in sorted.dropFirst() { config.shadowed.append((loser.file.path, best.file.path)) }
        }
        config.connections = winners.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }

    private static func read(_ root: TargetRoot, _ path: String, into config: inout NetworkManagerConfig) -> [UInt8]? {
        root.readConfig(path, files: &config.files, diagnostics: &config.diagnostics)
    }

    static func normalizedType(_ t: String) -> String {
        switch t {
        case "802-3-ethernet", "ethernet": "ethernet"
        case "802-11-wireless", "wifi": "wifi"
        case "infiniband": "infiniband"
        default: t
        }
    }

    /// Turns one keyfile into a connection and its claim. Pure.
    public static func connection(_ bytes: [UInt8], path: String, fileName: String) -> NMConnectionFile {
        let kf = NMKeyfileParser.parse(bytes, path: path)
        var diags: [Diagnostic] = []
        func note(_ e: KeyFileEntry, _ m: String) { diags.append(Diagnostic(e.source.location, text: e.source.text, message: m)) }
        let fileSource = kf.groups.first(where: { $0.name == "connection" })?.source ?? SourceLine(path: path, line: 0, text: "")

        var type = kf.value("connection", "type").map { normalizedType($0.value) }
        if type == nil {
            // NetworkManager guesses the type from a base setting group.
            let guesses = [("ethernet", "ethernet"), ("802-3-ethernet", "ethernet"), ("wifi", "wifi"),
                           ("802-11-wireless", "wifi"), ("bond", "bond"), ("bridge", "bridge"), ("vlan", "vlan"),
                           ("team", "team"), ("infiniband", "infiniband")]
            type = guesses.first { kf.hasGroup($0.0) }?.1
        }
        var autoconnect = true
        if let a = kf.value("connection", "autoconnect") {
            if let b = KeyFileParser.bool(a.value) { autoconnect = b } else { note(a, "autoconnect=\(a.value) is not a boolean; NetworkManager rejects the connection.") }
        }
        let controller = (kf.value("connection", "controller") ?? kf.value("connection", "master")).map { Located($0.value, $0.source) }

        func method(_ group: String, default d: String) -> String {
            kf.value(group, "method")?.value.lowercased() ?? d
        }
        let isPort = controller != nil
        let m4 = isPort ? "disabled" : method("ipv4", default: "auto")
        let m6 = isPort ? "ignore" : method("ipv6", default: "auto")

        var addresses: [AddressFact] = []
        var routes: [RouteFact] = []
        var nameservers: [Located<String>] = []
        for (group, v6, m) in [("ipv4", false, m4), ("ipv6", true, m6)] {
            let family: AddressFamily = v6 ? .ipv6 : .ipv4
            guard !["disabled", "ignore"].contains(m) else { continue }
            let entries = kf.entries(group)
            /// The keys `base`, `baseN`, `basesN`..., in NM's order: by number (none
            /// first), `address` before `addresses` for the same number; a key
            /// written twice counts once, with its last value (GKeyFile).
            func indexed(_ bases: [String]) -> [KeyFileEntry] {
                var last: [String: KeyFileEntry] = [:]
                for e in entries { last[e.key] = e }
                return last.values.compactMap { e -> (Int, Int, KeyFileEntry)? in
                    for (rank, base) in bases.enumerated().reversed() where e.key.hasPrefix(base) {
                        let rest = e.key.dropFirst(base.count)
                        if rest.isEmpty { return (-1, rank, e) }
                        if rest.allSatisfy(\.isNumber), let n = Int(rest.prefix(9)) { return (n, rank, e) }
                    }
                    return nil
                }.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map(\.2)
            }
            var firstGateway: KeyFileEntry?
            var firstGatewayValue: String?
            // One address per key (NM's read_one_ip_address_or_route): `;` inside
            // the value is a field delimiter, not a list.
            for e in indexed(["address", "addresses"]) {
                guard let a = NMKeyfileParser.address(e.value, ipv6: v6) else {
                    note(e, "'\(e.value)' is not a valid \(family.displayName) address; NetworkManager ignores it.")
                    continue
                }
                addresses.append(AddressFact(family: family, address: a.address, prefixLength: a.prefixLength, source: e.source))
                if firstGatewayValue == nil, let g = a.gateway { firstGateway = e; firstGatewayValue = g }
            }
            let routeMetric = kf.value(group, "route-metric").flatMap { Int($0.value) }.flatMap { $0 >= 0 ? $0 : nil }
            for e in indexed(["route", "routes"]) where !e.key.hasSuffix("_options") {
                guard let r = NMKeyfileParser.route(e.value, ipv6: v6) else {
                    note(e, "'\(e.value)' is not a valid \(family.displayName) route; NetworkManager ignores it.")
                    continue
                }
                routes.append(RouteFact(family: family, destination: r.destination, gateway: r.nextHop,
                                        metric: r.metric ?? routeMetric, source: e.source))
            }
            var gateway: (String, SourceLine)?
            if let g = kf.value(group, "gateway") {
                if IPText.isIP(g.value, v6: v6) { gateway = (g.value, g.source) } else { note(g, "gateway=\(g.value) is not an \(family.displayName) address; NetworkManager rejects the connection.") }
            } else if let e = firstGateway, let g = firstGatewayValue {
                gateway = (g, e.source)
            }
            let neverDefault = kf.bool(group, "never-default") ?? false
            if let (g, src) = gateway, !neverDefault {
                routes.insert(RouteFact(family: family, destination: "default", gateway: g, metric: routeMetric, source: src), at: 0)
            }
            if let d = kf.value(group, "dns") {
                for s in KeyFileParser.list(d.value, separators: [";", ","]) {
                    if IPText.isIP(s, v6: v6) { nameservers.append(Located(s, d.source)) } else { note(d, "'\(s)' is not a DNS server address.") }
                }
            }
            if m == "manual" && addresses.filter({ $0.family == family }).isEmpty {
                let src = kf.value(group, "method")
                diags.append(Diagnostic(src?.source.location ?? SourceLocation(path: path, line: 0), text: src?.source.text ?? "",
                    message: "\(group).method=manual without an address: NetworkManager rejects the connection."))
            }
        }

        var mac: String?
        var cloned: String?
        for g in ["ethernet", "802-3-ethernet", "wifi", "802-11-wireless"] {
            if let m = kf.value(g, "mac-address")?.value, !m.isEmpty { mac = m }
            if let c = kf.value(g, "cloned-mac-address")?.value, c.contains(":") { cloned = c }
        }
        let ifname = kf.value("connection", "interface-name").map { Located($0.value, $0.source) }
        let match = InterfaceMatch(names: ifname.map { [$0.value] } ?? [], macAddress: mac, type: type)

        var ignored: String?
        if kf.rejected {
            ignored = "GLib cannot parse it (\(kf.diagnostics.first?.location.description ?? path))"
        } else if type == nil {
            ignored = "it has no connection.type and no setting to guess one from"
        } else if diags.contains(where: { $0.message.hasSuffix("rejects the connection.") }) {
            ignored = "a value is invalid (\(diags.first { $0.message.hasSuffix("rejects the connection.") }?.location.description ?? path))"
        }

        let claim = InterfaceClaim(
            stack: .networkManager, name: ifname?.value, match: match, macAddress: cloned, kind: type ?? "ethernet",
            autostart: autoconnect, dhcp4: m4 == "auto", dhcp6: m6 == "auto" || m6 == "dhcp",
            addresses: addresses, routes: routes, nameservers: nameservers, source: fileSource)
        var file = kf
        file.diagnostics += diags
        let base = fileName.hasSuffix(".nmconnection") ? String(fileName.dropLast(13)) : fileName
        return NMConnectionFile(
            path: path, keyfile: file, id: kf.value("connection", "id")?.value ?? base,
            uuid: kf.value("connection", "uuid").map { Located($0.value, $0.source) }, type: type,
            interfaceName: ifname, autoconnect: autoconnect, controller: controller, ipv4Method: m4, ipv6Method: m6,
            ignoredBecause: ignored, claim: claim)
    }
}
