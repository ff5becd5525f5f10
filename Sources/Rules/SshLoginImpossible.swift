import Parsers
import Plan
import SystemModel

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

    public func check(_ system: SystemSnapshot) -> [Finding] {
        let sshd = system.sshd
        let login = sshd.boot.login
        guard sshd.present else { return [] }
        var actions: [ProposedAction] = []
        for issue in sshd.strictModes where system.root.exists(issue.path) {
            actions.append(ProposedAction(.chroot(command: issue.fix, why: "StrictModes: sshd reads authorized_keys only when it and the directories above it up to the home directory are owned by the user or root and writable by no one else",
                                                  undoable: false),
                                          "\(issue.fix.dropLast().joined(separator: " ")) \(issue.path), so sshd reads \(issue.account)'s authorized_keys"))
        }
        if login.state == .broken {
            var evidence = login.evidence.map { s in s.location.line > 0 ? Evidence(s) : Evidence.fact(s.location.path, s.text.isEmpty ? "exists" : s.text) }
            if evidence.isEmpty { evidence = [.fact("/etc/passwd", login.summary)] }
            evidence += sshd.strictModes.map { .fact($0.path, "\($0.why): StrictModes ignores \($0.account)'s keys") }
            if let n = sshd.nologin, system.bytes(n.location.path) != nil,
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
            if actions.isEmpty {
                actions.append(ProposedAction(.manual(
                    description: "Give one account a way in: put a public key in its authorized_keys (mode 600, in a .ssh directory of mode 700 it owns), or change the sshd_config line that refuses it.",
                    commands: ["mkdir -p \(rootPath("/root/.ssh")) && chmod 700 \(rootPath("/root/.ssh"))",
                               "cat YOUR_KEY.pub >> \(rootPath("/root/.ssh/authorized_keys")) && chmod 600 \(rootPath("/root/.ssh/authorized_keys"))",
                               "${EDITOR:-vi} \(rootPath(sshd.config.mainPath))"]),
                    "Give an account a way to log in"))
            }
            return [finding(.critical,
                message: "Nobody can log in over SSH: \(Self.detail(login.summary)).",
                atBoot: sshd.hostsDenyAll.isEmpty
                    ? "sshd starts and answers, but refuses every login, so the machine is reachable only from its console."
                    : "sshd accepts each connection and closes it at once (tcp wrappers), so the machine is reachable only from its console.",
                evidence: evidence, actions: actions)]
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
