/// One RHEL/Fedora `ifcfg-*` file (or `/etc/sysconfig/network`) read as
/// the shell assignments initscripts sources, never executed.
public struct IfcfgFile: Hashable, Sendable {
    public var path: String
    public var assignments: [ShellAssignments.Assignment]
    public var diagnostics: [Diagnostic]
    /// The last assignment of each key; built once, as the file is untrusted and may be huge.
    private var last: [String: ShellAssignments.Assignment]

    public init(path: String, assignments: [ShellAssignments.Assignment], diagnostics: [Diagnostic]) {
        self.path = path
        self.assignments = assignments
        self.diagnostics = diagnostics
        self.last = ShellAssignments.dictionary(assignments)
    }

    /// The value sh leaves for `key`: the last assignment; nil when unset or
    /// set to the empty string (initscripts tests `[ -n "$KEY" ]`).
    public func value(_ key: String) -> Located<String>? {
        guard let a = last[key], !a.value.isEmpty else { return nil }
        return Located(a.value, a.source)
    }

    /// Whether `key` is set to a word initscripts reads as "no" (`no`, `NO`,
    /// `No`; quotes are already gone). initscripts mostly compares to `no`,
    /// so anything else, including typos, counts as not-no.
    public func isNo(_ key: String) -> Bool {
        value(key).map { $0.value.lowercased() == "no" || $0.value.lowercased() == "false" } ?? false
    }

    /// Whether `key` is set to yes (`yes`, `true`, case-insensitive).
    public func isYes(_ key: String) -> Bool {
        value(key).map { ["yes", "true", "y", "1"].contains($0.value.lowercased()) } ?? false
    }

    /// The numbered variants of a key (`DNS1`, `DNS2`...), in numeric order.
    public func numbered(_ prefix: String) -> [(index: Int, value: Located<String>)] {
        var out: [(Int, Located<String>)] = []
        for key in last.keys where key.hasPrefix(prefix) {
            let rest = key.dropFirst(prefix.count)
            guard !rest.isEmpty, rest.allSatisfy(\.isASCIIDigit), let n = Int(rest) else { continue }
            if let v = value(key) { out.append((n, v)) }
        }
        return out.sorted { $0.0 < $1.0 }
    }
}

/// One static route from a `route-IFACE` or `route6-IFACE` file.
public struct IfcfgRoute: Hashable, Sendable {
    /// `default`, or the destination as written (`10.0.0.0/8`, a host address).
    public var destination: String
    public var gateway: String?
    public var metric: Int?
    public var table: Int?
    /// `dev X` when the line names a device.
    public var device: String?
    public var onLink: Bool
    public var source: SourceLine
}

/// Pure readers for initscripts' network files.
public enum IfcfgParser {
    /// Reads an `ifcfg-*` file or `/etc/sysconfig/network`.
    public static func parse(_ bytes: [UInt8], path: String) -> IfcfgFile {
        let parsed = ShellAssignments.parse(bytes, path: path)
        return IfcfgFile(path: path, assignments: parsed.assignments, diagnostics: parsed.diagnostics)
    }

    /// Reads a `route-IFACE` / `route6-IFACE` file in either format, as
    /// initscripts' `ifup-routes` picks it: when any line starts with
    /// `ADDRESSn=`, `NETMASKn=`, `GATEWAYn=`, `METRICn=` or `OPTIONSn=`, the
    /// file is sourced and read as numbered triples from 0 up to the first
    /// missing `ADDRESSn`; otherwise each non-comment line is the arguments
    /// of `ip route add`.
    public static func parseRoutes(_ bytes: [UInt8], path: String, ipv6: Bool) -> (routes: [IfcfgRoute], diagnostics: [Diagnostic]) {
        let lines = Text.lines(bytes)
        let numberedKeys = ["ADDRESS", "NETMASK", "GATEWAY", "METRIC", "OPTIONS"]
        let isNumberedForm = !ipv6 && lines.contains { line in
            let t = Text.trimmed(line[...]).uppercased()
            return numberedKeys.contains { k in
                guard t.hasPrefix(k) else { return false }
                let rest = t.dropFirst(k.count)
                let digits = rest.prefix(while: \.isASCIIDigit)
                return !digits.isEmpty && rest.dropFirst(digits.count).first == "="
            }
        }
        return isNumberedForm ? numberedRoutes(bytes, path: path) : ipRouteLines(lines, path: path, ipv6: ipv6)
    }

