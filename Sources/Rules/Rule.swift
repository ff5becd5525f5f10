import Parsers
import Plan
import SystemModel

/// How bad a finding is, judged by what happens at the next boot.
public enum Severity: String, Sendable, Codable, CaseIterable, Comparable {
    /// Will not boot, or unreachable after boot.
    case critical
    /// A service or route will misbehave.
    case high
    case medium
    case low
    case info

    var rank: Int {
        switch self {
        case .critical: 4
        case .high: 3
        case .medium: 2
        case .low: 1
        case .info: 0
        }
    }

    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

/// One line of evidence: a target path, a line (nil for the file as a whole) and what it says.
public struct Evidence: Hashable, Sendable {
    public var path: String
    public var line: Int?
    public var text: String
    /// Why this line matters, when that is not obvious.
    public var note: String?

    public init(path: String, line: Int?, text: String, note: String? = nil) {
        self.path = path
        self.line = line
        self.text = text
        self.note = note
    }

    public init(_ source: SourceLine, note: String? = nil) {
        self.init(path: source.location.path, line: source.location.line > 0 ? source.location.line : nil,
                  text: source.text, note: note)
    }

    /// A fact that is not a line of a file (a missing file, a package version).
    public static func fact(_ path: String, _ text: String) -> Evidence { Evidence(path: path, line: nil, text: text) }
}

/// A repair step with one line that says what it does.
public struct ProposedAction: Hashable, Sendable {
    public var action: RepairAction
    public var summary: String

    public init(_ action: RepairAction, _ summary: String) {
        self.action = action
        self.summary = summary
    }
}

/// What a rule found: what is wrong, where, what it does at boot, and the fix.
public struct Finding: Sendable {
    public var rule: String
    public var severity: Severity
    public var title: String
    /// What is wrong, in a sentence or two.
    public var message: String
    /// The failure it will cause at boot, in one sentence.
    public var atBoot: String
    public var evidence: [Evidence]
    public var actions: [ProposedAction]
    /// Target files, units and mount points this finding is about beyond its
    /// evidence paths (`networking.service`, `/srv`); findings that name the
    /// same one are linked.
    public var names: [String] = []
    /// The ids of the rules whose findings name the same file or unit.
    public var related: [String] = []
    /// Why no offline repair is safe, when the finding has none: the repair
    /// script's header says it beside the finding.
    public var noOfflineRepair: String? = nil

    public init(rule: String, severity: Severity, message: String, atBoot: String,
                evidence: [Evidence], actions: [ProposedAction] = []) {
        self.rule = rule
        self.severity = severity
        self.title = RuleCatalogue.metadata(rule)?.title ?? rule
        self.message = message
        self.atBoot = atBoot
        self.evidence = evidence
        self.actions = actions
    }
}

extension Finding {
    /// Evidence items one finding carries at most; the rest are counted in a last item.
    public static let maxEvidence = 50

    /// The finding with every piece of target text cut to a size a report can
    /// carry (`Text.maxLineBytes` per evidence line and note,
    /// `Text.maxMessageBytes` per message and fix summary) and at most
    /// `maxEvidence` evidence items, so that the size of a report does not
    /// grow with the size of the target's files (docs/output-bounds.md).
    public func bounded() -> Finding {
        var f = self
        f.message = Text.clipped(message, Text.maxMessageBytes)
        f.atBoot = Text.clipped(atBoot, Text.maxMessageBytes)
        var kept = evidence.prefix(Self.maxEvidence).map { e -> Evidence in
            var e = e
            e.path = Text.clipped(e.path, 4096)
            e.text = Text.clipped(e.text)
            e.note = e.note.map { Text.clipped($0) }
            return e
        }
        if evidence.count > Self.maxEvidence {
            kept.append(.fact(kept.last?.path ?? "", "…and \(evidence.count - Self.maxEvidence) more lines like these"))
        }
        f.evidence = kept
        f.actions = actions.map { ProposedAction($0.action, Text.clipped($0.summary, Text.maxMessageBytes)) }
        return f
    }
}

/// One rule: looks at the snapshot and returns findings. Metadata and
/// examples live in `rules/<id>/`; the logic lives in one type named after it.
public protocol Rule: Sendable {
    /// The kebab-case id, the folder name under `rules/`.
    static var id: String { get }
    init()
    func check(_ system: SystemSnapshot) -> [Finding]
}

extension Rule {
    /// The rule's default severity from its rule.yml.
    public static var defaultSeverity: Severity { RuleCatalogue.metadata(id)?.severity ?? .high }

    /// A finding of this rule.
    public func finding(_ severity: Severity? = nil, message: String, atBoot: String,
                        evidence: [Evidence], actions: [ProposedAction] = []) -> Finding {
        Finding(rule: Self.id, severity: severity ?? Self.defaultSeverity, message: message, atBoot: atBoot,
                evidence: evidence, actions: actions)
    }
}
