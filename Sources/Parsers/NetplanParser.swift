/// The device sections of a netplan `network:` mapping (the last two since netplan 0.107).
public enum NetplanDeviceType: String, Sendable, Hashable, CaseIterable {
    case ethernets, bonds, bridges, vlans, wifis, tunnels, modems, vrfs
    case nmDevices = "nm-devices"
    case dummyDevices = "dummy-devices"
    case virtualEthernets = "virtual-ethernets"

    /// The singular kind an `InterfaceClaim` uses.
    public var kind: String {
        switch self {
        case .ethernets: "ethernet"
        case .bonds: "bond"
        case .bridges: "bridge"
        case .vlans: "vlan"
        case .wifis: "wifi"
        case .tunnels: "tunnel"
        case .modems: "modem"
        case .vrfs: "vrf"
        case .nmDevices: "nm-device"
        case .dummyDevices: "dummy"
        case .virtualEthernets: "veth"
        }
    }

    /// The netplan release that introduced this section.
    var since: NetplanVersion {
        switch self {
        case .dummyDevices, .virtualEthernets: NetplanVersion(0, 107)
        default: NetplanVersion(0, 0)
        }
    }
}

/// A netplan release, from the target's package version (`0.106-2+deb12u1`,
/// `1.1.2-1ubuntu1`): major and minor are what decide which keys it knows.
public struct NetplanVersion: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(_ major: Int, _ minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// From a Debian version string (an epoch and the Debian revision are ignored); nil when it has no `N.N`.
    public init?(debianVersion: String) {
        var v = Substring(debianVersion)
        if let colon = v.firstIndex(of: ":") { v = v[v.index(after: colon)...] }
        let numbers = v.split(whereSeparator: { !$0.isNumber }).prefix(2).map { Int($0.prefix(9)) }
        guard numbers.count == 2, let major = numbers[0], let minor = numbers[1] else { return nil }
        self.init(major, minor)
    }

    public var description: String { "\(major).\(minor)" }

    public static func < (a: NetplanVersion, b: NetplanVersion) -> Bool { (a.major, a.minor) < (b.major, b.minor) }
}

/// One entry of a netplan `addresses` list, in either form.
public struct NetplanAddress: Hashable, Sendable {
    public var address: String
    public var prefixLength: Int?
    public var label: String?
    /// `forever` or `0` (the mapping form's `lifetime`).
    public var lifetime: String?
    public var source: SourceLine

    public var isIPv6: Bool { address.contains(":") }
}

/// One entry of a netplan `routes` list (or a `gateway4`/`gateway6` key,
/// which netplan turns into a default route).
public struct NetplanRoute: Hashable, Sendable {
    /// As written (`default`, `0.0.0.0/0`, `10.0.0.0/8`...); nil when missing.
    public var to: String?
    public var via: String?
    public var metric: Int?
    public var table: Int?
    public var onLink: Bool
    /// `from`: the source address selector.
    public var from: String?
    public var source: SourceLine

    /// `default`, `0.0.0.0/0`, `0/0` and `::/0` all mean the default route.
    public var isDefault: Bool {
        guard let to else { return false }
        return ["default", "0.0.0.0/0", "0/0", "::/0"].contains(to)
    }

    public var isIPv6: Bool {
        if to == "::/0" { return true }
        if let to, to != "default" { return to.contains(":") }
        return via?.contains(":") ?? false
    }

    /// netplan's `is_route_present` (libnetplan util.c): a route with the same
    /// family, table, metric, `from`, destination (`default` normalised) and
    /// gateway is added once, however many files or list entries repeat it.
    public func sameRoute(as other: NetplanRoute) -> Bool {
        func dest(_ r: NetplanRoute) -> String? { r.isDefault ? (r.isIPv6 ? "::/0" : "0.0.0.0/0") : r.to }
        return isIPv6 == other.isIPv6 && table == other.table && metric == other.metric && from == other.from
            && dest(self) == dest(other) && via == other.via
    }
}

