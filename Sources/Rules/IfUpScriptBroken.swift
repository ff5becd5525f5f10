import Parsers
import Plan
import SystemModel

/// `if-up-script-broken`: a network hook script (ifupdown's if-*.d, or
/// NetworkManager's dispatcher.d) that fails when run, or never runs.
public struct IfUpScriptBroken: Rule {
    public static let id = "if-up-script-broken"
    public init() {}

    /// Suffixes of files that are meant to be skipped (package-manager and editor leftovers).
    static let leftoverSuffixes = ["~", ".dpkg-old", ".dpkg-dist", ".dpkg-new", ".dpkg-bak", ".dpkg-tmp", ".dpkg-remove",
                                   ".ucf-old", ".ucf-dist", ".ucf-new", ".rpmsave", ".rpmorig", ".rpmnew",
                                   ".bak", ".orig", ".save", ".old", ".disabled", ".swp"]

    public func check(_ system: SystemSnapshot) -> [Finding] {
        let hooks = system.hooks
        let ifupdown = system.stacks.first { $0.stack == .ifupdown }
        let ifupdownRuns = system.ifupdownManagesNetwork && (ifupdown?.startsAtBoot ?? false)
        let nmUnit = system.units.startsAtBoot("NetworkManager.service")
        var findings: [Finding] = []
        for s in hooks.scripts {
            guard let problem = s.problem else { continue }
            if case .skippedName = problem, Self.leftoverSuffixes.contains(where: { s.name.hasSuffix($0) }) || s.name.hasPrefix(".") { continue }
            var context: [Evidence] = []
            switch s.runner {
            case .ifupdown:
                guard ifupdownRuns, let ifupdown else { continue }
                context.append(.fact(ifupdown.files.first ?? "/etc/network/interfaces", "ifupdown runs at boot: \(ifupdown.reason)"))
            case .networkManager:
                guard let nmUnit else { continue }
                context.append(.fact(nmUnit.linkPath, "NetworkManager.service is enabled; NetworkManager-dispatcher runs \(s.directory)"))
            }
            findings.append(finding(for: s, problem: problem, hooks: hooks, system: system, configured: ifupdown?.configured ?? false, context: context))
        }
        return findings
    }

    private func finding(for s: HookScript, problem: HookProblem, hooks: NetworkHooks, system: SystemSnapshot,
                         configured: Bool, context: [Evidence]) -> Finding {
        var evidence = [Evidence(s.evidence ?? SourceLine(path: s.path, line: 0, text: ""), note: Self.what(problem, s))]
        if case .missingInclude(let inc) = problem, inc.path == "/usr/share/sendmail/dynamic" {
            let state = system.packages.package("sendmail-base").map { "dpkg state of sendmail-base: \($0.state)" } ?? "sendmail-base is not in the dpkg database"
            evidence.append(.fact(inc.path, "missing (\(state)): the if-up.d script outlived the package's files (Debian bug 873978)"))
        }
        let does = Self.effects(s.facts)
        let message: String
        let atBoot: String
        var severity: Severity
        var actions: [ProposedAction] = []

        if problem.fails {
            let later = hooks.scripts(in: s.directory).filter { s.name.utf8.lexicographicallyPrecedes($0.name.utf8) && $0.isRun }
            switch s.runner {
            case .ifupdown:
                for l in later {
                    evidence.append(.fact(l.path, "never runs: run-parts --exit-on-error stops at \(s.name)\(Self.effects(l.facts).map { "; it \($0)" } ?? "")"))
                }
                let laterRoutes = later.filter { !($0.facts?.addressOrRouteCommands.isEmpty ?? true) }
                let laterFirewall = later.filter { !($0.facts?.firewallCommands.isEmpty ?? true) }
                for l in laterRoutes { evidence += (l.facts?.addressOrRouteCommands ?? []).prefix(3).map { Evidence($0, note: "this address or route is never added") } }
                for l in laterFirewall { evidence += (l.facts?.firewallCommands ?? []).prefix(2).map { Evidence($0, note: "these firewall rules are never loaded") } }
                switch s.phase {
                case "pre-up":
                    severity = configured ? .critical : .medium
                    message = "\(s.path) \(Self.failure(problem)). ifupdown runs if-pre-up.d before it configures an interface, and a failing script makes ifup give up on it."
                    atBoot = configured
                        ? "ifup -a stops before configuring each interface: no address, no route, and networking.service fails."
                        : "ifup fails for lo and networking.service fails; lo still comes up through systemd."
                case "up":
                    severity = laterRoutes.isEmpty ? .high : .critical
                    var m = "\(s.path) \(Self.failure(problem)). run-parts --exit-on-error stops there, so ifup reports failure"
                    m += later.isEmpty ? "." : " and \(later.count) later hook(s) never run (\(later.map(\.name).joined(separator: ", ")))."
                    if !laterRoutes.isEmpty { m += " \(laterRoutes.map(\.name).joined(separator: ", ")) add(s) addresses or routes, which will be missing." }
                    if !laterFirewall.isEmpty { m += " The firewall rules of \(laterFirewall.map(\.name).joined(separator: ", ")) are never loaded: the machine boots without them." }
                    message = m
                    atBoot = laterRoutes.isEmpty
                        ? "networking.service fails (\"Failed to start Raise network interfaces\"); the addresses stay up, but every hook after \(s.name) is skipped."
                        : "networking.service fails and the addresses or routes that \(laterRoutes.map(\.name).joined(separator: ", ")) add(s) are never configured."
                default:
                    severity = .medium
                    message = "\(s.path) \(Self.failure(problem)). run-parts stops there when an interface goes down, so ifdown fails."
                    atBoot = "Nothing changes at boot, but `ifdown` (and the shutdown before the reboot) fails for every interface."
                }
            case .networkManager:
                severity = does?.contains("address") == true ? .high : .medium
                message = "\(s.path) \(Self.failure(problem)). NetworkManager-dispatcher logs the failure and goes on; what the script does never happens\(does.map { ": it \($0)" } ?? "")."
                atBoot = "NetworkManager brings the connections up, but this dispatcher script's work (\(does ?? "whatever it does")) is not done."
            }
            if s.isRegularFile {
                actions.append(ProposedAction(.moveAside(path: s.path),
                    "Move \(s.path) into the backup directory, so \(s.runner == .ifupdown ? "run-parts" : "the dispatcher") no longer runs it"))
            } else {
                actions.append(ProposedAction(.manual(description: "\(s.path) is a symlink; remove it (the repair script moves only regular files).",
                                                      commands: ["rm -- \(rootPath(s.path))"]), "Remove the broken symlink \(s.path)"))
            }
        } else {
            severity = does == nil ? .low : does?.contains("address") == true ? .high : .medium
            message = "\(s.path) never runs: \(Self.what(problem, s))\(does.map { ". It \($0), which never happens" } ?? "")."
            atBoot = does == nil ? "The script is silently skipped at every boot." : "The script is silently skipped at every boot, so it never \(does ?? "")."
            actions.append(ProposedAction(.manual(description: "If \(s.path) should run, give it a name of letters, digits, `_` and `-` only and make it executable; if not, delete it.",
                                                  commands: ["chmod 0755 \(rootPath(s.path))", "mv \(rootPath(s.path)) \(rootPath(s.directory + "/" + Self.validName(s.name)))"]),
                                          "Decide whether \(s.path) should run"))
        }
        return finding(severity, message: message, atBoot: atBoot, evidence: evidence + context, actions: actions)
    }

