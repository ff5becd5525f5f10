/// Pure parsers for the account databases sshd consults at login:
/// /etc/passwd, /etc/group, /etc/shadow (only whether a password is usable)
/// and /etc/shells.

/// One /etc/passwd entry.
public struct PasswdEntry: Hashable, Sendable {
    public var name: String
    public var uid: Int
    public var gid: Int
    public var home: String
    public var shell: String
    public var source: SourceLine
}

/// One /etc/group entry.
public struct GroupEntry: Hashable, Sendable {
    public var name: String
    public var gid: Int
    public var members: [String]
    public var source: SourceLine
}

/// What /etc/shadow says about an account's password.
public struct ShadowEntry: Hashable, Sendable {
    public enum Password: Hashable, Sendable {
        /// A hash: a password can log in.
        case usable
        /// Empty field: only with `PermitEmptyPasswords yes`.
        case empty
        /// `!`, `*`, `!!`, or a hash prefixed with `!`: no password login.
        case locked
    }
    public var name: String
    public var password: Password
    public var source: SourceLine
}

public enum AccountParsers {
    /// `name:x:uid:gid:gecos:home:shell`. Lines with another field count,
    /// or a non-numeric uid/gid, are skipped as glibc's parser skips them.
    public static func passwd(_ bytes: [UInt8], path: String) -> (entries: [PasswdEntry], diagnostics: [Diagnostic]) {
        var out: [PasswdEntry] = []
        var diagnostics: [Diagnostic] = []
        for (i, line) in Text.lines(bytes).enumerated() {
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("+") || line.hasPrefix("-") { continue }
            let f = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            let source = SourceLine(path: path, line: i + 1, text: line)
            guard f.count == 7, let uid = Int(f[2]), let gid = Int(f[3]), !f[0].isEmpty else {
                diagnostics.append(Diagnostic(source.location, text: line, message: "Not a passwd entry: the account does not exist for login."))
                continue
            }
            out.append(PasswdEntry(name: f[0], uid: uid, gid: gid, home: f[5], shell: f[6], source: source))
        }
        return (out, diagnostics)
    }

    /// `name:x:gid:member,member`.
    public static func group(_ bytes: [UInt8], path: String) -> [GroupEntry] {
        var out: [GroupEntry] = []
        for (i, line) in Text.lines(bytes).enumerated() {
            if line.isEmpty || line.hasPrefix("#") { continue }
            let f = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 4, let gid = Int(f[2]) else { continue }
            let members = f[3].split(separator: ",").map { Text.trimmed(String($0)) }.filter { !$0.isEmpty }
            out.append(GroupEntry(name: f[0], gid: gid, members: members, source: SourceLine(path: path, line: i + 1, text: line)))
        }
        return out
    }

    /// `name:hash:...`; the hash field decides.
    public static func shadow(_ bytes: [UInt8], path: String) -> [ShadowEntry] {
        var out: [ShadowEntry] = []
        for (i, line) in Text.lines(bytes).enumerated() {
            if line.isEmpty || line.hasPrefix("#") { continue }
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            guard f.count >= 2, !f[0].isEmpty else { continue }
            let hash = f[1]
            let state: ShadowEntry.Password = hash.isEmpty ? .empty
                : (hash.hasPrefix("!") || hash.hasPrefix("*") || !hash.hasPrefix("$") && hash.count < 13) ? .locked : .usable
            // The text is kept without the hash: evidence must not carry it.
            let shown = String(f[0]) + ":" + (state == .usable ? "<hash>" : String(hash.prefix(2))) + ":..."
            out.append(ShadowEntry(name: String(f[0]), password: state, source: SourceLine(path: path, line: i + 1, text: shown)))
        }
        return out
    }

    /// /etc/shells: one absolute path a line, `#` comments.
    public static func shells(_ bytes: [UInt8]) -> [String] {
        Text.lines(bytes).map { Text.trimmed($0) }.filter { $0.hasPrefix("/") }
    }
}

/// One rule of /etc/hosts.allow or /etc/hosts.deny (hosts_access(5)):
/// `daemon_list : client_list [: option ...]`.
public struct HostsAccessRule: Hashable, Sendable {
    public var daemons: [String]
    public var clients: [String]
    public var source: SourceLine

    /// Whether the daemon list names this daemon (or ALL), EXCEPT honoured.
    public func appliesTo(_ daemon: String) -> Bool { Self.listMatches(daemons, daemon) }

    /// Whether the client list is `ALL` with no exception: every client.
    public var everyClient: Bool {
        clients.contains { $0.uppercased() == "ALL" } && !clients.contains { $0.uppercased() == "EXCEPT" }
    }

    static func listMatches(_ list: [String], _ name: String) -> Bool {
        var matched = false
        var except = false
        for w in list {
            if w.uppercased() == "EXCEPT" { except = true; continue }
            let hit = w.uppercased() == "ALL" || w == name || w.hasPrefix(name + "@")
            if hit { matched = !except }
        }
        return matched
    }
}

/// Parses hosts_access(5) files: `#` comment lines, a trailing backslash
/// continues a line, lists split on blanks and commas. Pure.
public enum HostsAccessParser {
    public static func parse(_ bytes: [UInt8], path: String) -> [HostsAccessRule] {
        var out: [HostsAccessRule] = []
        let lines = Text.lines(bytes)
        var i = 0
        while i < lines.count {
            let start = i
            var logical = lines[i]
            i += 1
            while logical.hasSuffix("\\") && i < lines.count {
                logical.removeLast()
                logical += " " + lines[i]
                i += 1
            }
            let t = Text.trimmed(logical)
            if t.isEmpty || t.hasPrefix("#") { continue }
            let fields = t.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count >= 2 else { continue }
            func list(_ s: Substring) -> [String] {
                s.split(whereSeparator: { $0 == "," || Text.isSpace($0) }).map(String.init)
            }
            out.append(HostsAccessRule(daemons: list(fields[0]), clients: list(fields[1]),
                                       source: SourceLine(path: path, line: start + 1, text: lines[start])))
        }
        return out
    }
}
