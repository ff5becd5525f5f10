import Parsers
import TargetAccess

extension SSHDModel {
    /// The keywords that decide whether an account gets in, as they apply
    /// to one account: the first value in a Match block that applies to it
    /// (sshd copies those over the global ones), else the first global one.
    struct AccountSettings {
        var config: SshdConfigModel
        var user: String
        var groups: Set<String>
        /// Match blocks whose criteria depend on the connection (Address,
        /// Host...) set one of these keywords: the answer may differ by client.
        var connectionDependent: Set<String> = []

        /// nil: the block does not apply; true: it does; the block is
        /// connection-dependent when `decidable` is false.
        static func applies(_ criteria: [String], user: String, groups: Set<String>) -> (applies: Bool, decidable: Bool) {
            if criteria.count == 1, criteria[0].lowercased() == "all" { return (true, true) }
            var result = true, decidable = true
            var i = 0
            while i + 1 < criteria.count {
                let value = criteria[i + 1]
                switch criteria[i].lowercased() {
                case "user": if !patternList(value, matches: [user]) { result = false }
                case "group": if !patternList(value, matches: Array(groups)) { result = false }
                default: decidable = false
                }
                i += 2
            }
            return (result, decidable)
        }

        func value(_ keyword: String) -> SshdDirective? { all(keyword).first }

        /// Every line of a keyword that applies: the matching Match blocks'
        /// lines when any sets it, else the global lines.
        func all(_ keyword: String) -> [SshdDirective] {
            var fromMatch: [SshdDirective] = []
            for d in config.directives where d.keyword == keyword && d.inConditionalMatch && !d.arguments.isEmpty {
                let (applies, decidable) = Self.applies(d.matchCriteria ?? [], user: user, groups: groups)
                if applies && decidable { fromMatch.append(d) }
            }
            return fromMatch.isEmpty ? config.globalAll(keyword) : fromMatch
        }

        func flag(_ keyword: String, default def: Bool) -> Bool {
            guard let v = value(keyword)?.arguments.first?.lowercased() else { return def }
            return v == "yes"
        }
    }

    /// match_pattern_list: comma-separated shell patterns, `!` negates and wins.
    static func patternList(_ list: String, matches names: [String]) -> Bool {
        var positive = false
        for name in names {
            for raw in list.split(separator: ",") {
                var p = Substring(raw)
                let negated = p.hasPrefix("!")
                if negated { p = p.dropFirst() }
                if wildcard(String(p).lowercased(), name.lowercased()) {
                    if negated { return false }
                    positive = true
                }
            }
        }
        return positive
    }

    /// `*` and `?` as OpenSSH's match_pattern.
    static func wildcard(_ pattern: String, _ s: String) -> Bool {
        let p = Array(pattern), t = Array(s)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count && (p[pi] == "?" || p[pi] == t[ti]) { pi += 1; ti += 1 }
            else if pi < p.count && p[pi] == "*" { star = pi; mark = ti; pi += 1 }
            else if star >= 0 { pi = star + 1; mark += 1; ti = mark }
            else { return false }
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }

    static let authKeywords: Set<String> = [
        "passwordauthentication", "kbdinteractiveauthentication", "challengeresponseauthentication", "pubkeyauthentication",
        "authorizedkeysfile", "authorizedkeyscommand", "permitrootlogin", "allowusers", "denyusers", "allowgroups",
        "denygroups", "authenticationmethods", "permitemptypasswords",
    ]

    // MARK: - Login