    /// What the script does that matters for reachability, in a few words.
    static func effects(_ facts: HookScriptFacts?) -> String? {
        guard let facts else { return nil }
        var parts: [String] = []
        if !facts.addressOrRouteCommands.isEmpty { parts.append("adds addresses or routes") }
        if !facts.firewallCommands.isEmpty { parts.append("loads firewall rules") }
        return parts.isEmpty ? nil : parts.joined(separator: " and ")
    }

    static func failure(_ p: HookProblem) -> String {
        switch p {
        case .danglingSymlink(let t): "is a symlink to \(t), which does not exist (run-parts: \"failed to stat component\")"
        case .noShebang: "has no #! line (run-parts: \"failed to exec ...: Exec format error\")"
        case .crlfShebang(let i): "has Windows (CRLF) line endings, so its interpreter is \"\(i.replacingOccurrences(of: "\r", with: "\\r"))\" (run-parts: \"failed to exec ...: No such file or directory\")"
        case .missingInterpreter(let i): "names the interpreter \(i), which does not exist in the target (run-parts: \"failed to exec\")"
        case .crlfLines(let n): "has \(n) line(s) ending in CRLF: the shell sees a carriage return at the end of each command and fails"
        case .missingInclude(let inc): "runs `\(inc.command) \(inc.path)` unconditionally, and \(inc.path) does not exist (\"\(inc.command): Can't open \(inc.path)\")"
        case .unreadable(let why): "could not be read (\(why))"
        case .skippedName, .notExecutable, .unsafePermissions: "is skipped"
        }
    }

    static func what(_ p: HookProblem, _ s: HookScript) -> String {
        switch p {
        case .skippedName(let reason): "\(s.name) is skipped: \(reason)"
        case .notExecutable(let mode): "mode \(String(mode, radix: 8)) is not executable, so it is skipped without a word"
        case .unsafePermissions(let mode): "mode \(String(mode, radix: 8)) is writable by group or others (or set-UID), so NetworkManager-dispatcher refuses it"
        default: failure(p)
        }
    }

    static func validName(_ name: String) -> String {
        let base = name.split(separator: ".").first.map(String.init) ?? name
        let cleaned = String(base.unicodeScalars.map { c -> Character in
            (c.properties.isAlphabetic && c.isASCII) || ("0"..."9").contains(Character(c)) || c == "_" || c == "-" ? Character(c) : "-"
        })
        return cleaned.isEmpty ? "hook" : cleaned
    }
}
