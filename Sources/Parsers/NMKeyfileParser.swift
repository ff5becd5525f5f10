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

    /// Parses one element of `addressN=`: `addr[/prefix][,gateway]`. A
    /// missing prefix defaults to 24 (IPv4) or 64 (IPv6), as NM's reader does.
    public static func address(_ s: String, ipv6: Bool) -> NMAddress? {
        let parts = s.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false).map { Text.trimmed(String($0)) }
        let split = IPText.split(parts[0])
        guard split.valid, parts[0].contains(":") == ipv6 else { return nil }
        var gw: String?
        if parts.count == 2, !parts[1].isEmpty {
            guard IPText.isIP(parts[1], v6: ipv6) else { return nil }
            gw = parts[1]
        }
        return NMAddress(address: split.address, prefixLength: split.prefix ?? (ipv6 ? 64 : 24), gateway: gw)
    }

    /// Parses one `routeN=`: `dest/prefix[,next-hop[,metric]]`.
    public static func route(_ s: String, ipv6: Bool) -> NMRoute? {
        let parts = s.split(separator: ",", omittingEmptySubsequences: false).map { Text.trimmed(String($0)) }
        let split = IPText.split(parts[0])
        guard split.valid, parts[0].contains(":") == ipv6 else { return nil }
        let prefix = split.prefix ?? (ipv6 ? 128 : 32)
        var hop: String?
        if parts.count >= 2, !parts[1].isEmpty {
            guard IPText.isIP(parts[1], v6: ipv6) else { return nil }
            // NM writes 0.0.0.0 / :: for "no next hop".
            hop = (parts[1] == "0.0.0.0" || parts[1] == "::") ? nil : parts[1]
        }
        var metric: Int?
        if parts.count >= 3, !parts[2].isEmpty {
            guard let m = Int(parts[2]), m >= 0 else { return nil }
            metric = m
        }
        let dest = prefix == 0 ? "default" : "\(split.address)/\(prefix)"
        return NMRoute(destination: dest, nextHop: hop, metric: metric)
    }
}
