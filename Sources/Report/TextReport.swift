import Parsers
import Plan
import Rules
import SystemModel

/// The terminal report: most critical first, each finding in a few short
/// lines a tired person reads correctly. Colour only when asked (a TTY
/// without NO_COLOR); the words carry the meaning without it.
public enum TextReport {
    public static func render(_ result: AuditResult, system: SystemSnapshot, context: ReportContext, color: Bool) -> String {
        let c = Palette(enabled: color)
        var out: [String] = []
        let os = system.osName.map { " (\(printable($0)))" } ?? ""
        if let v = result.verdict {
            let line = printable(v.line)
            out.append(v.outcome == .reachable ? c.green(line) : v.outcome == .notReachable ? c.severity(.critical, line) : c.bold(line))
            for l in Summary.chainLines(v) { out.append(printable(l)) }
            out.append("")
        }
        out.append(c.bold("rescue-audit \(context.toolVersion)") + " - \(printable(context.target))\(os)")
        out.append("")
        out.append(c.bold("What the disk says will happen at boot"))
        for line in Summary.facts(system) { out.append("  " + printable(line)) }
        for note in context.notes { out.append("  note: " + printable(note)) }
        out.append("")

        if result.findings.isEmpty {
            out.append(c.green("No problems found.") + " Nothing on this disk is known to keep the machine off the network at the next boot.")
            return out.joined(separator: "\n") + "\n"
        }
        out.append(c.bold(Summary.countLine(result.findings)))
        out.append("")
        for (i, f) in result.findings.enumerated() {
            out.append(c.severity(f.severity, label(f.severity)) + "  " + c.bold(printable(f.title)) + "  [\(f.rule)]")
            out.append("  " + printable(f.message))
            out.append("  At boot: " + printable(f.atBoot))
            for e in f.evidence {
                var line = "    " + c.dim(printable(e.locationText))
                // Indentation of the quoted line is noise at a console; JSON keeps it exact.
                if !e.text.isEmpty { line += "  " + printable(Text.trimmed(e.text)) }
                out.append(line)
                if let note = e.note { out.append("        -> " + printable(note)) }
            }
            if !f.related.isEmpty { out.append("  See also: " + f.related.joined(separator: ", ")) }
            for ref in result.plan.actionsByFinding[i] ?? [] {
                let manual = result.plan.actions.first { $0.id == ref.id }?.kind == "manual"
                out.append("  Fix \(ref.id)\(manual ? " (manual)" : ""): " + printable(ref.summary))
            }
            out.append("")
        }
        out += Summary.planLines(result.plan, target: context.rerunArguments ?? [context.target], after: result.afterRepair).map(printable)
        return out.joined(separator: "\n") + "\n"
    }

    static func label(_ s: Severity) -> String {
        let word = s.rawValue.uppercased()
        return word + String(repeating: " ", count: max(0, 8 - word.count))
    }
}

/// Lines shared by the text and Markdown reports.
enum Summary {
    /// The chain under the verdict line: each link's state, what it says and its evidence.
    static func chainLines(_ v: Verdict) -> [String] {
        var out: [String] = []
        for stop in v.bootStops {
            out.append("  [BROKEN] boot: " + stop.summary)
            for e in stop.evidence.prefix(3) { out.append("      " + location(e) + (e.text.isEmpty ? "" : "  " + Text.trimmed(e.text))) }
        }
        for link in v.chain {
            let state = link.state == .holds ? "ok" : link.state == .broken ? "BROKEN" : "cannot tell"
            out.append("  [\(state)] \(link.kind.rawValue): \(link.summary)")
            for e in link.evidence.prefix(3) { out.append("      " + location(e) + (e.text.isEmpty ? "" : "  " + Text.trimmed(e.text))) }
        }
        return out
    }

    /// `path:line`, or the path alone for a fact about the whole file.
    static func location(_ l: SourceLine) -> String {
        l.location.line > 0 ? "\(l.location.path):\(l.location.line)" : l.location.path
    }

    static func countLine(_ findings: [Finding]) -> String {
        let counts = Severity.allCases.compactMap { s -> String? in
            let n = findings.filter { $0.severity == s }.count
            return n > 0 ? "\(n) \(s.rawValue)" : nil
        }
        return "\(findings.count) problem\(findings.count == 1 ? "" : "s") found: \(counts.joined(separator: ", ")), most critical first."
    }

