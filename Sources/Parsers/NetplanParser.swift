import Yams

/// The device sections of a netplan `network:` mapping, as netplan 0.106 names them.
public enum NetplanDeviceType: String, Sendable, Hashable, CaseIterable {
    case ethernets, bonds, bridges, vlans, wifis, tunnels, modems, vrfs
    case nmDevices = "nm-devices"

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
        }
    }
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
        addresses += later.addresses
        routes += later.routes
        nameservers += later.nameservers
        searchDomains += later.searchDomains
        interfaces += later.interfaces
    }
}

/// A problem in a netplan file.
public struct NetplanIssue: Hashable, Sendable {
    public var diagnostic: Diagnostic
    /// True when `netplan generate` refuses the file, and with it the whole
    /// configuration; false when netplan reads it and only we cannot (for
    /// instance a duplicate key, which libyaml allows and Yams does not).
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

    public static func parse(_ bytes: [UInt8], path: String) -> NetplanFile {
        var p = Parse(path: path, lines: Text.lines(bytes))
        switch YAMLGuard.check(bytes, limit: maxExpandedNodes) {
        case .syntaxError(let line, let message):
            p.error(line, "Invalid YAML: \(message).")
            return p.file
        case .tooLarge(let line, let limit, let byAliases):
            p.error(line, byAliases
                ? "YAML aliases expand this file to more than \(limit) nodes (an alias bomb); it was not read."
                : "This file has more than \(limit) YAML nodes, far more than any network configuration; it was not read.")
            return p.file
        case .ok(let n):
            p.file.expandedNodes = n
        }
        // The guard has checked the bytes are valid UTF-8 (libyaml refuses anything else).
        let yaml = String(decoding: bytes, as: UTF8.self)
        let root: Node?
        do {
            // Only the first document counts, as for netplan; later ones are never parsed.
            var documents = try Yams.compose_all(yaml: yaml).makeIterator()
            root = documents.next()
            if let error = documents.error { throw error }
        } catch let error as YamlError {
            p.yamsError(error)
            return p.file
        } catch {
            p.error(0, "Invalid YAML: \(error).")
            return p.file
        }
        // An empty document is accepted by netplan and configures nothing.
        guard let root else { return p.file }
        p.document(root)
        return p.file
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
    static let networkKeys: Set<String> = ["version", "renderer", "openvswitch"]

    private struct Parse {
        var file: NetplanFile
        let lines: [String]

        init(path: String, lines: [String]) {
            self.file = NetplanFile(path: path)
            self.lines = lines
        }

        func source(_ line: Int) -> SourceLine {
            let text = line >= 1 && line <= lines.count ? lines[line - 1] : ""
            return SourceLine(path: file.path, line: max(line, 0), text: text)
        }

        func source(_ node: Node) -> SourceLine { source(node.mark?.line ?? 0) }

        mutating func error(_ line: Int, _ message: String, rejects: Bool = true) {
            let s = source(line)
            file.issues.append(NetplanIssue(diagnostic: Diagnostic(s.location, text: s.text, message: message),
                                            rejectedByNetplan: rejects))
        }

        mutating func error(_ node: Node, _ message: String) { error(node.mark?.line ?? 0, message) }

        mutating func yamsError(_ e: YamlError) {
            switch e {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
                 .composer(_, let problem, let mark, _):
                error(mark.line, "Invalid YAML: \(problem).")
            case .duplicatedKeysInMapping(let keys, let context):
                // libyaml and netplan accept a repeated key (the later value
                // wins); only our YAML library refuses the file.
                error(context.mark.line, "The key \(keys.joined(separator: ", ")) is repeated in one mapping; netplan takes the later value, but rescue-audit could not read this file.", rejects: false)
            default:
                error(0, "Invalid YAML: \(e).")
            }
        }

        // MARK: - Typed access

        func scalar(_ node: Node) -> String? {
            if case .scalar(let s) = node { return s.string }
            return nil
        }

        mutating func string(_ node: Node, _ key: String) -> Located<String>? {
            guard let s = scalar(node) else { error(node, "\(key) expects a single value (check indentation)."); return nil }
            return Located(s, source(node))
        }

        mutating func bool(_ node: Node, _ key: String) -> Located<Bool>? {
            guard let s = scalar(node) else { error(node, "\(key) expects a boolean (check indentation)."); return nil }
            guard let b = NetplanParser.bool(s) else { error(node, "Invalid boolean value '\(s)' for \(key)."); return nil }
            return Located(b, source(node))
        }

        mutating func int(_ node: Node, _ key: String) -> Int? {
            guard let s = scalar(node) else { error(node, "\(key) expects a number (check indentation)."); return nil }
            guard let n = Int(s), n >= 0 else { error(node, "Invalid number '\(s)' for \(key)."); return nil }
            return n
        }

        mutating func mapping(_ node: Node, _ what: String) -> [(key: String, keyNode: Node, value: Node)]? {
            guard case .mapping(let m) = node else {
                error(node, "\(what) expects a mapping (check indentation).")
                return nil
            }
            var out: [(String, Node, Node)] = []
            for (k, v) in m {
                guard let name = scalar(k) else { error(k, "A key in \(what) is not a plain value."); continue }
                out.append((name, k, v))
            }
            return out
        }

        mutating func sequence(_ node: Node, _ what: String) -> [Node]? {
            guard case .sequence(let s) = node else {
                error(node, "\(what) expects a list (check indentation).")
                return nil
            }
            return Array(s)
        }

        mutating func strings(_ node: Node, _ key: String) -> [Located<String>] {
            guard let items = sequence(node, key) else { return [] }
            return items.compactMap { string($0, key) }
        }

        // MARK: - The schema

        mutating func document(_ root: Node) {
            guard let top = mapping(root, "The document") else { return }
            for (key, keyNode, value) in top {
                guard key == "network" else {
                    error(keyNode, "Unknown key '\(key)': netplan expects only 'network' at the top.")
                    continue
                }
                network(value)
            }
        }

        mutating func network(_ node: Node) {
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
                    _ = mapping(value, key)  // global Open vSwitch settings: not about interfaces
                } else if let type = NetplanDeviceType(rawValue: key) {
                    devices(type, value)
                } else {
                    error(keyNode, "Unknown key '\(key)' in network: not a device type netplan knows.")
                }
            }
        }