    mutating func evaluateLogin(_ root: TargetRoot, _ ctx: SSHDContext) -> BootLink {
        guard let pwBytes = root.bytes("/etc/passwd") else {
            return BootLink(.login, .cannotTell, "/etc/passwd could not be read, so the accounts are unknown")
        }
        let passwd = AccountParsers.passwd(pwBytes, path: "/etc/passwd").entries
        let groups = root.bytes("/etc/group").map { AccountParsers.group($0, path: "/etc/group") } ?? []
        let shadow = root.bytes("/etc/shadow").map { AccountParsers.shadow($0, path: "/etc/shadow") }
        // systemd-user-sessions.service removes /etc/nologin when boot reaches
        // it (a qemu boot of Debian 12 with a leftover /etc/nologin answered
        // and let the user in: docs/boot-checks.md), so it locks nobody out there.
        let removedAtBoot = ctx.initSystem.kind == .systemd && ctx.units.isMasked("systemd-user-sessions.service") == nil
            && ctx.units.unitFile("systemd-user-sessions.service") != nil
        if root.exists("/etc/nologin") && !removedAtBoot {
            nologin = SourceLine(path: "/etc/nologin", line: 0, text: "")
            nologinReadable = root.bytes("/etc/nologin") != nil
        }
        let usePAM = config.global("usepam")?.arguments.first?.lowercased() == "yes"
        let strict = config.global("strictmodes")?.arguments.first?.lowercased() != "no"
        let groupModes = userGroupModes.map { _ in GroupModes(passwd: passwd, groups: groups) }

        // tcp wrappers, when the binary links libwrap.
        if linksLibwrap == true {
            let allow = root.bytes("/etc/hosts.allow").map { HostsAccessParser.parse($0, path: "/etc/hosts.allow") } ?? []
            let deny = root.bytes("/etc/hosts.deny").map { HostsAccessParser.parse($0, path: "/etc/hosts.deny") } ?? []
            let allowsSome = allow.contains { $0.appliesTo("sshd") }
            hostsDenyAll = allowsSome ? [] : deny.filter { $0.appliesTo("sshd") && $0.everyClient }.map(\.source)
        }

        // Connection-dependent Match blocks that change who gets in.
        let conditional = config.directives.filter { d in
            d.inConditionalMatch && Self.authKeywords.contains(d.keyword)
                && !AccountSettings.applies(d.matchCriteria ?? [], user: "", groups: []).decidable
        }

        for entry in passwd {
            var groupNames = Set(groups.filter { $0.members.contains(entry.name) }.map(\.name))
            if let primary = groups.first(where: { $0.gid == entry.gid }) { groupNames.insert(primary.name) }
            let s = AccountSettings(config: config, user: entry.name, groups: groupNames)
            var reasons: [String] = []
            var evidence: [SourceLine] = [entry.source]
            var uncertain = false
            let shell = entry.shell.isEmpty ? "/bin/sh" : entry.shell
            let shellName = UnitEnablement.lastComponent(shell)
            guard !["nologin", "false"].contains(shellName) else { continue } // a service account, not a login
            if root.stat(shell).map({ $0.kind != .regular || !$0.isExecutable }) ?? true {
                reasons.append("its shell \(shell) does not exist (sshd: \"not allowed because shell does not exist\")")
            }
            let pw = shadow?.first { $0.name == entry.name }
            if !usePAM, pw?.password == .locked, let pw, pw.source.text.hasPrefix(entry.name + ":!") {
                reasons.append("its password is locked and UsePAM is off, so sshd refuses the account")
                evidence.append(pw.source)
            }
            for d in s.all("denyusers") where d.arguments.contains(where: { Self.userPattern($0, entry.name) == true }) {
                reasons.append("DenyUsers refuses it"); evidence.append(d.source)
            }
            let allowUsers = s.all("allowusers")
            if !allowUsers.isEmpty {
                let answers = allowUsers.flatMap(\.arguments).map { Self.userPattern($0, entry.name) }
                if !answers.contains(true) {
                    if answers.contains(nil) { uncertain = true } else { reasons.append("AllowUsers does not list it") }
                    evidence += allowUsers.map(\.source)
                }
            }
            for d in s.all("denygroups") where d.arguments.contains(where: { p in Self.patternList(p, matches: Array(groupNames)) }) {
                reasons.append("DenyGroups refuses its group"); evidence.append(d.source)
            }
            let allowGroups = s.all("allowgroups")
            if !allowGroups.isEmpty, !allowGroups.flatMap(\.arguments).contains(where: { Self.patternList($0, matches: Array(groupNames)) }) {
                reasons.append("AllowGroups does not list any of its groups"); evidence += allowGroups.map(\.source)
            }
            let permitRoot = s.value("permitrootlogin")?.arguments.first?.lowercased() ?? "prohibit-password"
            if entry.uid == 0 && permitRoot == "no" {
                reasons.append("PermitRootLogin is no")
                if let d = s.value("permitrootlogin") { evidence.append(d.source) }
            }
            if entry.uid != 0, let nologin {
                reasons.append("/etc/nologin exists, which refuses every login but root's"); evidence.append(nologin)
            }

            // Methods.
            var methods: [String: Bool?] = [:]
            var how: [String: String] = [:]
            let rootKeyOK = entry.uid != 0 || permitRoot != "no"
            if s.flag("pubkeyauthentication", default: true) && rootKeyOK {
                if let cmd = s.value("authorizedkeyscommand"), cmd.arguments.first?.lowercased() != "none" {
                    methods["publickey"] = .some(nil)
                    evidence.append(cmd.source)
                } else {
                    let (file, issues) = authorizedKeys(root, entry, s, strict: strict, groupModes: groupModes)
                    if let file { methods["publickey"] = true; how["publickey"] = "a key in \(file)" }
                    else {
                        methods["publickey"] = false
                        if !issues.isEmpty {
                            strictModes += issues
                            reasons.append("StrictModes ignores its authorized_keys: " + issues.map { "\($0.path) \($0.why)" }.joined(separator: "; "))
                        }
                    }
                }
            } else {
                methods["publickey"] = false
            }
            let rootPasswordOK = entry.uid != 0 || permitRoot == "yes"
            let passwordState: Bool? = shadow == nil ? nil
                : pw.map { $0.password == .usable || ($0.password == .empty && s.flag("permitemptypasswords", default: false)) } ?? false
            let kbd = s.value("kbdinteractiveauthentication") ?? s.value("challengeresponseauthentication")
            let kbdOn = kbd.map { $0.arguments.first?.lowercased() == "yes" } ?? true
            methods["password"] = s.flag("passwordauthentication", default: true) && rootPasswordOK ? passwordState : false
            methods["keyboard-interactive"] = kbdOn && usePAM && rootPasswordOK ? passwordState : false
            func method(_ k: String) -> Bool? { methods[k] ?? nil }
            if method("password") == true || method("keyboard-interactive") == true { how["password"] = "a password" }

            var can: Bool? = false
            if let am = s.value("authenticationmethods"), am.arguments.first?.lowercased() != "any" {
                evidence.append(am.source)
                for list in am.arguments {
                    var all: Bool? = true
                    for m in list.split(separator: ",") {
                        let name = String(m.split(separator: ":").first ?? m)
                        let v: Bool? = method(name)
                        if v == false { all = false; break }
                        if v == nil { all = nil }
                    }
                    if all == true { can = true; break }
                    if all == nil { can = nil }
                }
            } else {
                let vals: [Bool?] = Array(methods.values)
                can = vals.contains { $0 == true } ? true : vals.contains { $0 == nil } ? nil : false
            }
            if can == false && reasons.isEmpty {
                var why: [String] = []
                if method("publickey") == false { why.append(entry.uid == 0 && !rootKeyOK ? "no key login for root" : "no authorized_keys with a key") }
                if entry.uid == 0 && !rootPasswordOK { why.append("PermitRootLogin \(permitRoot) refuses root's password") }
                else if !s.flag("passwordauthentication", default: true) && !(kbdOn && usePAM) { why.append("password login is off (PasswordAuthentication no)") }
                else if passwordState == false { why.append("no usable password in /etc/shadow") }
                reasons.append(why.joined(separator: ", "))
                for k in ["passwordauthentication", "permitrootlogin", "pubkeyauthentication", "authorizedkeysfile"] {
                    if let d = s.value(k) { evidence.append(d.source) }
                }
                if let pw, passwordState == false { evidence.append(pw.source) }
            }
            if can == nil { uncertain = true }
            if !reasons.isEmpty { can = false }
            if can == false, !conditional.isEmpty { uncertain = true }
            accounts.append(SSHDAccountLogin(name: entry.name, uid: entry.uid, canLogin: can == true && reasons.isEmpty,
                                             uncertain: uncertain && can != true,
                                             method: how["publickey"] ?? how["password"], reasons: reasons, evidence: evidence))
        }

        if !hostsDenyAll.isEmpty {
            return BootLink(.login, .broken, "sshd links libwrap and /etc/hosts.deny refuses sshd to every client, with nothing in /etc/hosts.allow",
                            evidence: hostsDenyAll)
        }
        if let ok = accounts.first(where: \.canLogin) {
            let others = accounts.filter(\.canLogin).count - 1
            return BootLink(.login, .holds, "\(ok.name) can log in with \(ok.method ?? "a password")" + (others > 0 ? " (and \(others) more account\(others == 1 ? "" : "s"))" : ""),
                            evidence: ok.evidence)
        }
        if let unsure = accounts.first(where: \.uncertain) {
            return BootLink(.login, .cannotTell, "whether \(unsure.name) can log in depends on the client or on a command run at login",
                            evidence: unsure.evidence + conditional.map(\.source))
        }
        if accounts.isEmpty {
            return BootLink(.login, .broken, "no account in /etc/passwd has a login shell", evidence: [SourceLine(path: "/etc/passwd", line: 0, text: "")])
        }
        let shown = accounts.prefix(3).map { "\($0.name): \($0.reasons.joined(separator: "; "))" }.joined(separator: "; ")
        return BootLink(.login, .broken, "nobody can log in (\(shown))", evidence: accounts.prefix(3).flatMap(\.evidence))
    }

