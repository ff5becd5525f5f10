/// One `key=value` of a GLib key file.
public struct KeyFileEntry: Hashable, Sendable {
    public var key: String
    /// The value with GLib's escapes (`\s`, `\n`, `\t`, `\r`, `\\`) resolved;
    /// `\;` is kept, as list readers split on unescaped `;`.
    public var value: String
    public var source: SourceLine
}

/// One `[group]` of a GLib key file.
public struct KeyFileGroup: Hashable, Sendable {
    public var name: String
    public var source: SourceLine
    public var entries: [KeyFileEntry] = []
}

/// A GLib key file (NetworkManager connection keyfiles, NetworkManager.conf).
public struct KeyFile: Hashable, Sendable {
    public var path: String
    public var groups: [KeyFileGroup] = []
    public var diagnostics: [Diagnostic] = []
    /// GLib refuses the whole file (a line that is neither a comment, a
    /// group nor a key, or a key before the first group): NetworkManager then
    /// loads nothing from it.
    public var rejected = false

    public init(path: String) { self.path = path }

    /// The entry GLib returns for `key` in `group`: groups of one name merge
    /// and the last assignment wins.
    public func value(_ group: String, _ key: String) -> KeyFileEntry? {
        var last: KeyFileEntry?
        for g in groups where g.name == group {
            for e in g.entries where e.key == key { last = e }
        }
        return last
    }

    /// Every key of `group` with its winning entry, in first-seen order.
    public func entries(_ group: String) -> [KeyFileEntry] {
        var order: [String] = []
        var byKey: [String: KeyFileEntry] = [:]
        for g in groups where g.name == group {
            for e in g.entries {
                if byKey[e.key] == nil { order.append(e.key) }
                byKey[e.key] = e
            }
        }
        return order.compactMap { byKey[$0] }
    }

    public func hasGroup(_ name: String) -> Bool { groups.contains { $0.name == name } }

    /// GLib's boolean: `true`/`false`/`1`/`0`; nil for anything else.
    public func bool(_ group: String, _ key: String) -> Bool? {
        guard let v = value(group, key)?.value else { return nil }
        return KeyFileParser.bool(v)
    }
}

/// Parses GLib's key-file syntax as `g_key_file_load_from_data` does: blank
/// lines and lines starting with `#` are comments (no `;` comments, no
/// continuation lines), `[group]` headers, `key=value` with blanks around
/// `=` trimmed, repeated keys (last wins). Any other line, or a key before
/// the first group, makes GLib refuse the whole file: we record that and
/// read on, so the report can show everything. Pure.
public enum KeyFileParser {
    public static func parse(_ bytes: [UInt8], path: String) -> KeyFile {
        var file = KeyFile(path: path)
        var lineNo = 0
        var start = 0
        var rawLines: [ArraySlice<UInt8>] = []
        for (i, b) in bytes.enumerated() where b == 0x0A {
            rawLines.append(bytes[start..<i])
            start = i + 1
        }
        if start < bytes.count { rawLines.append(bytes[start...]) }
        for raw in rawLines {
            lineNo += 1
            var rawBytes = raw
            if rawBytes.last == 0x0D { rawBytes = rawBytes.dropLast() }
            let text = Text.decode(rawBytes)
            let src = SourceLine(path: path, line: lineNo, text: text)
            func reject(_ m: String) {
                file.diagnostics.append(Diagnostic(src.location, text: text, message: m))
                file.rejected = true
            }
            let t = Text.trimmed(text[...])
            if t.isEmpty || t.first == "#" { continue }
            let validUTF8 = String(validating: rawBytes, as: UTF8.self) != nil
            if t.first == "[" {
                guard t.last == "]", t.count >= 3, !t.dropFirst().dropLast().contains("]"), !t.dropFirst().dropLast().contains("[") else {
                    reject("'\(t)' is not a valid group header; GLib refuses the whole file.")
                    continue
                }
                if !validUTF8 { reject("This group name is not UTF-8; GLib refuses the whole file."); continue }
                file.groups.append(KeyFileGroup(name: String(t.dropFirst().dropLast()), source: src))
                continue
            }
            guard let eq = t.firstIndex(of: "=") else {
                reject("This line is not a key=value pair, a [group] or a # comment; GLib refuses the whole file.")
                continue
            }
            let key = String(Text.trimmed(t[..<eq]))
            guard !key.isEmpty, !key.contains("[") || key.hasSuffix("]") else {
                reject("'\(key)' is not a valid key; GLib refuses the whole file.")
                continue
            }
            guard !file.groups.isEmpty else {
                reject("A key before the first [group]; GLib refuses the whole file.")
                continue
            }
            guard validUTF8 else {
                // GLib loads the file but returns an error for this value: NetworkManager drops the property.
                file.diagnostics.append(Diagnostic(src.location, text: text,
                                                   message: "The value of '\(key)' is not UTF-8; NetworkManager cannot read it."))
                continue
            }
            let value = unescape(Text.trimmed(t[t.index(after: eq)...]))
            file.groups[file.groups.count - 1].entries.append(KeyFileEntry(key: key, value: value, source: src))
        }
        return file
    }