    private static func numberedRoutes(_ bytes: [UInt8], path: String) -> (routes: [IfcfgRoute], diagnostics: [Diagnostic]) {
        let file = parse(bytes, path: path)
        var diags = file.diagnostics
        var routes: [IfcfgRoute] = []
        var n = 0
        while let address = file.value("ADDRESS\(n)") {
            let netmask = file.value("NETMASK\(n)")
            var prefix: Int? = 32
            if let netmask {
                prefix = IPv4.prefixLength(netmask: netmask.value)
                if prefix == nil {
                    diags.append(Diagnostic(netmask.location, text: netmask.source.text,
                                            message: "NETMASK\(n)=\(netmask.value) is not a valid netmask; ifup-routes cannot add this route."))
                }
            }
            guard IPText.isIP(address.value, v6: false) else {
                diags.append(Diagnostic(address.location, text: address.source.text,
                                        message: "ADDRESS\(n)=\(address.value) is not an IPv4 address; ifup-routes cannot add this route."))
                n += 1
                continue
            }
            if let prefix {
                let dest = (address.value == "0.0.0.0" && prefix == 0) ? "default" : "\(address.value)/\(prefix)"
                var metric: Int?
                if let m = file.value("METRIC\(n)") { metric = Int(m.value) }
                routes.append(IfcfgRoute(destination: dest, gateway: file.value("GATEWAY\(n)")?.value, metric: metric,
                                         table: nil, device: nil, onLink: false, source: address.source))
            }
            n += 1
        }
        // Numbers past a gap are never read: say so, they look configured.
        let orphans = file.assignments.filter { a in
            guard a.key.hasPrefix("ADDRESS"), let k = Int(a.key.dropFirst(7)) else { return false }
            return k > n
        }
        for a in orphans {
            diags.append(Diagnostic(a.source.location, text: a.source.text,
                                    message: "\(a.key) is never read: ifup-routes stops at the first missing ADDRESSn (ADDRESS\(n))."))
        }
        return (routes, diags)
    }

    private static func ipRouteLines(_ lines: [String], path: String, ipv6: Bool) -> (routes: [IfcfgRoute], diagnostics: [Diagnostic]) {
        var routes: [IfcfgRoute] = []
        var diags: [Diagnostic] = []
        for (i, raw) in lines.enumerated() {
            let t = Text.trimmed(raw[...])
            if t.isEmpty || t.first == "#" { continue }
            let src = SourceLine(path: path, line: i + 1, text: raw)
            func bad(_ m: String) { diags.append(Diagnostic(src.location, text: raw, message: m)) }
            var words = Text.words(t).map(String.init)
            // `ip route add` accepts a route type before the prefix.
            if let first = words.first, ["unicast", "local", "broadcast", "multicast", "throw", "unreachable",
                                        "prohibit", "blackhole", "nat"].contains(first) {
                words.removeFirst()
            }
            // iproute2 takes the prefix anywhere among the keywords (`via GW dev
            // eth0 10.0.0.0/8`), after an optional `to`: the first word that is
            // neither a keyword nor a keyword's value. Move it to the front.
            if let d = destinationIndex(words) {
                let w = words.remove(at: d)
                words.insert(w, at: 0)
                if d > 0, words.count > d, words[d] == "to" { words.remove(at: d) }
            }
            if words.first == "to" { words.removeFirst() }
            guard let dest = words.first else { bad("This route line names no destination."); continue }
            var route = IfcfgRoute(destination: dest, gateway: nil, metric: nil, table: nil, device: nil, onLink: false, source: src)
            if ["default", "0.0.0.0/0", "::/0", "0/0", "all"].contains(dest) {
                route.destination = "default"
            } else if !IPText.split(dest).valid || dest.contains(":") != ipv6 {
                bad("'\(dest)' is not an \(ipv6 ? "IPv6" : "IPv4") destination; `ip route add` refuses this line.")
                continue
            }
            var ok = true
            var k = 1
            while k < words.count {
                let w = words[k]
                let next: String? = k + 1 < words.count ? words[k + 1] : nil
                switch w {
                case "via":
                    var j = k + 1
                    if j < words.count, words[j] == "inet" || words[j] == "inet6" { j += 1 }
                    guard j < words.count, IPText.isIP(words[j]) else {
                        bad("'via' is not followed by a gateway address; `ip route add` refuses this line.")
                        ok = false
                        k = j + 1
                        continue
                    }
                    route.gateway = words[j]
                    k = j + 1
                case "dev", "oif":
                    route.device = next
                    k += 2
                case "metric", "priority", "preference":
                    guard let v = next, let m = Int(v), m >= 0 else {
                        bad("'\(next ?? "")' is not a metric; `ip route add` refuses this line."); ok = false; k += 2; continue
                    }
                    route.metric = m
                    k += 2
                case "table":
                    guard let v = next else { ok = false; k += 1; continue }
                    // Named tables (main, local) need rt_tables; keep numbers only.
                    route.table = Int(v) ?? (v == "main" ? 254 : nil)
                    k += 2
                case "onlink":
                    route.onLink = true
                    k += 1
                case "src", "proto", "scope", "mtu", "advmss", "realm", "realms", "expires", "initcwnd", "initrwnd",
                     "window", "rtt", "rttvar", "ssthresh", "cwnd", "hoplimit", "features", "quickack", "congctl",
                     "pref", "tos", "dsfield", "nexthop", "weight", "from", "type", "lock", "fastopen_no_cookie":
                    k += 2
                default:
                    k += 1
                }
            }
            if ok { routes.append(route) }
        }
        return (routes, diags)
    }

