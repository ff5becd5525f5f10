import Parsers
import Plan
import SystemModel

/// `sshd-config-invalid`: sshd_config (with its Includes) has lines
/// `sshd -t` refuses (sshd then does not start), or lines it ignores with a
/// warning (deprecated and unsupported keywords), one finding per file.
public struct SshdConfigInvalid: Rule {
    public static let id = "sshd-config-invalid"
    public init() {}

    public func check(_ system: SystemSnapshot) -> [Finding] {
        let config = system.sshd.config
        guard config.exists else { return [] }
        var findings: [Finding] = []
        let byFile = Dictionary(grouping: config.problems) { $0.source.location.path }
        for path in byFile.keys.sorted() {
            guard let problems = byFile[path] else { continue }
            let refused = problems.filter(\.refuses)
            let warned = problems.filter { !$0.refuses }
            if !refused.isEmpty {
                // No SSH means nobody gets in; a machine without sshd installed only has a wrong file.
                let severity: Severity = system.sshd.present ? .critical : .medium
                let lines = refused.map { String($0.source.location.line) }.joined(separator: ", ")
                findings.append(finding(severity,
                    message: "\(path) line\(refused.count > 1 ? "s" : "") \(lines): \(refused[0].message)" + (refused.count > 1 ? " (and \(refused.count - 1) more)" : ""),
                    atBoot: "sshd checks its whole configuration when it starts (the unit runs sshd -t first) and refuses to start on any of these lines, so nothing answers on the SSH port.",
                    evidence: refused.map { Evidence($0.source, note: $0.message) },
                    actions: commentOut(path, refused, config, system)))
            }
            if !warned.isEmpty {
                findings.append(finding(.low,
                    message: "\(path): sshd ignores \(warned.count == 1 ? "a line" : "\(warned.count) lines") with a keyword it no longer supports (\(warned.map { "line \($0.source.location.line)" }.joined(separator: ", "))).",
                    atBoot: "sshd starts, logs a warning and ignores the line; the setting it names has no effect.",
                    evidence: warned.map { Evidence($0.source, note: $0.message) }))
            }
        }
        return findings
    }

    /// Comments out each refused line. A refused `Match` line takes its whole
    /// block with it: commenting out only the Match line would put the
    /// block's lines in the block above, or make them global.
    private func commentOut(_ path: String, _ refused: [SshdConfigProblem], _ config: SshdConfigModel,
                            _ system: SystemSnapshot) -> [ProposedAction] {
        guard let bytes = system.bytes(path) else { return [] }
        let lines = Text.lines(bytes)
        var toComment: Set<Int> = []
        for p in refused {
            let n = p.source.location.line
            guard n >= 1 && n <= lines.count else { continue }
            toComment.insert(n)
            if p.isMatchLine {
                for d in config.directives where d.matchSource == p.source && d.source.location.path == path {
                    toComment.insert(d.source.location.line)
                }
            }
        }
        let edits = toComment.sorted().compactMap { n -> LineEdit? in
            let text = lines[n - 1]
            guard !Text.trimmed(text).hasPrefix("#") else { return nil }
            return .replace(line: n, with: ["#" + text])
        }
        guard !edits.isEmpty else { return [] }
        return [ProposedAction(.editLines(path: path, edits: edits),
                               "Comment out the line\(edits.count > 1 ? "s" : "") of \(path) that sshd refuses")]
    }
}