    /// Resolves GLib's string escapes; `\;` and unknown escapes stay as written.
    static func unescape(_ s: Substring) -> String {
        guard s.contains("\\") else { return String(s) }
        var out = ""
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            let n = s.index(after: i)
            if c == "\\", n < s.endIndex {
                switch s[n] {
                case "s": out.append(" ")
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "\\": out.append("\\")
                default: out.append(c); out.append(s[n])
                }
                i = s.index(after: n)
            } else {
                out.append(c)
                i = n
            }
        }
        return out
    }

    /// Splits a GLib string list on `;` (not `\;`), dropping the empty
    /// element a trailing `;` leaves, and trimming blanks.
    public static func list(_ s: String, separators: Set<Character> = [";"]) -> [String] {
        var out: [String] = []
        var cur = ""
        var escaped = false
        for c in s {
            if escaped { cur.append(c); escaped = false; continue }
            if c == "\\" { escaped = true; continue }
            if separators.contains(c) { out.append(cur); cur = ""; continue }
            cur.append(c)
        }
        out.append(cur)
        return out.map { Text.trimmed($0) }.filter { !$0.isEmpty }
    }

    /// GLib accepts `true`/`false`/`1`/`0`; NetworkManager's own readers also
    /// take `yes`/`no`/`on`/`off`, so we do too.
    public static func bool(_ v: String) -> Bool? {
        switch v.lowercased() {
        case "true", "1", "yes", "on": true
        case "false", "0", "no", "off": false
        default: nil
        }
    }
}

/// One address of an NM `addressN=` key: `192.0.2.5/24,192.0.2.1`.
public struct NMAddress: Hashable, Sendable {
    public var address: String
    public var prefixLength: Int
    /// The gateway written after the comma (NetworkManager uses the first
    /// one when `gateway=` is not set).
    public var gateway: String?

    public init(address: String, prefixLength: Int, gateway: String?) {
        self.address = address
        self.prefixLength = prefixLength
        self.gateway = gateway
    }
}

/// One route of an NM `routeN=` key: `10.0.0.0/8,192.0.2.254,100`.
public struct NMRoute: Hashable, Sendable {
    /// `default` for 0.0.0.0/0 and ::/0, else `dest/prefix`.
    public var destination: String
    public var nextHop: String?
    public var metric: Int?

    public init(destination: String, nextHop: String?, metric: Int?) {
        self.destination = destination
        self.nextHop = nextHop
        self.metric = metric
    }
}

/// NetworkManager's keyfile value syntax for IP settings. Pure.
public enum NMKeyfileParser {
    /// Parses a connection keyfile.
    public static func parse(_ bytes: [UInt8], path: String) -> KeyFile { KeyFileParser.parse(bytes, path: path) }