/// `match:` of a netplan device: the device ID is then only a label.
public struct NetplanMatch: Hashable, Sendable {
    /// A glob on the kernel name.
    public var name: Located<String>?
    public var macAddress: Located<String>?
    /// One glob, or several (a sequence), on the driver name.
    public var drivers: [Located<String>] = []
    public var source: SourceLine
}

/// One netplan device definition, possibly merged from several files.
///
/// Merge behaviour, checked against `netplan generate` 0.106: files are read
/// in lexical order of their names; a later file overrides the scalar keys it
/// sets (`dhcp4`, `renderer`, `set-name`, `gateway4`...) and *appends* to the
/// sequences (`addresses`, `routes`, `nameservers.addresses`,
/// `nameservers.search`, `interfaces`); keys it does not mention are kept.
public struct NetplanDevice: Hashable, Sendable {
    public var type: NetplanDeviceType
    public var id: String
    /// The ID key where the device is first defined.
    public var source: SourceLine
    /// Every file and line that defines (part of) the device, in merge order.
    public var definitions: [SourceLocation]
    public var match: NetplanMatch?
    public var setName: Located<String>?
    public var renderer: Located<String>?
    public var dhcp4: Located<Bool>?
    public var dhcp6: Located<Bool>?
    public var addresses: [NetplanAddress] = []
    public var gateway4: Located<String>?
    public var gateway6: Located<String>?
    public var routes: [NetplanRoute] = []
    public var nameservers: [Located<String>] = []
    public var searchDomains: [Located<String>] = []
    public var optional: Located<Bool>?
    /// `link-local: [ipv4, ipv6]`; nil when unset (netplan's default is `[ipv6]`).
    public var linkLocal: Located<[String]>?
    public var macAddress: Located<String>?
    /// Members of a bond or bridge.
    public var interfaces: [Located<String>] = []
    /// A VLAN's `id` and `link`.
    public var vlanID: Located<Int>?
    public var link: Located<String>?
    /// A tunnel's `mode`.
    public var mode: Located<String>?
    /// A VRF's routing `table`.
    public var table: Located<Int>?
    /// The device's `openvswitch:` key: netplan sets it up with Open vSwitch.
    public var openVSwitch: SourceLine?

    public init(type: NetplanDeviceType, id: String, source: SourceLine) {
        self.type = type
        self.id = id
        self.source = source
        self.definitions = [source.location]
    }

    /// Applies a later file's definition of the same device, as netplan does.
    public mutating func merge(_ later: NetplanDevice) {
        definitions += later.definitions
        if let m = later.match { match = m }
        if let v = later.setName { setName = v }
        if let v = later.renderer { renderer = v }
        if let v = later.openVSwitch { openVSwitch = v }
        if let v = later.dhcp4 { dhcp4 = v }
        if let v = later.dhcp6 { dhcp6 = v }
        if let v = later.gateway4 { gateway4 = v }
        if let v = later.gateway6 { gateway6 = v }
        if let v = later.optional { optional = v }
        if let v = later.linkLocal { linkLocal = v }
        if let v = later.macAddress { macAddress = v }
        if let v = later.vlanID { vlanID = v }
        if let v = later.link { link = v }
        if let v = later.mode { mode = v }
        if let v = later.table { table = v }
        // netplan adds an address or a route it already has only once.
        for a in later.addresses where !addresses.contains(where: { $0.address == a.address && $0.prefixLength == a.prefixLength }) {
            addresses.append(a)
        }
        for r in later.routes where !routes.contains(where: { $0.sameRoute(as: r) }) {
            routes.append(r)
        }
        nameservers += later.nameservers
        searchDomains += later.searchDomains
        interfaces += later.interfaces
    }
}

/// A problem in a netplan file.
public struct NetplanIssue: Hashable, Sendable {
    public var diagnostic: Diagnostic
    /// True when `netplan generate` refuses the file, and with it the whole
    /// configuration; false when netplan reads it and only we cannot (a file
    /// the confined reader skipped).
    public var rejectedByNetplan: Bool

    public init(diagnostic: Diagnostic, rejectedByNetplan: Bool) {
        self.diagnostic = diagnostic
        self.rejectedByNetplan = rejectedByNetplan
    }
}