        mutating func checkRenderer(_ node: Node, _ value: String) -> Bool {
            guard ["networkd", "NetworkManager", "sriov"].contains(value) else {
                error(node, "Unknown renderer '\(value)': netplan knows networkd and NetworkManager.")
                return false
            }
            return true
        }

        mutating func devices(_ type: NetplanDeviceType, _ node: Node) {
            guard let entries = mapping(node, type.rawValue) else { return }
            for (id, keyNode, value) in entries {
                var device = NetplanDevice(type: type, id: id, source: source(keyNode))
                guard let keys = mapping(value, "\(type.rawValue).\(id)") else { continue }
                for (key, kn, v) in keys {
                    self.key(key, kn, v, &device)
                }
                file.devices.append(device)
            }
        }

        mutating func key(_ key: String, _ keyNode: Node, _ v: Node, _ d: inout NetplanDevice) {
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
            case "macaddress": d.macAddress = string(v, key)
            case "interfaces": d.interfaces += strings(v, key)
            case "id":
                if let n = int(v, key) {
                    if n > 4094 && d.type == .vlans { error(v, "Invalid VLAN id \(n) (at most 4094).") }
                    d.vlanID = Located(n, source(v))
                }
            case "link": d.link = string(v, key)
            case "mode": d.mode = string(v, key)
            default:
                if !NetplanParser.deviceKeys.contains(key) {
                    error(keyNode, "Unknown key '\(key)' in \(d.type.rawValue).\(d.id).")
                }
            }
        }

        mutating func match(_ node: Node, _ d: inout NetplanDevice) {
            guard let entries = mapping(node, "match") else { return }
            var m = NetplanMatch(source: source(node))
            for (key, keyNode, v) in entries {
                switch key {
                case "name": m.name = string(v, key)
                case "macaddress": m.macAddress = string(v, key)
                case "driver":
                    // netplan 0.106 takes one glob or a list of globs.
                    if case .sequence = v { m.drivers = strings(v, key) } else if let s = string(v, key) { m.drivers = [s] }
                default: error(keyNode, "Unknown key '\(key)' in match.")
                }
            }
            d.match = m
        }

        mutating func addresses(_ node: Node, _ d: inout NetplanDevice) {
            guard let items = sequence(node, "addresses") else { return }
            for item in items {
                var text: String
                var options: [(key: String, keyNode: Node, value: Node)] = []
                var at = item
                if let s = scalar(item) {
                    text = s
                } else if case .mapping(let m) = item, m.count == 1, let (k, v) = m.first, let s = scalar(k) {
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
                d.addresses.append(a)
            }
        }

        mutating func routes(_ node: Node, _ d: inout NetplanDevice) {
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
                    case "from", "type", "scope", "mtu", "congestion-window", "advertised-receive-window", "source":
                        _ = string(v, k)
                    default: error(kn, "Unknown key '\(k)' in a route.")
                    }
                }
                if r.to == nil { error(item, "A route needs a destination ('to').") }
                d.routes.append(r)
            }
        }

        mutating func nameservers(_ node: Node, _ d: inout NetplanDevice) {
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