    /// One field of an address or route value, as NM's `read_field`
    /// (libnm-core-impl/nm-keyfile.c) reads it: the longest run of
    /// `characters`, ended by a delimiter (`/`, `;` or `,`, all equivalent)
    /// or the end. A bad character is an error and leaves the input where
    /// it was, so a skippable field (the prefix length) can be retried as the next one.
    private static func readField(_ current: inout Substring?, _ characters: Set<Character>) -> (field: Substring?, error: Bool) {
        guard let cur = current, !cur.isEmpty else { return (nil, false) }
        let end = cur.firstIndex { !characters.contains($0) } ?? cur.endIndex
        if end == cur.endIndex {
            current = nil
            return (cur, false)
        }
        guard "/;,".contains(cur[end]) else { return (nil, true) }
        current = cur[cur.index(after: end)...]
        return (cur[..<end], false)
    }

    private static let ipCharacters = Set("0123456789abcdefABCDEF:.%")
    private static let digits = Set("0123456789")

    /// `address[/plen][,gateway][,metric]` as NM's read_one_ip_address_or_route
    /// splits it; nil where NM drops the value (with a warning).
    private static func fields(_ s: String, route: Bool) -> (address: String, plen: String?, gateway: String?, metric: String?)? {
        var current: Substring? = Substring(Text.trimmed(s))
        let (address, e1) = readField(&current, ipCharacters)
        guard !e1, let address else { return nil }
        let plen = readField(&current, digits).field  // skippable
        let (gateway, e2) = readField(&current, ipCharacters)
        guard !e2 else { return nil }
        var metric: Substring?
        if route {
            let (m, e3) = readField(&current, digits)
            guard !e3 else { return nil }
            metric = m
        }
        // More data after the last field is "garbage at the end"; a trailing delimiter is fine.
        if let rest = current, !rest.isEmpty { return nil }
        return (String(address), plen.map(String.init), gateway.map(String.init), metric.map(String.init))
    }

    /// Parses the value of one `addressN=` or `addressesN=` key, in any of
    /// NM's forms: `192.0.2.5/24,192.0.2.1`, the legacy `192.0.2.5;24;192.0.2.1;`,
    /// `192.0.2.5/192.0.2.1` (no prefix length). A missing or out-of-range
    /// prefix length becomes 24 (IPv4) or 64 (IPv6), as NM's reader does.
    public static func address(_ s: String, ipv6: Bool) -> NMAddress? {
        guard let f = fields(s, route: false), IPText.isIP(f.address, v6: ipv6) else { return nil }
        var prefix = ipv6 ? 64 : 24
        if let p = f.plen, let n = Int(p.prefix(4)), n <= (ipv6 ? 128 : 32) { prefix = n }
        var gw: String?
        if let g = f.gateway, !g.isEmpty {
            guard IPText.isIP(g, v6: ipv6) else { return nil }
            gw = g
        }
        return NMAddress(address: f.address, prefixLength: prefix, gateway: gw)
    }

    /// Parses the value of one `routeN=` or `routesN=` key: `dest/plen[,next-hop[,metric]]`,
    /// with the same interchangeable delimiters (`a:b::/64;gw;99;`). A
    /// missing prefix length is 24 (IPv4) or 128 (IPv6), NM's route default.
    public static func route(_ s: String, ipv6: Bool) -> NMRoute? {
        guard let f = fields(s, route: true), IPText.isIP(f.address, v6: ipv6) else { return nil }
        var prefix = ipv6 ? 128 : 24
        if let p = f.plen, let n = Int(p.prefix(4)), n <= (ipv6 ? 128 : 32) { prefix = n }
        var hop: String?
        var metric: Int?
        if let g = f.gateway, !g.isEmpty {
            if IPText.isIP(g, v6: ipv6) {
                // NM writes 0.0.0.0 / :: for "no next hop".
                hop = (g == "0.0.0.0" || g == "::") ? nil : g
            } else if ipv6, f.metric == nil, g.allSatisfy(\.isNumber), let n = Int(g.prefix(10)), n <= Int(UInt32.max) {
                // build_route's workaround for an old writer's `a:b::/plen,metric` (bgo#719851).
                metric = n
            } else {
                return nil
            }
        }
        if let m = f.metric, !m.isEmpty {
            guard let n = Int(m.prefix(10)), n <= Int(UInt32.max) else { return nil }
            metric = n
        }
        let dest = prefix == 0 ? "default" : "\(f.address)/\(prefix)"
        return NMRoute(destination: dest, nextHop: hop, metric: metric)
    }
}
