import Parsers
import TargetAccess

/// A step of the plan, ready for the script: file contents are final bytes
/// with the SHA-256 expected before and after.
public enum PlannedOperation: Hashable, Sendable {
    /// Replace (or create, when `before` is nil) a file with `content`.
    case writeFile(path: String, before: String?, after: String, content: [UInt8], mode: UInt32?, edits: [LineEdit])
    /// Move a file into the backup directory.
    case moveAside(path: String, before: String)
    case createSymlink(SymlinkSpec)
    /// Move the symlink into the backup directory (it must point to `target`).
    case removeSymlink(SymlinkSpec)
    case setOwnership(path: String, from: FileOwnership, to: FileOwnership)
    case enableUnit(unit: String, links: [SymlinkSpec])
    case chroot(command: [String], why: String, undoable: Bool, changes: [String] = [])
    case manual(description: String, commands: [ShellCommand])
}

/// One action of the plan, with the id findings refer to.
public struct PlannedAction: Hashable, Sendable {
    /// `A1`, `A2`, ... in execution order.
    public var id: String
    public var operation: PlannedOperation
    /// One line for a person: what the step does.
    public var summary: String
    /// The rules whose findings asked for it.
    public var rules: [String]
}

/// A finding's view of one plan action.
public struct PlanReference: Hashable, Sendable {
    public var id: String
    public var summary: String
}

/// Two requests that want the same lines of a file changed differently.
/// Neither is emitted; the message says which.
public struct PlanConflict: Error, Hashable, Sendable {
    public var path: String
    public var rules: [String]
    public var message: String
}

/// What one finding asks the plan for.
public struct ActionRequest: Sendable {
    public var rule: String
    public var findingIndex: Int
    public var action: RepairAction
    public var summary: String

    public init(rule: String, findingIndex: Int, action: RepairAction, summary: String) {
        self.rule = rule
        self.findingIndex = findingIndex
        self.action = action
        self.summary = summary
    }
}

/// The deduplicated, ordered, conflict-checked plan.
public struct RepairPlan: Sendable {
    public var actions: [PlannedAction]
    public var conflicts: [PlanConflict]
    /// For each finding index, the actions that serve it, each with the
    /// finding's own words for it (one action may serve several findings).
    public var actionsByFinding: [Int: [PlanReference]]

    public static let empty = RepairPlan(actions: [], conflicts: [], actionsByFinding: [:])

    public var automaticActions: [PlannedAction] {
        actions.filter { if case .manual = $0.operation { false } else { true } }
    }
    public var manualActions: [PlannedAction] {
        actions.filter { if case .manual = $0.operation { true } else { false } }
    }
}