    /// A DenyUsers/AllowUsers pattern: `user` or `user@host`. nil when the
    /// answer depends on the client's host.
    public static func userPattern(_ pattern: String, _ user: String) -> Bool? {
        let parts = pattern.split(separator: "@", maxSplits: 1)
        let userPart = parts.first.map(String.init) ?? pattern
        guard wildcard(userPart.lowercased(), user.lowercased()) else { return false }
        return parts.count == 2 ? nil : true
    }

    /// The first AuthorizedKeysFile that holds a key and passes StrictModes,
    /// or the StrictModes problems of the ones that hold a key.
    func authorizedKeys(_ root: TargetRoot, _ entry: PasswdEntry, _ s: AccountSettings, strict: Bool,
                        groupModes: GroupModes?) -> (String?, [SSHDStrictModesIssue]) {
        let patterns = s.value("authorizedkeysfile")?.arguments ?? [".ssh/authorized_keys", ".ssh/authorized_keys2"]
        var issues: [SSHDStrictModesIssue] = []
        for p in patterns where p.lowercased() != "none" {
            var expanded = ""
            var it = p.makeIterator()
            while let c = it.next() {
                guard c == "%" else { expanded.append(c); continue }
                switch it.next() {
                case "h": expanded += entry.home
                case "u": expanded += entry.name
                case "U": expanded += String(entry.uid)
                case "%": expanded += "%"
                default: break
                }
            }
            if expanded.hasPrefix("~/") { expanded = entry.home + expanded.dropFirst() }
            let path = TargetRoot.normalize(expanded.hasPrefix("/") ? expanded : entry.home + "/" + expanded)
            guard let bytes = root.bytes(path) else { continue }
            let keys = Text.lines(bytes).filter { l in let t = Text.trimmed(l); return !t.isEmpty && !t.hasPrefix("#") }
            guard !keys.isEmpty else { continue }
            if strict {
                let found = Self.strictModes(root, path: path, home: entry.home, account: entry, groupModes: groupModes)
                if !found.isEmpty { issues += found; continue }
            }
            return (path, [])
        }
        return (nil, issues)
    }