/// What one netplan YAML file says.
public struct NetplanFile: Hashable, Sendable {
    public var path: String
    public var version: Located<Int>?
    /// `network.renderer`.
    public var renderer: Located<String>?
    public var devices: [NetplanDevice] = []
    /// IDs of Open vSwitch patch ports (`openvswitch: {ports: [[a, b]]}`).
    public var definedPorts: [String] = []
    public var issues: [NetplanIssue] = []
    /// Nodes in the document once aliases are expanded (0 when unparsed).
    public var expandedNodes = 0

    /// False when `netplan generate` would refuse this file.
    public var isAccepted: Bool { !issues.contains { $0.rejectedByNetplan } }
    public var diagnostics: [Diagnostic] { issues.map(\.diagnostic) }
}

/// Parses one netplan YAML file as netplan 0.106 reads it. Pure: bytes and
/// the file's target path in, a `NetplanFile` out. Any error netplan would
/// stop at is an issue with `rejectedByNetplan`; the parser still collects
/// what it can from the rest of the file.
public enum NetplanParser {
    /// More nodes than any real netplan file has; a document whose aliases
    /// expand beyond this is refused as an alias bomb.
    public static let maxExpandedNodes = 100_000

    /// `version` is the netplan release installed on the target (from its
    /// package database): keys that release does not know are errors, keys
    /// added later are not. nil (unknown) reads with the newest release known here.
    public static func parse(_ bytes: [UInt8], path: String, version: NetplanVersion? = nil) -> NetplanFile {
        var p = Parse(path: path, lines: Text.lines(bytes), version: version)
        switch YAMLGuard.read(bytes, limit: maxExpandedNodes) {
        case .syntaxError(let line, let message):
            p.error(line, "Invalid YAML: \(message).")
            return p.file
        case .tooLarge(let line, let limit, let byAliases):
            p.error(line, byAliases
                ? "YAML aliases expand this file to more than \(limit) nodes (an alias bomb); it was not read."
                : "This file has more than \(limit) YAML nodes, far more than any network configuration; it was not read.")
            return p.file
        case .ok(let root, let n):
            p.file.expandedNodes = n
            // An empty document is accepted by netplan and configures nothing.
            guard let root else { return p.file }
            p.document(root)
            return p.file
        }
    }

    /// netplan's MAC check (parse.c handle_generic_mac): six octets, or twenty (InfiniBand).
    public static func isMAC(_ s: String) -> Bool {
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6 || parts.count == 20 else { return false }
        return parts.allSatisfy { $0.utf8.count == 2 && $0.allSatisfy(\.isHexDigit) }
    }

    /// netplan's booleans (case-insensitive): true/on/yes/y and false/off/no/n.
    public static func bool(_ s: String) -> Bool? {
        switch s.lowercased() {
        case "true", "on", "yes", "y": true
        case "false", "off", "no", "n": false
        default: nil
        }
    }

    /// Keys netplan 0.106 accepts inside a device definition (any device type;
    /// taken from libnetplan's own tables). A key outside this set makes
    /// netplan refuse the configuration with "unknown key".
    static let deviceKeys: Set<String> = [
        "accept-ra", "access-points", "activation-mode", "addresses", "auth", "critical",
        "delay-virtual-functions-rebind", "dhcp-identifier", "dhcp4", "dhcp4-overrides", "dhcp6",
        "dhcp6-overrides", "embedded-switch-mode", "emit-lldp", "gateway4", "gateway6", "generic-receive-offload",
        "generic-segmentation-offload", "id", "ignore-carrier", "infiniband-mode", "interfaces",
        "ipv6-address-generation", "ipv6-address-token", "ipv6-mtu", "ipv6-privacy", "keys", "key", "large-receive-offload",
        "link", "link-local", "local", "macaddress", "match", "mode", "mtu", "nameservers", "neigh-suppress",
        "networkmanager", "openvswitch", "optional", "optional-addresses", "parameters", "peers", "receive-checksum-offload",
        "regulatory-domain", "remote", "renderer", "routes", "routing-policy", "set-name", "table", "tcp-segmentation-offload",
        "tcp6-segmentation-offload", "transmit-checksum-offload", "ttl", "virtual-function-count", "wakeonlan",
        "wakeonwlan", "apn", "device-id", "network-id", "number", "password", "pin", "sim-id", "sim-operator-id", "username",
        "auto-config", "mark", "port", "private-key", "address-generation", "ageing-time", "arp-proxy", "checksums",
        "do-not-fragment", "flow-label", "input-key", "output-key", "mac-learning", "notifications", "port-range",
        "short-circuit", "type-of-service", "vrf", "passthrough", "wifi", "ignore-auto-routes", "passive",
        "address", "ieee8021x", "bssid", "band", "channel", "hidden", "vlan",
    ]