/// Builds the plan: merges every edit of a file into one write, refuses
/// overlapping edits that disagree, drops duplicates, and orders the steps:
/// file changes (grouped by file), then unit enables, then chroot steps,
/// then manual steps.
public enum PlanBuilder {
    /// `fileBytes` returns the audited bytes of a target file (nil when absent).
    public static func build(_ requests: [ActionRequest], fileBytes: (String) -> [UInt8]?) -> RepairPlan {
        // Group file-writing requests by path, keep the rest in request order.
        var byPath: [String: [ActionRequest]] = [:]
        var pathOrder: [String] = []
        var others: [ActionRequest] = []
        for r in requests {
            switch r.action {
            case .editLines(let p, _), .appendBlock(let p, _), .createFile(let p, _, _):
                if byPath[p] == nil { pathOrder.append(p) }
                byPath[p, default: []].append(r)
            default:
                others.append(r)
            }
        }

        var staged: [(phase: Int, key: String, op: PlannedOperation, summary: String, requests: [ActionRequest])] = []
        var conflicts: [PlanConflict] = []

        for path in pathOrder.sorted() {
            let reqs = byPath[path] ?? []
            switch merge(path: path, reqs, original: fileBytes(path)) {
            case .success(let op):
                let summary = uniqueJoined(reqs.map(\.summary))
                staged.append((0, path, op, summary, reqs))
            case .failure(let conflict):
                conflicts.append(conflict)
            }
        }
        for r in others {
            let op: PlannedOperation
            switch r.action {
            case .moveAside(let p):
                guard let bytes = fileBytes(p) else { continue }
                op = .moveAside(path: p, before: sha256Hex(bytes))
            case .createSymlink(let s): op = .createSymlink(s)
            case .removeSymlink(let s): op = .removeSymlink(s)
            case .setOwnership(let p, let from, let to): op = .setOwnership(path: p, from: from, to: to)
            case .enableUnit(let u, let links): op = .enableUnit(unit: u, links: links)
            case .chroot(let c, let why, let undoable, let changes): op = .chroot(command: c, why: why, undoable: undoable, changes: changes)
            case .manual(let d, let c): op = .manual(description: d, commands: c)
            case .editLines, .appendBlock, .createFile: continue
            }
            // Identical operations from several findings become one action.
            if let i = staged.firstIndex(where: { $0.op == op }) {
                staged[i].requests.append(r)
                continue
            }
            // A file both moved aside and edited: the move wins nothing; refuse both.
            if case .moveAside(let p, _) = op, staged.contains(where: { $0.key == p }) {
                conflicts.append(PlanConflict(path: p, rules: [r.rule], message: "\(p) is both edited and moved aside; neither change is made."))
                staged.removeAll { $0.key == p }
                continue
            }
            staged.append((r.action.phase, op.sortKey, op, r.summary, [r]))
        }

        // Stable order by phase; file writes are already sorted by path.
        let ordered = staged.enumerated().sorted { a, b in
            a.element.phase != b.element.phase ? a.element.phase < b.element.phase : a.offset < b.offset
        }.map(\.element)

        var actions: [PlannedAction] = []
        var byFinding: [Int: [PlanReference]] = [:]
        for (i, s) in ordered.enumerated() {
            let id = "A\(i + 1)"
            let rules = Array(Set(s.requests.map(\.rule))).sorted()
            actions.append(PlannedAction(id: id, operation: s.op, summary: s.summary, rules: rules))
            for r in s.requests { byFinding[r.findingIndex, default: []].append(PlanReference(id: id, summary: r.summary)) }
        }
        return RepairPlan(actions: actions, conflicts: conflicts, actionsByFinding: byFinding)
    }

    private static func uniqueJoined(_ parts: [String]) -> String {
        var seen = Set<String>()
        return parts.filter { seen.insert($0).inserted }.joined(separator: "; ")
    }

    /// Applies every request for one file to its audited bytes.
    /// Whether two of the edits overlap as the pairwise check in `merge`
    /// defines it: removed ranges that intersect, two insertions at one line,
    /// or an insertion strictly inside a removed range.
    static func anyOverlap(_ edits: [LineEdit]) -> Bool {
        let removals = edits.filter { $0.removeCount > 0 }.sorted { $0.line < $1.line }
        var reach: [Int] = []  // the furthest end among removals[0...k]
        var end = Int.min
        for r in removals {
            if r.line < end { return true }
            end = max(end, r.line + r.removeCount)
            reach.append(end)
        }
        var insertions = Set<Int>()
        for e in edits where e.removeCount == 0 {
            if !insertions.insert(e.line).inserted { return true }
            // Removals that start before the insertion's line: does one reach past it?
            var lo = 0, hi = removals.count
            while lo < hi { let mid = (lo + hi) / 2; if removals[mid].line < e.line { lo = mid + 1 } else { hi = mid } }
            if lo > 0 && reach[lo - 1] > e.line { return true }
        }
        return false
    }

