import Parsers
import Plan
import SystemModel

/// What the firewall rules share: turning the model's fixes into repair
/// actions worded for a person, and its lines into evidence.
enum FirewallSupport {
    static func action(_ fix: FirewallFix) -> ProposedAction {
        switch fix {
        case .insert(let path, let before, let lines):
            let what = lines.filter { !$0.isEmpty }.map { "`\(Text.trimmed($0))`" }.joined(separator: " and ")
            return ProposedAction(.editLines(path: path, edits: [LineEdit.insert(lines, before: before)]),
                                  "Insert \(what) before line \(before) of \(path)")
        case .delete(let path, let line, let text):
            return ProposedAction(.editLines(path: path, edits: [LineEdit.delete(line: line)]), "Delete line \(line) of \(path) (`\(text)`)")
        case .createZone(let path, let from, let lines, let added):
            let how = added.isEmpty ? "without its `<icmp-block name=\"echo-request\"/>`"
                : "with \(added.map { "`\($0)`" }.joined(separator: " and ")) added"
            return ProposedAction(.createFile(path: path, lines: lines, mode: 0o644),
                                  "Create \(path) from \(from) \(how) (firewalld prefers /etc over /usr/lib)")
        case .appendCommit(let path):
            return ProposedAction(.appendBlock(path: path, lines: ["COMMIT"]), "Append the missing COMMIT line to \(path)")
        case .addRuleByHand(let firewall, let question, let family, let files):
            let what: String
            switch question {
            case .ssh(let p): what = "accept TCP port \(p) (sshd)"
            case .loopback: what = "accept all traffic on lo"
            case .ping: what = "accept ICMP echo requests"
            case .established: what = "accept established and related traffic"
            }
            return ProposedAction(.manual(
                description: "Add a rule to \(firewall) that will \(what) for \(family.displayName), before the rule that drops it (no automatic change was found that is safe)",
                commands: files.map { "${EDITOR:-vi} \(path: $0)" }), "Make \(firewall) \(what) (\(family.displayName)) by hand")
        case .byHand(let automatic):
            let done = action(automatic)
            let commands: [ShellCommand]
            switch done.action {
            case .manual(_, let c): commands = c
            default: commands = done.action.path.map { ["${EDITOR:-vi} \(path: $0)"] } ?? []
            }
            return ProposedAction(.manual(description: done.summary, commands: commands), done.summary + " (by hand)")
        case .correctByHand(let path, let line, let program, let message):
            let at = line.map { " line \($0)" } ?? ""
            return ProposedAction(.manual(
                description: "Correct \(path)\(at) so that `\(program)` accepts it (\(message.split(separator: "\n").first.map(String.init) ?? message))",
                commands: [line.map { "${EDITOR:-vi} \(path: path)   # line \($0)" } ?? "${EDITOR:-vi} \(path: path)"]),
                                  "Correct \(path)\(at) by hand")
        case .moveHookAside(let path, let missing):
            return ProposedAction(.moveAside(path: path),
                                  "Move \(path) into the backup directory, so ifup no longer runs it: it restores \(missing), which does not exist, and fails before the interface comes up (no firewall rule is lost: that file has none to load)")
        case .disable(let how):
            return disable(how)
        }
    }

    /// Keeping a firewall from loading: always a manual step, and it says it lowers security.
    static func disable(_ how: FirewallDisable) -> ProposedAction {
        switch how {
        case .moveAside(let paths, let firewall):
            return ProposedAction(.manual(
                description: "LOWERS SECURITY: move \(paths.joined(separator: " and ")) aside so the machine boots with no \(firewall) rules (an open firewall); restore a corrected ruleset afterwards",
                commands: paths.map { "mv \(path: $0) \(path: $0 + ".rescue-audit-off")" }),
                                  "Alternative (lowers security): move \(paths.joined(separator: ", ")) aside and boot with an open firewall")
        case .disableUnit(let unit, let links, let firewall):
            let commands: [ShellCommand] = links.isEmpty ? ["systemctl --root=\"$ROOT\" disable \(value: unit)"] : links.map { "rm -f \(path: $0)" }
            return ProposedAction(.manual(
                description: "LOWERS SECURITY: disable \(unit) so the machine boots without \(firewall) (an open firewall); enable it again with a corrected configuration",
                commands: commands), "Alternative (lowers security): disable \(unit) and boot with an open firewall")
        case .ufwEnabled:
            return ProposedAction(.manual(
                description: "LOWERS SECURITY: set ENABLED=no in /etc/ufw/ufw.conf so ufw loads no rules at boot (an open firewall); run `ufw enable` again once the rules are corrected",
                commands: ["sed -i 's/^ENABLED=yes/ENABLED=no/' \(path: "/etc/ufw/ufw.conf")"]),
                                  "Alternative (lowers security): set ENABLED=no in /etc/ufw/ufw.conf and boot with an open firewall")
        case .moveHook(let path, let dir, let name):
            return ProposedAction(.manual(
                description: "LOWERS SECURITY: move \(path) out of \(dir) (as the provider's guide does) so ifup no longer restores the rules; the machine boots with an open firewall",
                commands: ["mv \(path: path) \(path: "/root/" + name + ".rescue-audit-off")"]),
                                  "Alternative (lowers security): move \(path) aside and boot with an open firewall")
        case .restoreLine(let line):
            return ProposedAction(.manual(
                description: "LOWERS SECURITY: delete line \(line.location.line) of \(line.location.path) (`\(Text.trimmed(line.text))`) so ifup no longer restores the rules; the machine boots with an open firewall",
                commands: ["${EDITOR:-vi} \(path: line.location.path)   # line \(line.location.line)"]),
                                  "Alternative (lowers security): remove the restore command from \(line.location.path)")
        case .rcLocal:
            return ProposedAction(.manual(
                description: "LOWERS SECURITY: comment out the restore line(s) in /etc/rc.local so the machine boots with an open firewall",
                commands: ["${EDITOR:-vi} \(path: "/etc/rc.local")"]),
                                  "Alternative (lowers security): remove the restore from /etc/rc.local")
        }
    }