    /// The keys of a `network:` mapping other than device types.
    /// `auth.key-management` values and the netplan release that accepts them
    /// first (handle_auth_key_management in src/parse.c of 0.106, 0.107, 1.0, 1.1.2).
    static let keyManagementSince: [String: NetplanVersion] = [
        "none": NetplanVersion(0, 0), "psk": NetplanVersion(0, 0), "eap": NetplanVersion(0, 0), "802.1x": NetplanVersion(0, 0),
        "sae": NetplanVersion(0, 107), "eap-sha256": NetplanVersion(1, 0), "eap-suite-b-192": NetplanVersion(1, 0),
        "psk-sha256": NetplanVersion(1, 1),
    ]

    static let networkKeys: Set<String> = ["version", "renderer", "openvswitch"]

    private struct Parse {
        var file: NetplanFile
        let lines: [String]
        let version: NetplanVersion?

        init(path: String, lines: [String], version: NetplanVersion?) {
            self.file = NetplanFile(path: path)
            self.lines = lines
            self.version = version
        }

        /// False when the installed netplan predates `since`; then `what` is
        /// an error naming both releases.
        mutating func known(_ since: NetplanVersion, _ node: YAMLNode, _ what: String) -> Bool {
            guard let version, version < since else { return true }
            error(node, "\(what): the netplan installed on this system (\(version)) does not know it (it came with netplan \(since)).")
            return false
        }

        func source(_ line: Int) -> SourceLine {
            let text = line >= 1 && line <= lines.count ? lines[line - 1] : ""
            return SourceLine(path: file.path, line: max(line, 0), text: text)
        }

        func source(_ node: YAMLNode) -> SourceLine { source(node.line) }

        mutating func error(_ line: Int, _ message: String, rejects: Bool = true) {
            let s = source(line)
            file.issues.append(NetplanIssue(diagnostic: Diagnostic(s.location, text: s.text, message: message),
                                            rejectedByNetplan: rejects))
        }

        mutating func error(_ node: YAMLNode, _ message: String) { error(node.line, message) }

        /// `auth:`: netplan refuses a key-management type its release does not know.
        mutating func auth(_ node: YAMLNode, _ owner: String) {
            guard case .mapping = node, let entries = mapping(node, "auth") else { return }
            for e in entries where e.key == "key-management" {
                guard let s = string(e.value, e.key) else { continue }
                guard let since = NetplanParser.keyManagementSince[s.value] else {
                    error(e.value, "Unknown key management type '\(s.value)' in \(owner).")
                    continue
                }
                _ = known(since, e.value, "The key management type '\(s.value)' in \(owner)")
            }
        }

        // MARK: - Typed access

        func scalar(_ node: YAMLNode) -> String? { node.string }

        mutating func string(_ node: YAMLNode, _ key: String) -> Located<String>? {
            guard let s = scalar(node) else { error(node, "\(key) expects a single value (check indentation)."); return nil }
            return Located(s, source(node))
        }

        mutating func bool(_ node: YAMLNode, _ key: String) -> Located<Bool>? {
            guard let s = scalar(node) else { error(node, "\(key) expects a boolean (check indentation)."); return nil }
            guard let b = NetplanParser.bool(s) else { error(node, "Invalid boolean value '\(s)' for \(key)."); return nil }
            return Located(b, source(node))
        }

