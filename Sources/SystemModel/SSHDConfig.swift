import Glibc
import Parsers
import TargetAccess

/// One way `sshd -t` would judge a line of the configuration.
public struct SshdConfigProblem: Hashable, Sendable {
    public var source: SourceLine
    public var message: String
    /// sshd refuses the whole configuration (it exits with status 255);
    /// false: a warning, sshd ignores the line and starts.
    public var refuses: Bool
    /// The `Match` line of the block the line sits in, when it is in one.
    public var matchSource: SourceLine?
    /// The line is itself a `Match` line: commenting it out would move its
    /// block's lines into the block above, so it is never repaired automatically.
    public var isMatchLine: Bool
}

/// sshd_config with every `Include` expanded in place, as sshd reads it,
/// and what sshd would say about each line.
public struct SshdConfigModel: Sendable {
    /// The main file's path (`/etc/ssh/sshd_config`).
    public var mainPath = "/etc/ssh/sshd_config"
    /// Whether the main file exists (sshd refuses to start without it).
    public var exists = false
    public var directives: [SshdDirective] = []
    public var problems: [SshdConfigProblem] = []
    /// Every file read.
    public var files: [String] = []
    /// Files that were looked at and not read (too large, not regular).
    public var diagnostics: [Diagnostic] = []

    public init() {}

    /// Whether sshd -t accepts it (every refused line is in `problems`).
    public var accepted: Bool { exists && !problems.contains(where: \.refuses) }

    /// The first global value of a keyword (sshd keeps the first value of
    /// single-valued keywords); lines inside a Match block other than `Match
    /// all` do not count.
    public func global(_ keyword: String) -> SshdDirective? {
        directives.first { $0.keyword == keyword && !$0.inConditionalMatch && !$0.arguments.isEmpty }
    }

    /// Every global line of a keyword, in order (for list keywords).
    public func globalAll(_ keyword: String) -> [SshdDirective] {
        directives.filter { $0.keyword == keyword && !$0.inConditionalMatch && !$0.arguments.isEmpty }
    }

    // MARK: - Loading

    /// At most this many files are read for one configuration, whatever its
    /// Includes say; sshd itself stops at 16 levels of nesting.
    static let fileBudget = 256
    static let maxDepth = 16

    public static func load(_ root: TargetRoot, path: String = "/etc/ssh/sshd_config") -> SshdConfigModel {
        var model = SshdConfigModel()
        model.mainPath = path
        guard let bytes = root.readConfig(path, files: &model.files, diagnostics: &model.diagnostics) else { return model }
        model.exists = true
        var budget = fileBudget
        model.expand(root, bytes, path: path, match: nil, ancestors: [path], budget: &budget)
        model.check()
        return model
    }

    private mutating func expand(_ root: TargetRoot, _ bytes: [UInt8], path: String, match: SshdDirective?,
                                 ancestors: [String], budget: inout Int) {
        let file = SshdConfigParser.parse(bytes, path: path, startsInMatch: match != nil,
                                          matchCriteria: match?.arguments, matchSource: match?.source)
        for d in file.diagnostics {
            problems.append(SshdConfigProblem(source: SourceLine(d.location, d.text), message: d.message, refuses: true,
                                              matchSource: nil, isMatchLine: false))
        }
        var currentMatch = match
        for d in file.directives {
            if d.keyword == "match" { currentMatch = d }
            guard d.keyword == "include" else { directives.append(d); continue }
            directives.append(d)
            for pattern in d.arguments {
                let absolute = pattern.hasPrefix("/") ? pattern : "/etc/ssh/" + pattern
                for included in root.glob(absolute) {
                    if ancestors.contains(included) || ancestors.count >= Self.maxDepth {
                        // sshd follows it until its nesting limit, then: "Too many recursive configuration includes".
                        problems.append(SshdConfigProblem(source: d.source,
                            message: "Include of \(included) loops back into a file that includes it: sshd stops with \"Too many recursive configuration includes\".",
                            refuses: true, matchSource: d.matchSource, isMatchLine: false))
                        continue
                    }
                    guard budget > 0 else {
                        diagnostics.append(Diagnostic(d.source.location, text: d.source.text,
                            message: "More than \(Self.fileBudget) included files: the rest were not read."))
                        return
                    }
                    budget -= 1
                    guard let b = root.readConfig(included, files: &files, diagnostics: &diagnostics) else { continue }
                    expand(root, b, path: included, match: d.inMatch ? currentMatch : nil,
                           ancestors: ancestors + [included], budget: &budget)
                }
            }
        }
    }

    /// What sshd -t says about each line: unknown keywords, bad values,
    /// keywords not allowed in a Match block, bad Match criteria.
    mutating func check() {
        var subsystems: Set<String> = []
        for d in directives {
            // The keyword as written, for messages.
            let written = Text.trimmed(d.source.text).split(whereSeparator: { $0 == "=" || Text.isSpace($0) }).first.map(String.init) ?? d.keyword
            func add(_ m: String, refuses: Bool = true) {
                problems.append(SshdConfigProblem(source: d.source, message: m, refuses: refuses, matchSource: d.matchSource,
                                                  isMatchLine: d.keyword == "match"))
            }
            if d.keyword == "match" {
                if let why = SshdKeywords.matchProblem(d.arguments) { add(why.prefix(1).uppercased() + why.dropFirst() + ".") }
                continue
            }
            guard let kw = SshdKeywords.table[d.keyword] else {
                add("'\(written)' is not a keyword this sshd knows (Bad configuration option): sshd refuses to start.")
                continue
            }
            if d.inConditionalMatch && !kw.inMatch {
                add("\(written) is not allowed inside a Match block (\(d.matchSource.map { Text.trimmed($0.text) } ?? "Match")): sshd refuses to start.")
                continue
            }
            switch kw.support {
            case .deprecated:
                add("\(written) is a deprecated option: sshd ignores this line.", refuses: false)
                continue
            case .unsupported:
                add("\(written) is not supported by this sshd: it ignores this line.", refuses: false)
                continue
            case .supported:
                break
            }
            if let why = SshdKeywords.valueProblem(d.keyword, d.arguments) {
                add(why.prefix(1).uppercased() + why.dropFirst() + ".")
                continue
            }
            if d.keyword == "subsystem", let name = d.arguments.first, !d.inConditionalMatch {
                if d.arguments.count < 2 { add("Missing subsystem command: sshd refuses to start."); continue }
                if !subsystems.insert(name).inserted { add("Subsystem '\(name)' already defined: sshd refuses to start.") }
            }
            if d.keyword == "listenaddress", let a = d.arguments.first {
                if d.arguments.count > 1 && !(d.arguments.count == 3 && d.arguments[1].lowercased() == "rdomain") {
                    add("Extra arguments after the address: sshd refuses to start.")
                } else if d.arguments.count == 3 {
                    add("Routing domains are not supported on Linux: sshd refuses to start.")
                } else if SshdConfigParser.listenAddress(a) == nil {
                    add("Bad ListenAddress '\(a)': sshd refuses to start.")
                }
            }
        }
    }
}