    /// `ip route` keywords followed by a value, and those that stand alone.
    private static let valueKeywords: Set<String> = [
        "via", "dev", "oif", "metric", "priority", "preference", "table", "src", "proto", "scope", "mtu", "advmss",
        "realm", "realms", "expires", "initcwnd", "initrwnd", "window", "rtt", "rttvar", "ssthresh", "cwnd",
        "hoplimit", "features", "quickack", "congctl", "pref", "tos", "dsfield", "nexthop", "weight", "from",
        "type", "fastopen_no_cookie", "encap", "as", "vrf",
    ]
    private static let flagKeywords: Set<String> = ["onlink", "pervasive", "lock", "ttl-propagate"]

    /// Where the destination prefix is in an `ip route add` argument list.
    private static func destinationIndex(_ words: [String]) -> Int? {
        var k = 0
        while k < words.count {
            let w = words[k]
            if w == "to" { return k + 1 < words.count ? k + 1 : nil }
            if valueKeywords.contains(w) {
                k += (w == "via" && k + 1 < words.count && (words[k + 1] == "inet" || words[k + 1] == "inet6")) ? 3 : 2
                continue
            }
            if flagKeywords.contains(w) { k += 1; continue }
            return k
        }
        return nil
    }
}

/// IPv4 arithmetic initscripts does with `ipcalc`.
public enum IPv4 {
    /// The address as a 32-bit number; nil if not dotted-quad IPv4.
    public static func number(_ s: String) -> UInt32? {
        guard IPText.isIP(s, v6: false) else { return nil }
        let parts = s.split(separator: ".").compactMap { UInt32($0) }
        guard parts.count == 4 else { return nil }
        return parts.reduce(0) { ($0 << 8) | $1 }
    }

    /// `255.255.255.0` → 24; nil when not a contiguous netmask.
    public static func prefixLength(netmask: String) -> Int? {
        guard let n = number(netmask) else { return nil }
        let ones = (~n).leadingZeroBitCount
        let expected: UInt32 = ones == 0 ? 0 : ~UInt32(0) << UInt32(32 - ones)
        return n == expected ? ones : nil
    }

    /// The classful default prefix `ipcalc --prefix` gives an address
    /// without PREFIX or NETMASK (A: 8, B: 16, C: 24).
    public static func classfulPrefix(_ address: String) -> Int? {
        guard let n = number(address) else { return nil }
        let first = n >> 24
        switch first {
        case 0..<128: return 8
        case 128..<192: return 16
        default: return 24
        }
    }

    /// Whether `address` lies in `network/prefix`.
    public static func contains(network: String, prefix: Int, _ address: String) -> Bool {
        guard let a = number(network), let b = number(address), (0...32).contains(prefix) else { return false }
        let mask: UInt32 = prefix == 0 ? 0 : ~UInt32(0) << UInt32(32 - prefix)
        return a & mask == b & mask
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