        mutating func int(_ node: YAMLNode, _ key: String) -> Int? {
            guard let s = scalar(node) else { error(node, "\(key) expects a number (check indentation)."); return nil }
            guard let n = Int(s), n >= 0 else { error(node, "Invalid number '\(s)' for \(key)."); return nil }
            return n
        }

        mutating func mapping(_ node: YAMLNode, _ what: String) -> [(key: String, keyNode: YAMLNode, value: YAMLNode)]? {
            guard case .mapping(let m, _) = node else {
                error(node, "\(what) expects a mapping (check indentation).")
                return nil
            }
            // Every pair in order, a repeated key included: netplan applies each.
            var out: [(String, YAMLNode, YAMLNode)] = []
            for pair in m {
                guard let name = scalar(pair.key) else { error(pair.key, "A key in \(what) is not a plain value."); continue }
                out.append((name, pair.key, pair.value))
            }
            return out
        }

        mutating func sequence(_ node: YAMLNode, _ what: String) -> [YAMLNode]? {
            guard case .sequence(let s, _) = node else {
                error(node, "\(what) expects a list (check indentation).")
                return nil
            }
            return Array(s)
        }

        mutating func strings(_ node: YAMLNode, _ key: String) -> [Located<String>] {
            guard let items = sequence(node, key) else { return [] }
            return items.compactMap { string($0, key) }
        }

        // MARK: - The schema

        mutating func document(_ root: YAMLNode) {
            guard let top = mapping(root, "The document") else { return }
            for (key, keyNode, value) in top {
                guard key == "network" else {
                    error(keyNode, "Unknown key '\(key)': netplan expects only 'network' at the top.")
                    continue
                }
                network(value)
            }
        }

        mutating func network(_ node: YAMLNode) {
            guard let entries = mapping(node, "network") else { return }
            for (key, keyNode, value) in entries {
                if key == "version" {
                    guard let s = string(value, key) else { continue }
                    if s.value != "2" { error(value, "Only version 2 is supported (found '\(s.value)').") }
                    file.version = Located(Int(s.value) ?? 0, s.source)
                } else if key == "renderer" {
                    guard let s = string(value, key) else { continue }
                    if checkRenderer(value, s.value) { file.renderer = s }
                } else if key == "openvswitch" {
                    // Global Open vSwitch settings; its `ports` pairs define patch-port IDs
                    // that bonds and bridges may name.
                    for (k, _, v) in mapping(value, key) ?? [] where k == "ports" {
                        for pair in sequence(v, "openvswitch.ports") ?? [] {
                            file.definedPorts += strings(pair, "openvswitch.ports").map(\.value)
                        }
                    }
                } else if let type = NetplanDeviceType(rawValue: key) {
                    if known(type.since, keyNode, "The device type '\(key)'") { devices(type, value) }
                } else {
                    error(keyNode, "Unknown key '\(key)' in network: not a device type netplan knows.")
                }
            }
        }

        mutating func checkRenderer(_ node: YAMLNode, _ value: String) -> Bool {
            guard ["networkd", "NetworkManager", "sriov"].contains(value) else {
                error(node, "Unknown renderer '\(value)': netplan knows networkd and NetworkManager.")
                return false
            }
            return true
        }

        mutating func devices(_ type: NetplanDeviceType, _ node: YAMLNode) {
            guard let entries = mapping(node, type.rawValue) else { return }
            // `renderer:` among the IDs sets the backend of the devices that
            // follow it in this section (netplan(5), parse.c handle_network_type).
            var sectionRenderer: Located<String>?
            for (id, keyNode, value) in entries {
                if id == "renderer" {
                    if let s = string(value, "\(type.rawValue).renderer"), checkRenderer(value, s.value) { sectionRenderer = s }
                    continue
                }
                var device = NetplanDevice(type: type, id: id, source: source(keyNode))
                device.renderer = sectionRenderer
                guard let keys = mapping(value, "\(type.rawValue).\(id)") else { continue }
                for (key, kn, v) in keys {
                    self.key(key, kn, v, &device)
                }
                file.devices.append(device)
            }
        }