    /// The accounts Debian's user-group-modes patch consults: nil for an
    /// sshd without it (upstream, Fedora, RHEL), where any group write bit fails.
    struct GroupModes {
        var passwd: [PasswdEntry]
        var groups: [GroupEntry]
    }

    /// secure_filename (auth_secure_path): the file and each directory up to
    /// the home directory owned by root or the account and not writable by
    /// group or others, except, with Debian's patch, by a group whose only
    /// member is the account (`secure_permissions`).
    /// lstat's mode and owner of a path that is no symlink.
    static func ownership(_ root: TargetRoot, _ path: String) -> AuditedOwnership? {
        guard let st = root.lstat(path), st.kind != .symlink else { return nil }
        return AuditedOwnership(mode: st.status.permissions, uid: st.status.userID, gid: st.status.groupID)
    }

    static func strictModes(_ root: TargetRoot, path: String, home: String, account: PasswdEntry, groupModes: GroupModes? = nil) -> [SSHDStrictModesIssue] {
        var out: [SSHDStrictModesIssue] = []
        var current = path
        let homeNorm = TargetRoot.normalize(home)
        var steps = 0
        while steps < 64 {
            steps += 1
            if let st = root.stat(current) {
                let uid = UInt32(clamping: max(account.uid, 0))
                if st.userID != 0 && st.userID != uid {
                    out.append(SSHDStrictModesIssue(account: account.name, path: current, mode: st.permissions, owner: st.userID,
                        why: "is owned by uid \(st.userID), not \(account.name) or root", fix: ["chown", account.name, current],
                        ownership: Self.ownership(root, current)))
                } else if let why = writableBySomeoneElse(permissions: st.permissions, owner: st.userID, group: st.groupID, uid: uid, groupModes) {
                    out.append(SSHDStrictModesIssue(account: account.name, path: current, mode: st.permissions, owner: st.userID,
                        why: why, fix: ["chmod", "go-w", current], ownership: Self.ownership(root, current)))
                }
            }
            if current == homeNorm || current == "/" { break }
            current = UnitEnablement.directory(of: current)
        }
        return out
    }

