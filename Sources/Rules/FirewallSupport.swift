import Parsers
import Plan
import SystemModel

/// What the firewall rules share: turning the model's edits into repair
/// actions and its lines into evidence.
enum FirewallSupport {
    static func action(_ e: FirewallEdit) -> ProposedAction {
        switch e.change {
        case .insert(let path, let insertions):
            return ProposedAction(.editLines(path: path, edits: insertions.map { LineEdit.insert($0.lines, before: $0.before) }), e.summary)
        case .deleteLines(let path, let lines):
            return ProposedAction(.editLines(path: path, edits: lines.map { LineEdit.delete(line: $0) }), e.summary)
        case .append(let path, let lines):
            return ProposedAction(.appendBlock(path: path, lines: lines), e.summary)
        case .create(let path, let lines):
            return ProposedAction(.createFile(path: path, lines: lines, mode: 0o644), e.summary)
        case .moveAside(let path):
            return ProposedAction(.moveAside(path: path), e.summary)
        case .manual(let description, let commands):
            return ProposedAction(.manual(description: description, commands: commands), e.summary)
        }
    }

    /// The minimal fix first (automatic when the model found a safe one), then the manual steps, then the
    /// alternatives that lower security, without repeats.
    static func actions(_ verdicts: [FirewallVerdict]) -> [ProposedAction] {
        var out: [ProposedAction] = []
        for edit in verdicts.flatMap(\.fixes) + verdicts.flatMap(\.manualFixes) + verdicts.flatMap(\.alternatives) {
            let a = action(edit)
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
