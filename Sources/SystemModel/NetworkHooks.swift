import Parsers
import TargetAccess

/// Who runs a hook directory, and how.
public enum HookRunner: String, Sendable, Hashable {
    /// ifupdown's `run-parts --exit-on-error`: a failing script stops the
    /// rest of the directory and makes ifup (and networking.service) fail.
    case ifupdown
    /// NetworkManager-dispatcher: each script on its own; failures are logged and ignored.
    case networkManager = "NetworkManager"
}

/// Why a hook script will not do its job at the next boot.
public enum HookProblem: Sendable, Hashable {
    /// A symlink whose target does not exist: run-parts fails to stat it and stops.
    case danglingSymlink(target: String)
    /// A name run-parts (or the dispatcher) skips without a word.
    case skippedName(reason: String)
    /// Not executable: skipped without a word.
    case notExecutable(mode: UInt32)
    /// Group- or world-writable or set-UID: NetworkManager-dispatcher refuses it.
    case unsafePermissions(mode: UInt32)
    /// Neither `#!` nor an ELF binary: exec fails with "Exec format error".
    case noShebang
    /// The `#!` interpreter ends in a carriage return (CRLF line endings).
    case crlfShebang(interpreter: String)
    /// The `#!` interpreter does not exist in the target.
    case missingInterpreter(interpreter: String)
    /// Lines end in CRLF: the shell sees a `\r` at the end of every command.
    case crlfLines(count: Int)
    /// A file it sources or execs unconditionally does not exist.
    case missingInclude(HookScriptFacts.Include)
    /// It could not be read.
    case unreadable(why: String)

    /// Whether running it fails (as opposed to it silently never running).
    public var fails: Bool {
        switch self {
        case .skippedName, .notExecutable, .unsafePermissions: false
        default: true
        }
    }
}

/// One script in a hook directory.
public struct HookScript: Sendable {
    public var path: String
    public var name: String
    public var directory: String
    public var runner: HookRunner
    /// `pre-up`, `up`, `down`, `post-down` (ifupdown); `dispatcher`, `pre-up`, `pre-down` (NetworkManager).
    public var phase: String
    /// What the script says, when it could be read.
    public var facts: HookScriptFacts?
    /// The first reason it will not do its job, nil when it looks fine.
    public var problem: HookProblem?
    /// The line to show for the problem.
    public var evidence: SourceLine?
    /// Whether the runner would execute it (a valid name, executable).
    public var isRun: Bool
    /// A regular file (not a symlink or other kind of entry).
    public var isRegularFile: Bool = false
}

extension HookProblem {
    /// What running the hook does, in a few words.
    public var summary: String {
        switch self {
        case .danglingSymlink(let t): "it is a symlink to \(t), which does not exist"
        case .skippedName(let reason): "it is skipped (\(reason))"
        case .notExecutable: "it is not executable"
        case .unsafePermissions: "NetworkManager-dispatcher refuses its permissions"
        case .noShebang: "it has no #! line, so exec fails"
        case .crlfShebang: "its #! line ends in a carriage return (CRLF line endings), so exec fails"
        case .missingInterpreter(let i): "its interpreter \(i) does not exist, so exec fails"
        case .crlfLines: "its lines end in CRLF, so every command gets a stray carriage return"
        case .missingInclude(let inc): "it stops at `\(inc.command) \(inc.path)`, which does not exist"
        case .unreadable(let why): "it could not be read (\(why))"
        }
    }
}

/// The network hook directories of a target, in the order their runners use.
public struct NetworkHooks: Sendable {
    public var scripts: [HookScript] = []
    /// The target has neither /bin nor /usr/bin: a trimmed copy of a root,
    /// where a missing interpreter says nothing about the real system.
    public var trimmedRoot = false

    public static let ifupdownDirectories: [(path: String, phase: String)] = [
        ("/etc/network/if-pre-up.d", "pre-up"), ("/etc/network/if-up.d", "up"),
        ("/etc/network/if-down.d", "down"), ("/etc/network/if-post-down.d", "post-down"),
    ]
    public static let dispatcherDirectories: [(path: String, phase: String)] = [
        ("/etc/NetworkManager/dispatcher.d", "dispatcher"), ("/etc/NetworkManager/dispatcher.d/pre-up.d", "pre-up"),
        ("/etc/NetworkManager/dispatcher.d/pre-down.d", "pre-down"),
        ("/usr/lib/NetworkManager/dispatcher.d", "dispatcher"), ("/usr/lib/NetworkManager/dispatcher.d/pre-up.d", "pre-up"),
    ]

    /// The scripts of one directory, in run order.
    public func scripts(in directory: String) -> [HookScript] { scripts.filter { $0.directory == directory } }

    /// Whether running the hook fails at boot (a missing interpreter on a trimmed copy says nothing).
    public func failsAtBoot(_ s: HookScript) -> Bool {
        guard let p = s.problem, p.fails else { return false }
        if case .missingInterpreter = p, trimmedRoot { return false }
        return true
    }

    /// Why the hook at `path` does not get as far as the line `firstUse`
    /// at boot: it is not run, it cannot be executed, it stops earlier, or
    /// ifupdown's `run-parts --exit-on-error` stopped at an earlier hook of
    /// its directory. Nil when it runs (or is not a known hook).
    public func whyNotRun(_ path: String, firstUse: Int?) -> (why: String, line: SourceLine?)? {
        guard let s = scripts.first(where: { $0.path == path }) else { return nil }
        if let p = s.problem {
            switch p {
            case .missingInclude(let inc):
                if let use = firstUse, inc.source.location.line > use { break }
                return (p.summary, s.evidence)
            case .missingInterpreter where trimmedRoot:
                break
            default:
                return (p.summary, s.evidence)
            }
        }
        if !s.isRun { return ("it is not run", s.evidence) }
        if s.runner == .ifupdown {
            let earlier = scripts(in: s.directory).filter { $0.isRun && failsAtBoot($0) && $0.name.utf8.lexicographicallyPrecedes(s.name.utf8) }
            if let e = earlier.first {
                return ("run-parts --exit-on-error stops at \(e.path) first (\(e.problem?.summary ?? "it fails"))", e.evidence)
            }
        }
        return nil
    }