    /// The minimal fix first (automatic when the model found a safe one), then the manual steps, then the
    /// alternatives that lower security, without repeats.
    static func actions(_ verdicts: [FirewallVerdict]) -> [ProposedAction] {
        var out: [ProposedAction] = []
        for fix in verdicts.flatMap(\.fixes) + verdicts.flatMap(\.manualFixes) + verdicts.flatMap(\.alternatives) {
            let a = action(fix)
            if !out.contains(a) { out.append(a) }
        }
        return out
    }

    /// The deciding lines of several verdicts: every line on the way is
    /// noted, the last one of each trail decides; a line that decides for
    /// both families is shown once.
    static func evidence(_ verdicts: [FirewallVerdict], what: String) -> [Evidence] {
        var order: [SourceLine] = []
        var notes: [SourceLine: (families: [String], decides: Bool)] = [:]
        for v in verdicts {
            for (i, line) in v.evidence.enumerated() {
                let last = i == v.evidence.count - 1 || v.evidence[i + 1].location.path != line.location.path
                if notes[line] == nil { order.append(line) }
                var n = notes[line] ?? ([], false)
                if !n.families.contains(v.family.displayName) { n.families.append(v.family.displayName) }
                n.decides = n.decides || last
                notes[line] = n
            }
        }
        return order.map { line in
            let n = notes[line]!
            if line.text.hasPrefix("DefaultZone=") {
                return Evidence(line, note: "firewalld's default zone: inbound traffic on interfaces bound to no other zone goes there")
            }
            let fams = n.families.joined(separator: " and ")
            return Evidence(line, note: n.decides ? "\(fams): \(what) here" : "\(fams): on the way to the rule that decides")
        }
    }

    /// Why the firewalls that decide run at boot.
    static func activation(_ system: SystemSnapshot, _ verdicts: [FirewallVerdict]) -> [Evidence] {
        var seen = Set<Int>()
        var out: [Evidence] = []
        for v in verdicts {
            for mv in v.perMechanism where mv.verdict.answer == .dropped && seen.insert(mv.mechanism).inserted {
                let m = system.firewall.mechanisms[mv.mechanism]
                for (k, line) in m.activation.prefix(2).enumerated() {
                    out.append(Evidence(line, note: k == 0 ? "\(m.name) loads its rules at boot: \(m.reason)" : "how \(m.name) loads them"))
                }
            }
        }
        return out
    }

    static func names(_ system: SystemSnapshot, _ verdicts: [FirewallVerdict]) -> String {
        var names: [String] = []
        for v in verdicts {
            for mv in v.perMechanism where mv.verdict.answer == .dropped {
                let name = describe(system.firewall.mechanisms[mv.mechanism])
                if !names.contains(name) { names.append(name) }
            }
        }
        return names.joined(separator: " and ")
    }

    /// `netfilter-persistent (/etc/iptables/rules.v4)`, `ufw`, `/etc/network/if-pre-up.d/iptables`.
    static func describe(_ m: FirewallMechanism) -> String {
        switch m.kind {
        case .ufw, .firewalld, .restoreScript: return m.name
        default: return m.files.isEmpty ? m.name : "\(m.name) (\(m.files.prefix(3).joined(separator: ", ")))"
        }
    }

    /// A restore program's message on one line.
    static func oneLine(_ message: String) -> String {
        message.split(separator: "\n").map { Text.trimmed(String($0)) }.filter { !$0.isEmpty }.joined(separator: "; ")
    }

    /// The verdicts' notes, each once, as sentences.
    static func notes(_ verdicts: [FirewallVerdict]) -> String {
        var seen: [String] = []
        for n in verdicts.flatMap(\.notes) where !seen.contains(n) { seen.append(n) }
        return seen.map { n in
            let s = n.prefix(1).uppercased() + n.dropFirst()
            return s.hasSuffix(".") ? s : s + "."
        }.joined(separator: " ")
    }

    static func families(_ verdicts: [FirewallVerdict]) -> String {
        verdicts.map(\.family.displayName).joined(separator: " and ")
    }
}
