import Parsers
import Rules

/// Which findings a report shows, so that the whole report (text, Markdown,
/// JSON) stays under a documented size however many findings there are
/// (docs/output-bounds.md). One selection serves every format, so the text
/// and the JSON of one audit show the same findings.
///
/// Findings arrive most critical first. Of one rule at most
/// `maxFindingsPerRule` are shown; then critical findings take from their own
/// budget and every other finding from a second one, in order, so what is
/// cut is always the least severe tail, never a critical finding while a
/// lesser one is shown. The verdict is not a finding and is never cut.
public struct ReportSelection: Sendable {
    /// Of one rule, at most this many findings are shown.
    public static let maxFindingsPerRule = 20
    /// Estimated bytes of critical findings shown, and separately of all others.
    public static let criticalBudget = 512 * 1024
    public static let otherBudget = 512 * 1024
    /// Lists of facts (interfaces, listeners, files skipped, notes, plan
    /// actions) carry at most this many items in any report.
    public static let maxListItems = 1000
    /// The hard cap on a whole report in bytes, in any format: the JSON
    /// drops its facts, then cuts the verdict's lists, rather than pass it.
    public static let maxReportBytes = 8 * 1024 * 1024

    /// Indices into the findings, in order, of those shown.
    public let shown: [Int]
    /// Per rule, in order of first omission: how many findings were not shown.
    public let omitted: [(rule: String, count: Int)]
    public var omittedCount: Int { omitted.reduce(0) { $0 + $1.count } }

    public init(_ findings: [Finding]) {
        var perRule: [String: Int] = [:]
        var usedCritical = 0, usedOther = 0
        var shown: [Int] = []
        var omittedCounts: [String: Int] = [:]
        var omittedOrder: [String] = []
        for (i, f) in findings.enumerated() {
            let size = Self.estimatedSize(f)
            var keep = perRule[f.rule, default: 0] < Self.maxFindingsPerRule
            if keep {
                if f.severity == .critical {
                    keep = usedCritical + size <= Self.criticalBudget
                    if keep { usedCritical += size }
                } else {
                    keep = usedOther + size <= Self.otherBudget
                    if keep { usedOther += size }
                }
            }
            if keep {
                perRule[f.rule, default: 0] += 1
                shown.append(i)
            } else {
                if omittedCounts[f.rule] == nil { omittedOrder.append(f.rule) }
                omittedCounts[f.rule, default: 0] += 1
            }
        }
        self.shown = shown
        self.omitted = omittedOrder.map { ($0, omittedCounts[$0] ?? 0) }
    }

    /// The sentence that says what was left out of one rule's findings.
    public static func omissionLine(rule: String, count: Int) -> String {
        "… \(count) more finding\(count == 1 ? "" : "s") of rule \(rule) not shown (the report is bounded; docs/output-bounds.md)"
    }

    /// A finding's size as the reports carry it, before escaping (printable
    /// and JSON escapes make a control byte at most 6 bytes).
    static func estimatedSize(_ f: Finding) -> Int {
        var n = 200 + f.rule.utf8.count + f.title.utf8.count + f.message.utf8.count + f.atBoot.utf8.count
        for e in f.evidence { n += 40 + e.path.utf8.count + e.text.utf8.count + (e.note?.utf8.count ?? 0) }
        for a in f.actions { n += 20 + a.summary.utf8.count }
        for r in f.related { n += 4 + r.utf8.count }
        return n
    }

    /// At most `maxListItems` of `items`, and how many were left out.
    static func capped<T>(_ items: [T]) -> ([T], Int) {
        items.count > maxListItems ? (Array(items.prefix(maxListItems)), items.count - maxListItems) : (items, 0)
    }
}
