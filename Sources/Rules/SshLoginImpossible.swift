import Parsers
import Plan
import SystemModel
import TargetAccess

/// `ssh-login-impossible`: sshd may start, but no account can log in with
/// it: AllowUsers/DenyUsers/groups, PermitRootLogin on a root-only machine,
/// password login off with no authorized_keys, StrictModes refusing the keys
/// file, /etc/nologin, or tcp wrappers refusing sshd. Also, at medium, an
/// account whose keys StrictModes ignores while someone else can still log in.
public struct SshLoginImpossible: Rule {
    public static let id = "ssh-login-impossible"
    public init() {}

    /// "nobody can log in (root: ...)" → "root: ...".
    static func detail(_ summary: String) -> String {
        let prefix = "nobody can log in ("
        guard summary.hasPrefix(prefix), summary.hasSuffix(")") else { return summary }
        return String(summary.dropFirst(prefix.count).dropLast())
    }

    /// StrictModes: the mode and owner sshd accepts on the way to each
    /// refused authorized_keys, the owner as a number from the target's own
    /// passwd (the account's uid), never a name the rescue system resolves.
    func strictModesFixes(_ system: SystemSnapshot) -> [ProposedAction] {
        var out: [ProposedAction] = []
        var seen: Set<String> = []
        for issue in system.sshd.strictModes where seen.insert(issue.path).inserted {
            guard let st = issue.ownership else { continue }
            let from = FileOwnership(mode: st.mode, uid: st.uid, gid: st.gid)
            var to = from
            let sameFile = system.sshd.strictModes.filter { $0.path == issue.path }
            for i in sameFile {
                guard let account = system.sshd.accounts.first(where: { $0.name == i.account }), account.uid >= 0 else { continue }
                if to.uid != 0 && to.uid != UInt32(clamping: account.uid) { to.uid = UInt32(clamping: account.uid) }
            }
            to.mode &= ~0o022
            guard to != from else { continue }
            var what: [String] = []
            if to.mode != from.mode { what.append("mode \(String(from.mode, radix: 8)) → \(String(to.mode, radix: 8))") }
            if to.uid != from.uid { what.append("owner uid \(from.uid) → \(to.uid) (\(issue.account))") }
            out.append(ProposedAction(.setOwnership(path: issue.path, from: from, to: to),
                                      "Set \(issue.path) to what StrictModes accepts (\(what.joined(separator: ", "))), so sshd reads \(sameFile.map(\.account).joined(separator: ", "))'s authorized_keys"))
        }
        return out
    }

    /// sshd_config lines that keep everybody out, changed only when the
    /// change is checked to let someone in: PermitRootLogin no on a machine
    /// where only root has keys becomes prohibit-password (keys only), and an
    /// AllowUsers that names no account that exists is commented out.
    func configFixes(_ system: SystemSnapshot) -> [ProposedAction] {
        let sshd = system.sshd
        var out: [ProposedAction] = []
        func letsSomeoneIn(_ path: String, _ edits: [(line: Int, text: String)]) -> Bool {
            guard let bytes = system.bytes(path) else { return false }
            var lines = Text.lines(bytes)
            for e in edits where e.line >= 1 && e.line <= lines.count { lines[e.line - 1] = e.text }
            var o = TargetOverlay()
            let st = system.file(path)?.status
            o.set(path, .file(bytes: Array(lines.joined(separator: "\n").utf8) + [0x0A], mode: st?.permissions ?? 0o644,
                              uid: st?.userID ?? 0, gid: st?.groupID ?? 0))
            return system.sshd(after: o).boot.login.state == .holds
        }
        // PermitRootLogin no: root has keys sshd would read if it were allowed.
        if let root = sshd.accounts.first(where: { $0.uid == 0 && $0.reasons == ["PermitRootLogin is no"] }) {
            let lines = sshd.config.directives.filter { d in
                d.keyword == "permitrootlogin" && d.arguments.first?.lowercased() == "no" && root.evidence.contains(d.source)
            }
            let byFile = Dictionary(grouping: lines) { $0.source.location.path }
            for (path, ds) in byFile.sorted(by: { $0.key < $1.key }) {
                let edits = ds.map { d -> (line: Int, text: String) in
                    let indent = String(d.source.text.prefix { $0 == " " || $0 == "\t" })
                    return (d.source.location.line, indent + "PermitRootLogin prohibit-password")
                }
                guard letsSomeoneIn(path, edits) else { continue }
                out.append(ProposedAction(.editLines(path: path, edits: edits.map { .replace(line: $0.line, with: [$0.text]) }),
                                          "Set PermitRootLogin prohibit-password in \(path) (root logs in with its key, never with a password)"))
            }
        }
        // AllowUsers that names nobody who exists.
        let people = Set(sshd.accounts.map(\.name))
        let allow = sshd.config.directives.filter { $0.keyword == "allowusers" && !$0.arguments.isEmpty }
        let namesSomeone = allow.contains { d in d.arguments.contains { p in people.contains { SSHDModel.userPattern(p, $0) != false } } }
        if !allow.isEmpty, !namesSomeone, sshd.accounts.contains(where: { $0.reasons == ["AllowUsers does not list it"] }) {
            let byFile = Dictionary(grouping: allow) { $0.source.location.path }
            for (path, ds) in byFile.sorted(by: { $0.key < $1.key }) {
                let edits = ds.map { (line: $0.source.location.line, text: "#" + $0.source.text) }
                guard letsSomeoneIn(path, edits) else { continue }
                out.append(ProposedAction(.editLines(path: path, edits: edits.map { .replace(line: $0.line, with: [$0.text]) }),
                                          "LOWERS SECURITY: comment out the AllowUsers line\(ds.count == 1 ? "" : "s") of \(path), which name\(ds.count == 1 ? "s" : "") no account that exists, so every account with a key or password may log in; put back an AllowUsers with the right names afterwards"))
            }
        }
        return out
    }