        mutating func key(_ key: String, _ keyNode: YAMLNode, _ v: YAMLNode, _ d: inout NetplanDevice) {
            switch key {
            case "match": match(v, &d)
            case "set-name": d.setName = string(v, key)
            case "renderer":
                if let s = string(v, key), checkRenderer(v, s.value) { d.renderer = s }
            case "dhcp4": d.dhcp4 = bool(v, key)
            case "dhcp6": d.dhcp6 = bool(v, key)
            case "optional": d.optional = bool(v, key)
            case "addresses": addresses(v, &d)
            case "gateway4", "gateway6":
                guard let s = string(v, key) else { return }
                guard IPText.isIP(s.value, v6: key == "gateway6") else {
                    error(v, "Invalid \(key == "gateway4" ? "IPv4" : "IPv6") address '\(s.value)' for \(key).")
                    return
                }
                if key == "gateway4" { d.gateway4 = s } else { d.gateway6 = s }
            case "routes": routes(v, &d)
            case "nameservers": nameservers(v, &d)
            case "link-local":
                let items = strings(v, key)
                for i in items where i.value != "ipv4" && i.value != "ipv6" {
                    error(i.location.line, "Invalid link-local type '\(i.value)' (expected ipv4 or ipv6).")
                }
                d.linkLocal = Located(items.map(\.value), source(v))
            case "macaddress":
                guard let s = string(v, key) else { return }
                // netplan 1.0 added the words; before, only an address.
                let words = ["permanent", "random", "stable", "preserve", "stable-ssid"]
                if words.contains(s.value) {
                    guard known(NetplanVersion(1, 0), v, "macaddress '\(s.value)'") else { return }
                } else if !NetplanParser.isMAC(s.value) {
                    error(v, "Invalid MAC address '\(s.value)', must be XX:XX:XX:XX:XX:XX or XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX")
                    return
                }
                d.macAddress = s
            case "interfaces": d.interfaces += strings(v, key)
            case "id":
                if let n = int(v, key) {
                    if n > 4094 && d.type == .vlans { error(v, "Invalid VLAN id \(n) (at most 4094).") }
                    d.vlanID = Located(n, source(v))
                }
            case "link": d.link = string(v, key)
            case "mode": d.mode = string(v, key)
            case "table" where d.type == .vrfs:
                if let n = int(v, key) { d.table = Located(n, source(v)) }
            case "peer":
                _ = known(NetplanVersion(0, 107), keyNode, "The key 'peer' in \(d.type.rawValue).\(d.id)")
            case "ra-overrides":
                if known(NetplanVersion(1, 1), keyNode, "The key 'ra-overrides' in \(d.type.rawValue).\(d.id)") { _ = mapping(v, key) }
            case "auth":
                auth(v, "\(d.type.rawValue).\(d.id)")
            case "openvswitch":
                d.openVSwitch = source(keyNode)
            case "access-points":
                // Each access point's own settings (an open network may have none).
                guard case .mapping = v, let points = mapping(v, key) else { break }
                for point in points {
                    guard case .mapping = point.value, let settings = mapping(point.value, point.key) else { continue }
                    for setting in settings where setting.key == "auth" {
                        auth(setting.value, "\(d.type.rawValue).\(d.id) access point '\(point.key)'")
                    }
                }
            default:
                if !NetplanParser.deviceKeys.contains(key) {
                    error(keyNode, "Unknown key '\(key)' in \(d.type.rawValue).\(d.id).")
                }
            }
        }

        mutating func match(_ node: YAMLNode, _ d: inout NetplanDevice) {
            guard let entries = mapping(node, "match") else { return }
            var m = NetplanMatch(source: source(node))
            for (key, keyNode, v) in entries {
                switch key {
                case "name": m.name = string(v, key)
                case "macaddress":
                    guard let s = string(v, key) else { continue }
                    guard NetplanParser.isMAC(s.value) else {
                        error(v, "Invalid MAC address '\(s.value)', must be XX:XX:XX:XX:XX:XX or XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX:XX")
                        continue
                    }
                    m.macAddress = s
                case "driver":
                    // netplan 0.106 takes one glob or a list of globs.
                    if case .sequence = v { m.drivers = strings(v, key) } else if let s = string(v, key) { m.drivers = [s] }
                default: error(keyNode, "Unknown key '\(key)' in match.")
                }
            }
            d.match = m
        }