    public static func load(_ root: TargetRoot) -> NetworkHooks {
        var out = NetworkHooks()
        out.trimmedRoot = root.stat("/bin")?.kind != .directory && root.stat("/usr/bin")?.kind != .directory
        for (dir, phase) in ifupdownDirectories {
            out.scripts += scan(root, dir, phase: phase, runner: .ifupdown)
        }
        var seenNames: Set<String> = []
        for (dir, phase) in dispatcherDirectories {
            // A script in /etc hides one of the same name in /usr/lib.
            let scripts = scan(root, dir, phase: phase, runner: .networkManager).filter { s in
                let key = phase + "/" + s.name
                defer { seenNames.insert(key) }
                return !seenNames.contains(key)
            }
            out.scripts += scripts
        }
        return out
    }

    static func scan(_ root: TargetRoot, _ dir: String, phase: String, runner: HookRunner) -> [HookScript] {
        guard let entries = root.listFollowing(dir) else { return [] }
        var out: [HookScript] = []
        for e in entries where e.kind != .directory {
            let path = dir + "/" + e.name
            var s = HookScript(path: path, name: e.name, directory: dir, runner: runner, phase: phase, isRun: false,
                               isRegularFile: e.kind == .regular)
            inspect(root, &s, isSymlink: e.kind == .symlink)
            out.append(s)
        }
        return out
    }

    static func inspect(_ root: TargetRoot, _ s: inout HookScript, isSymlink: Bool) {
        let whole = SourceLine(path: s.path, line: 0, text: "")
        if isSymlink, root.stat(s.path) == nil {
            let target = root.readlink(s.path) ?? "?"
            // run-parts stats every validly named entry first; the dispatcher skips it.
            if s.runner == .ifupdown && HookScriptParser.runPartsRuns(s.name) || s.runner == .networkManager {
                s.problem = s.runner == .ifupdown ? .danglingSymlink(target: target) : .skippedName(reason: "it is a symlink to \(target), which does not exist")
                s.evidence = SourceLine(path: s.path, line: 0, text: "\(s.path) -> \(target)")
            }
            return
        }
        guard let st = root.stat(s.path), st.kind == .regular else { return }
        switch s.runner {
        case .ifupdown:
            if !HookScriptParser.runPartsRuns(s.name) {
                s.problem = .skippedName(reason: "run-parts runs only names made of letters, digits, `_` and `-`")
                s.evidence = whole
                readFacts(root, &s)
                return
            }
        case .networkManager:
            let bad = ["~", ".rpmsave", ".rpmorig", ".rpmnew", ".dpkg-old", ".dpkg-dist", ".dpkg-new", ".dpkg-tmp"]
            if s.name.hasPrefix(".") || bad.contains(where: { s.name.hasSuffix($0) }) {
                s.problem = .skippedName(reason: "NetworkManager-dispatcher skips hidden names and backup suffixes")
                s.evidence = whole
                readFacts(root, &s)
                return
            }
            if st.permissions & 0o4022 != 0 {
                s.problem = .unsafePermissions(mode: st.permissions)
                s.evidence = SourceLine(path: s.path, line: 0, text: "mode \(String(st.permissions, radix: 8))")
                readFacts(root, &s)
                return
            }
        }
        let executable = s.runner == .networkManager ? st.permissions & 0o100 != 0 : st.isExecutable
        guard executable else {
            s.problem = .notExecutable(mode: st.permissions)
            s.evidence = SourceLine(path: s.path, line: 0, text: "mode \(String(st.permissions, radix: 8))")
            readFacts(root, &s)
            return
        }
        s.isRun = true
        guard readFacts(root, &s), let facts = s.facts else { return }
        if facts.isELF { return }
        guard let interpreter = facts.interpreter, let shebang = facts.shebang else {
            s.problem = .noShebang
            s.evidence = SourceLine(path: s.path, line: 1, text: Text.lines(root.bytes(s.path) ?? []).first ?? "")
            return
        }
        if interpreter.hasSuffix("\r") {
            s.problem = .crlfShebang(interpreter: interpreter)
            s.evidence = shebang
            return
        }
        if interpreter.hasPrefix("/"), !(root.stat(interpreter).map { $0.kind == .regular && $0.isExecutable } ?? false) {
            s.problem = .missingInterpreter(interpreter: interpreter)
            s.evidence = shebang
            return
        }
        if facts.crlfLines > 0 {
            s.problem = .crlfLines(count: facts.crlfLines)
            s.evidence = facts.firstCRLFLine
            return
        }
        for inc in facts.unconditionalIncludes where !root.isRegularFile(inc.path) {
            s.problem = .missingInclude(inc)
            s.evidence = inc.source
            return
        }
    }

    @discardableResult
    static func readFacts(_ root: TargetRoot, _ s: inout HookScript) -> Bool {
        switch root.read(s.path) {
        case .file(let f):
            s.facts = HookScriptParser.parse(f.bytes, path: s.path)
            return true
        case .missing:
            return false
        case .skipped(let why):
            if s.isRun {
                s.problem = .unreadable(why: why.description)
                s.evidence = SourceLine(path: s.path, line: 0, text: "")
            }
            return false
        }
    }
}