    private static func merge(path: String, _ reqs: [ActionRequest], original: [UInt8]?) -> Result<PlannedOperation, PlanConflict> {
        var edits: [(LineEdit, String)] = []
        var appended: [String] = []
        var created: (lines: [String], mode: UInt32)? = nil
        var seenAppends = Set<[String]>()
        for r in reqs {
            switch r.action {
            case .editLines(_, let e): edits += e.map { ($0, r.rule) }
            case .appendBlock(_, let lines):
                if seenAppends.insert(lines).inserted { appended += lines }
            case .createFile(_, let lines, let mode):
                if let c = created, c.lines != lines {
                    return .failure(PlanConflict(path: path, rules: reqs.map(\.rule), message: "Two fixes want to create \(path) with different contents; neither is written."))
                }
                created = (lines, mode)
            default: break
            }
        }
        if created != nil && (original != nil || !edits.isEmpty || !appended.isEmpty) {
            return .failure(PlanConflict(path: path, rules: reqs.map(\.rule), message: "A fix wants to create \(path), which exists or is edited by another fix; neither is written."))
        }
        // Line edits need the audited lines: a file that could not be read
        // (a directory, too large, unreadable) must not be replaced by the
        // edited lines alone.
        if original == nil && !edits.isEmpty {
            return .failure(PlanConflict(path: path, rules: Array(Set(edits.map(\.1))).sorted(),
                                         message: "\(path) could not be read, so its lines are not edited; fix it by hand."))
        }
        // Deduplicate identical edits, then refuse overlaps that differ.
        var unique: [(LineEdit, String)] = []
        var seenEdits = Set<LineEdit>()
        for e in edits where seenEdits.insert(e.0).inserted { unique.append(e) }
        // Thousands of edits (a gateway line in each of 20,000 aliases) are
        // checked in n log n; only when some pair overlaps is the first one looked for.
        let overlapping = anyOverlap(unique.map(\.0))
        for i in unique.indices where overlapping {
            for j in unique.indices where j > i {
                let a = unique[i].0, b = unique[j].0
                let overlap = a.range.overlaps(b.range) || (a.removeCount == 0 && b.removeCount == 0 && a.line == b.line)
                    || (a.removeCount == 0 && b.range.contains(a.line) && b.line != a.line)
                    || (b.removeCount == 0 && a.range.contains(b.line) && a.line != b.line)
                if overlap {
                    return .failure(PlanConflict(path: path, rules: [unique[i].1, unique[j].1],
                        message: "\(unique[i].1) and \(unique[j].1) want line \(min(a.line, b.line)) of \(path) changed differently; neither change is made."))
                }
            }
        }

        let mode: UInt32? = created?.mode
        var lines: [[UInt8]]
        var endsWithNewline = true
        if let original {
            lines = splitLines(original)
            endsWithNewline = original.isEmpty || original.last == 0x0A
        } else {
            lines = []
        }
        if let created { lines = created.lines.map { Array($0.utf8) } }
        // Apply from the bottom so earlier line numbers stay valid.
        for (e, _) in unique.sorted(by: { $0.0.line > $1.0.line }) {
            let start = max(0, min(e.line - 1, lines.count))
            let end = min(lines.count, start + e.removeCount)
            lines.replaceSubrange(start..<end, with: e.insert.map { Array($0.utf8) })
        }
        if !appended.isEmpty {
            lines += appended.map { Array($0.utf8) }
            endsWithNewline = true
        }
        var content: [UInt8] = []
        for (i, l) in lines.enumerated() {
            content += l
            if i < lines.count - 1 || endsWithNewline { content.append(0x0A) }
        }
        var allEdits = unique.map(\.0)
        if !appended.isEmpty {
            allEdits.append(.insert(appended, before: (original.map { splitLines($0).count } ?? 0) + 1))
        }
        if let created { allEdits = [.insert(created.lines, before: 1)] }
        return .success(.writeFile(path: path, before: original.map { sha256Hex($0) }, after: sha256Hex(content),
                                   content: content, mode: mode, edits: allEdits))
    }

    /// Lines without their `\n` (a final line without newline included); CR kept.
    static func splitLines(_ bytes: [UInt8]) -> [[UInt8]] {
        guard !bytes.isEmpty else { return [] }
        var out = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        if bytes.last == 0x0A { out.removeLast() }
        return out
    }
}

extension PlannedOperation {
    var sortKey: String {
        switch self {
        case .writeFile(let p, _, _, _, _, _), .moveAside(let p, _): p
        case .createSymlink(let s), .removeSymlink(let s): s.path
        case .setOwnership(let p, _, _): p
        case .enableUnit(let u, _): u
        case .chroot(let c, _, _, _): c.joined(separator: " ")
        case .manual(let d, _): d
        }
    }
}