        mutating func addresses(_ node: YAMLNode, _ d: inout NetplanDevice) {
            guard let items = sequence(node, "addresses") else { return }
            for item in items {
                var text: String
                var options: [(key: String, keyNode: YAMLNode, value: YAMLNode)] = []
                var at = item
                if let s = scalar(item) {
                    text = s
                } else if case .mapping(let m, _) = item, m.count == 1, let k = m.first?.key, let v = m.first?.value, let s = scalar(k) {
                    // `- 192.0.2.1/24: {lifetime: 0, label: x}`
                    text = s
                    at = k
                    options = mapping(v, "address \(s)") ?? []
                } else {
                    error(item, "Each address must be a value or a one-key mapping (check indentation).")
                    continue
                }
                let split = IPText.split(text)
                guard split.valid else { error(at, "Invalid address '\(text)'."); continue }
                guard let prefix = split.prefix else { error(at, "Address '\(text)' is missing /prefixlength."); continue }
                var a = NetplanAddress(address: split.address, prefixLength: prefix, source: source(at))
                for (k, kn, v) in options {
                    switch k {
                    case "label": a.label = string(v, k)?.value
                    case "lifetime":
                        if let l = string(v, k) {
                            if l.value != "forever" && l.value != "0" { error(v, "Invalid lifetime '\(l.value)' (expected forever or 0).") }
                            a.lifetime = l.value
                        }
                    default: error(kn, "Unknown key '\(k)' in address options.")
                    }
                }
                // netplan writes an address listed twice once.
                if !d.addresses.contains(where: { $0.address == a.address && $0.prefixLength == a.prefixLength }) {
                    d.addresses.append(a)
                }
            }
        }

        mutating func routes(_ node: YAMLNode, _ d: inout NetplanDevice) {
            guard let items = sequence(node, "routes") else { return }
            for item in items {
                guard let entries = mapping(item, "a route") else { continue }
                var r = NetplanRoute(onLink: false, source: source(item))
                for (k, kn, v) in entries {
                    switch k {
                    case "to":
                        guard let s = string(v, k) else { continue }
                        if s.value != "default" {
                            let split = IPText.split(s.value)
                            if !split.valid { error(v, "Invalid route destination '\(s.value)'.") }
                        }
                        r.to = s.value
                    case "via":
                        guard let s = string(v, k) else { continue }
                        if !IPText.isIP(s.value, v6: s.value.contains(":")) { error(v, "Invalid route gateway '\(s.value)'.") }
                        r.via = s.value
                    case "metric": r.metric = int(v, k)
                    case "table": r.table = int(v, k)
                    case "on-link": r.onLink = bool(v, k)?.value ?? false
                    case "from": r.from = string(v, k)?.value
                    case "type", "scope", "mtu", "congestion-window", "advertised-receive-window", "source":
                        _ = string(v, k)
                    case "advertised-mss":
                        if known(NetplanVersion(1, 1), kn, "The route key 'advertised-mss'") { _ = int(v, k) }
                    default: error(kn, "Unknown key '\(k)' in a route.")
                    }
                }
                if r.to == nil { error(item, "A route needs a destination ('to').") }
                // netplan keeps one of two identical routes (is_route_present).
                if !d.routes.contains(where: { $0.sameRoute(as: r) }) { d.routes.append(r) }
            }
        }

        mutating func nameservers(_ node: YAMLNode, _ d: inout NetplanDevice) {
            guard let entries = mapping(node, "nameservers") else { return }
            for (k, kn, v) in entries {
                switch k {
                case "addresses":
                    for a in strings(v, k) {
                        if !IPText.isIP(a.value, v6: a.value.contains(":")) {
                            error(a.location.line, "Malformed address '\(a.value)', must be X.X.X.X or X:X:X:X:X:X:X:X.")
                        } else {
                            d.nameservers.append(a)
                        }
                    }
                case "search": d.searchDomains += strings(v, k)
                default: error(kn, "Unknown key '\(k)' in nameservers.")
                }
            }
        }
    }
}