    /// Why sshd refuses a path for its write bits, or nil when it accepts them.
    /// Debian's `secure_permissions`: a group-writable path passes when its
    /// group exists, every account whose primary group it is is the user, it
    /// lists at most one member and that member is the path's owner, and it
    /// has at least one member either way (an empty group is a setgid
    /// program's, not a user's private group).
    static func writableBySomeoneElse(permissions: UInt32, owner: UInt32, group gid: UInt32, uid: UInt32, _ groupModes: GroupModes?) -> String? {
        let mode = String(permissions, radix: 8)
        guard permissions & 0o022 != 0 else { return nil }
        guard let groupModes else { return "is writable by group or others (mode \(mode))" }
        if permissions & 0o002 != 0 { return "is writable by others (mode \(mode))" }
        guard let group = groupModes.groups.first(where: { $0.gid >= 0 && UInt32(clamping: $0.gid) == gid }) else {
            return "is writable by its group \(gid), which is not in /etc/group (mode \(mode))"
        }
        var members = 0
        var others: [String] = []
        for p in groupModes.passwd where p.gid == group.gid {
            members += 1
            if p.uid < 0 || UInt32(clamping: p.uid) != uid { others.append(p.name) }
        }
        let owner = groupModes.passwd.first { $0.uid >= 0 && UInt32(clamping: $0.uid) == owner }
        if let first = group.members.first {
            members += 1
            if first != owner?.name { others.append(first) }
            others += group.members.dropFirst()
        }
        if owner == nil { return "is writable by its group \(group.name) and its owner uid \(owner) is not in /etc/passwd (mode \(mode))" }
        if !others.isEmpty {
            let names = Array(Set(others)).sorted()
            return "is writable by its group \(group.name), which has other members (\(names.joined(separator: ", "))) (mode \(mode))"
        }
        if members == 0 { return "is writable by its group \(group.name), which has no member (mode \(mode))" }
        return nil
    }
}