    static func facts(_ s: SystemSnapshot) -> [String] {
        var lines: [String] = []
        for fs in s.unreplayedJournals {
            lines.append("WARNING: the \(fs.fsType) journal of \(fs.mountPoint) holds writes that were not replayed: this audit describes the disk as it was before them; the next mount or e2fsck replays them, and the boot may read something else.")
        }
        lines.append("init: \(s.initSystem.kind.rawValue) (\(s.initSystem.reason))")
        if let c = s.ifupdown {
            let version = s.packages.package("ifupdown")?.version.map { " \($0)" } ?? (s.packages.isKnown ? " (not installed)" : "")
            let autos = c.autoInterfaces.map(\.value)
            lines.append("ifupdown\(version): \(c.files.count) file(s), \(c.stanzas.count) stanza(s); ifup -a brings up: \(autos.isEmpty ? "nothing" : autos.joined(separator: " "))")
        } else {
            lines.append("ifupdown: no /etc/network/interfaces")
        }
        if !s.netplan.files.isEmpty {
            let state = !s.netplan.netplanInstalled ? "netplan.io not installed, so nothing reads it"
                : s.netplan.isAccepted ? "renderer \(s.netplan.effectiveRenderer)" : "netplan rejects it"
            lines.append("netplan: \(s.netplan.files.count) file(s), \(s.netplan.claims.count) device(s); \(state)")
        }
        if !s.networkd.files.isEmpty {
            lines.append("systemd-networkd: \(s.networkd.networkFiles.count) .network, \(s.networkd.linkFiles.count) .link, \(s.networkd.netdevFiles.count) .netdev file(s)")
        }
        for st in s.stacks where st.configured {
            let verdict = st.inCharge ? "acts at boot" : "does NOT act at boot"
            lines.append("\(st.stack.rawValue) \(verdict): \(st.reason)")
        }
        if !s.listeners.sshPorts.isEmpty {
            lines.append("sshd listens on port \(s.listeners.sshPorts.map { String($0.value) }.joined(separator: ", "))")
        }
        let claimed = Dictionary(grouping: s.claims.filter { $0.kind != "loopback" }) { $0.effectiveName ?? "(matched)" }
        for (name, list) in claimed where Set(list.map(\.stack)).count > 1 {
            lines.append("\(name) is configured by \(Set(list.map(\.stack.rawValue)).sorted().joined(separator: " and "))")
        }
        for family in [AddressFamily.ipv4, .ipv6] {
            let routes = s.defaultRoutes.filter { $0.family == family }
            guard !routes.isEmpty else { continue }
            let list = routes.map { "via \($0.gateway ?? "?") dev \($0.device) metric \($0.metric)" }.joined(separator: "; ")
            lines.append("\(family.displayName) default routes: \(list)")
        }
        for (i, m) in s.firewall.mechanisms.enumerated() where m.active {
            var parts: [String] = []
            for family in [AddressFamily.ipv4, .ipv6] {
                let answers = s.firewall.verdicts.filter { $0.family == family && $0.question != .established }.compactMap { v -> String? in
                    v.perMechanism.first { $0.mechanism == i }.map { "\(v.question) \($0.verdict.answer.rawValue)" }
                }
                if !answers.isEmpty { parts.append("\(family.displayName) \(answers.joined(separator: ", "))") }
            }
            lines.append("firewall at boot: \(m.name)\(parts.isEmpty ? " (loads no rules)" : ": " + parts.joined(separator: "; "))")
        }
        if !s.packages.isKnown { lines.append("packages: no dpkg database found") }
        return lines
    }

    /// `target`: the arguments that name the audited root again.
    static func planLines(_ plan: RepairPlan, target: [String], after: AfterRepair? = nil) -> [String] {
        var out: [String] = []
        let auto = plan.automaticActions.count, manual = plan.manualActions.count
        out.append("Repair plan: \(auto) automatic step\(auto == 1 ? "" : "s"), \(manual) manual step\(manual == 1 ? "" : "s").")
        for c in plan.conflicts { out.append("  refused: \(c.message)") }
        if auto > 0 {
            out.append("Write the repair script with: rescue-audit plan \((target.map { shellWord($0) } + ["-o", "repair.sh"]).joined(separator: " "))")
            if let after {
                out.append(after.line)
                if let caveat = after.caveat { out.append("  " + caveat) }
            }
        }
        return out
    }
}

/// ANSI colours, or nothing.
struct Palette {
    var enabled: Bool
    func wrap(_ code: String, _ s: String) -> String { enabled ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
    func bold(_ s: String) -> String { wrap("1", s) }
    func dim(_ s: String) -> String { wrap("2", s) }
    func green(_ s: String) -> String { wrap("32", s) }
    func severity(_ sev: Severity, _ s: String) -> String {
        switch sev {
        case .critical: wrap("1;97;41", s)
        case .high: wrap("1;31", s)
        case .medium: wrap("33", s)
        case .low: wrap("36", s)
        case .info: wrap("2", s)
        }
    }
}
