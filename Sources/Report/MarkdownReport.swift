import Parsers
import Plan
import Rules
import SystemModel

/// Markdown, to paste into a support ticket.
public enum MarkdownReport {
    public static func render(_ result: AuditResult, system: SystemSnapshot, context: ReportContext) -> String {
        var out: [String] = []
        if let v = result.verdict {
            out.append("**\(inline(v.line))**")
            out.append("")
            out.append("```")
            for l in Summary.chainLines(v) { out.append(printable(l).replacing("```", with: "`\u{200B}``")) }
            out.append("```")
            out.append("")
        }
        out.append("# rescue-audit report: \(inline(context.target))")
        out.append("")
        out.append("- Audited: \(context.auditedAt) by rescue-audit \(context.toolVersion)")
        if let os = system.osName { out.append("- System: \(inline(os))") }
        for f in Summary.facts(system) { out.append("- \(inline(f))") }
        for n in context.notes { out.append("- Note: \(inline(n))") }
        out.append("")
        if result.findings.isEmpty {
            out.append("No problems found.")
            return out.joined(separator: "\n") + "\n"
        }
        out.append("## \(Summary.countLine(result.findings))")
        out.append("")
        for (i, f) in result.findings.enumerated() {
            out.append("### \(f.severity.rawValue.uppercased()): \(inline(f.title)) (`\(f.rule)`)")
            out.append("")
            out.append(inline(f.message))
            out.append("")
            out.append("**At boot:** \(inline(f.atBoot))")
            out.append("")
            out.append("```")
            for e in f.evidence {
                out.append(printable("\(e.locationText)  \(e.text)\(e.note.map { "   # \($0)" } ?? "")").replacing("```", with: "`\u{200B}``"))
            }
            out.append("```")
            if !f.related.isEmpty { out.append("See also: " + f.related.map { "`\($0)`" }.joined(separator: ", ")) }
            for ref in result.plan.actionsByFinding[i] ?? [] { out.append("- Fix \(ref.id): \(inline(ref.summary))") }
            out.append("")
        }
        out += Summary.planLines(result.plan, target: context.rerunArguments ?? [context.target], after: result.afterRepair).map(inline)
        return out.joined(separator: "\n") + "\n"
    }

    /// Text from the target inside Markdown: printable, with markup characters escaped.
    static func inline(_ s: String) -> String {
        var out = ""
        for ch in printable(s) {
            if "\\*_[]<>|#".contains(ch) { out.append("\\") }
            out.append(ch)
        }
        return out
    }
}