    public func check(_ system: SystemSnapshot) -> [Finding] {
        let sshd = system.sshd
        let login = sshd.boot.login
        guard sshd.present else { return [] }
        var actions = strictModesFixes(system)
        if login.state == .broken {
            var evidence = login.evidence.map { s in s.location.line > 0 ? Evidence(s) : Evidence.fact(s.location.path, s.text.isEmpty ? "exists" : s.text) }
            if evidence.isEmpty { evidence = [.fact("/etc/passwd", login.summary)] }
            evidence += sshd.strictModes.map { .fact($0.path, "\($0.why): StrictModes ignores \($0.account)'s keys") }
            if let n = sshd.nologin, sshd.nologinReadable,
               sshd.accounts.contains(where: { $0.uid != 0 && $0.reasons.count == 1 && $0.reasons[0].hasPrefix("/etc/nologin") }) {
                actions.append(ProposedAction(.moveAside(path: n.location.path), "Move /etc/nologin aside so users can log in"))
            }
            // tcp wrappers: the lines that refuse sshd to every client go; what is left still applies.
            let denyLines = Dictionary(grouping: sshd.hostsDenyAll) { $0.location.path }
            for path in denyLines.keys.sorted() {
                // A rule continued with a backslash spans lines this edit would split: left to a person.
                guard let lines = denyLines[path], system.bytes(path) != nil,
                      !lines.contains(where: { Text.trimmed($0.text).hasSuffix("\\") }) else { continue }
                actions.append(ProposedAction(.editLines(path: path, edits: lines.map { .replace(line: $0.location.line, with: ["#" + $0.text]) }),
                                              "Comment out the \(path) line\(lines.count == 1 ? "" : "s") that refuse\(lines.count == 1 ? "s" : "") sshd to every client"))
            }
            actions += configFixes(system)
            let automatic = actions.contains { $0.action.isAutomatic }
            if !automatic {
                actions.append(ProposedAction(.manual(
                    description: "Give one account a way in: put a public key in its authorized_keys (mode 600, in a .ssh directory of mode 700 it owns), or change the sshd_config line that refuses it.",
                    commands: ["mkdir -p \(path: "/root/.ssh") && chmod 700 \(path: "/root/.ssh")",
                               "cat YOUR_KEY.pub >> \(path: "/root/.ssh/authorized_keys") && chmod 600 \(path: "/root/.ssh/authorized_keys")",
                               "${EDITOR:-vi} \(path: sshd.config.mainPath)"]),
                    "Give an account a way to log in"))
            }
            var f = finding(.critical,
                message: "Nobody can log in over SSH: \(Self.detail(login.summary)).",
                atBoot: sshd.hostsDenyAll.isEmpty
                    ? "sshd starts and answers, but refuses every login, so the machine is reachable only from its console."
                    : "sshd accepts each connection and closes it at once (tcp wrappers), so the machine is reachable only from its console.",
                evidence: evidence, actions: actions)
            if !automatic {
                f.noOfflineRepair = "a way in needs a secret only you have (your public key, or a password you choose); none can be made up offline"
            }
            return [f]
        }
        // Someone gets in, but an account's keys are ignored.
        let issues = sshd.strictModes
        guard !issues.isEmpty else { return [] }
        let names = Set(issues.map(\.account)).sorted()
        return [finding(.medium,
            message: "StrictModes makes sshd ignore the authorized_keys of \(names.joined(separator: ", ")): " + issues.map { "\($0.path) \($0.why)" }.joined(separator: "; ") + ".",
            atBoot: "Key login for \(names.joined(separator: ", ")) fails after the reboot (\"Authentication refused: bad ownership or modes\"); other accounts still get in.",
            evidence: issues.map { .fact($0.path, $0.why) }, actions: actions)]
    }
}
