import Foundation
import Report
import Rules
import SystemModel
import TargetAccess
import Testing

/// One example root under rules/<id>/tests/.
struct Scenario: CustomTestStringConvertible, Sendable {
    var rule: String
    var name: String
    var shouldFail: Bool
    /// The root the tests read: the checkout's folder, or a prepared copy
    /// of it (see `ScenarioCopies`).
    var url: URL
    /// Why the prepared copy is incomplete, or nil.
    var unprepared: ScenarioCopies.Problem? = nil
    var testDescription: String { "\(rule)/\(name)" }

    /// The scenario's folder in the checkout (never written to).
    var source: URL { Repo.rules.appendingPathComponent(rule).appendingPathComponent("tests").appendingPathComponent(name) }

    static let all: [Scenario] = {
        let fm = FileManager.default
        var out: [Scenario] = []
        for rule in ((try? fm.contentsOfDirectory(atPath: Repo.rules.path)) ?? []).sorted() {
            let tests = Repo.rules.appendingPathComponent(rule).appendingPathComponent("tests")
            for s in ((try? fm.contentsOfDirectory(atPath: tests.path)) ?? []).sorted() {
                guard s.hasSuffix(".fail") || s.hasSuffix(".pass") else { continue }
                var scenario = Scenario(rule: rule, name: s, shouldFail: s.hasSuffix(".fail"), url: tests.appendingPathComponent(s))
                (scenario.url, scenario.unprepared) = ScenarioCopies.prepare(scenario.source, rule: rule)
                out.append(scenario)
            }
        }
        return out
    }()

    /// The root of `rule/name` as the tests read it (a prepared copy when
    /// the scenario has sidecars, see `ScenarioCopies`).
    static func root(_ rule: String, _ name: String) throws -> URL {
        let s = try #require(all.first { $0.rule == rule && $0.name == name }, "no scenario \(rule)/\(name)")
        if let problem = s.unprepared { throw problem }
        return s.url
    }

    /// Records an issue when the scenario could not be prepared; true when
    /// the test should go on. A missing oracle skips outside CI only.
    func prepared(sourceLocation: Testing.SourceLocation = #_sourceLocation) -> Bool {
        guard let problem = unprepared else { return true }
        if problem.missingOracle && !mustRunPrivileged {
            print("\(testDescription): skipped, \(problem)")
        } else {
            Issue.record("\(testDescription): \(problem)", sourceLocation: sourceLocation)
        }
        return false
    }

    /// `<scenario>.environment.json` next to the root: what a device or image
    /// audit would have probed (block devices, filesystem health, hardware).
    var environmentURL: URL { source.deletingLastPathComponent().appendingPathComponent(name + ".environment.json") }

    /// The sidecar's environment, and the target kind it stands for.
    func environment() throws -> (AuditEnvironment, TargetKind) {
        guard let data = FileManager.default.contents(atPath: environmentURL.path) else { return (AuditEnvironment(), .directory) }
        let environment = try JSONDecoder().decode(AuditEnvironment.self, from: data)
        return (environment, environment.blockDevices != nil ? .image : .directory)
    }

    /// `<scenario>.expect` next to the scenario in the checkout: what the
    /// whole audit must say, one line each: `finding RULE SEVERITY` for every
    /// finding (a rule that fires twice has two lines), `verdict OUTCOME`
    /// (reachable, not-reachable, cannot-tell), optionally `no-finding RULE`,
    /// `verdict-line TEXT` (the verdict line, exactly) and `after-repair
    /// OUTCOME` (the verdict predicted after the repair plan). `#` starts a comment.
    var expectURL: URL { source.deletingLastPathComponent().appendingPathComponent(name + ".expect") }

    var expectations: [(key: String, value: String)] {
        guard let text = try? String(contentsOf: expectURL, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, !line.hasPrefix("#") else { return nil }
            return (String(parts[0]), String(parts[1]))
        }
    }

    /// The `.expect` lines that state what this result says (for recording
    /// a new scenario's file, which a person then reads before committing).
    static func expectLines(_ result: AuditResult) -> [String] {
        result.findings.map { "finding \($0.rule) \($0.severity.rawValue)" }.sorted()
            + ["verdict \(result.verdict.map(\.outcome.rawValue) ?? "none")"]
    }

    func audit() throws -> AuditResult {
        let root = try TargetRoot(directory: url.path)
        let (environment, kind) = try self.environment()
        return AuditResult.run(SystemSnapshot.load(root: root, kind: kind, environment: environment))
    }
}

@Suite struct RuleScenarioTests {
    @Test(arguments: Scenario.all)
    func scenario(_ s: Scenario) throws {
        guard s.prepared() else { return }
        let result = try s.audit()
        let hits = result.findings.filter { $0.rule == s.rule }
        if s.shouldFail {
            #expect(!hits.isEmpty, "\(s.testDescription) should trigger \(s.rule); got \(result.findings.map(\.rule))")
            for f in hits {
                #expect(!f.evidence.isEmpty, "every finding carries evidence")
                #expect(!f.atBoot.isEmpty && !f.message.isEmpty)
                for e in f.evidence { #expect(e.path.hasPrefix("/"), "evidence paths are target paths: \(e.path)") }
            }
        } else {
            #expect(hits.isEmpty, "\(s.testDescription) should not trigger \(s.rule): \(hits.map(\.message))")
            let severe = result.findings.filter { $0.severity >= .high }
            #expect(severe.isEmpty, "a passing scenario has no critical or high finding: \(severe.map(\.rule))")
        }
    }

    /// Every scenario states all its findings (rule and severity) and the
    /// verdict: an unexpected finding fails, so a `.fail` that fires for the
    /// wrong reason, or a `.pass` that grows a finding, is caught.
    /// `RESCUE_AUDIT_RECORD_EXPECT=1` writes the file of a scenario that has
    /// none from today's result (read it before committing it).
    @Test(arguments: Scenario.all)
    func scenarioExpectations(_ s: Scenario) throws {
        guard s.prepared() else { return }
        let result = try s.audit()
        let actual = Scenario.expectLines(result)
        if !FileManager.default.fileExists(atPath: s.expectURL.path) {
            if ProcessInfo.processInfo.environment["RESCUE_AUDIT_RECORD_EXPECT"] == "1" {
                try (["# Recorded from the audit's result; every finding (rule severity) and the verdict."] + actual + [""])
                    .joined(separator: "\n").write(to: s.expectURL, atomically: true, encoding: .utf8)
            } else {
                Issue.record("\(s.testDescription): no \(s.expectURL.lastPathComponent); it would say:\n\(actual.joined(separator: "\n"))")
            }
            return
        }
        var findings: [String] = []
        var verdicts: [String] = []
        for (key, value) in s.expectations {
            switch key {
            case "finding":
                findings.append("finding \(value)")
            case "no-finding":
                #expect(!result.findings.contains { $0.rule == value }, "\(s.testDescription): \(value) should not be reported")
            case "verdict":
                verdicts.append("verdict \(value)")
            case "verdict-line":
                #expect(result.verdict?.line == value)
            case "after-repair":
                let root = try TargetRoot(directory: s.url.path)
                let (environment, kind) = try s.environment()
                let system = SystemSnapshot.load(root: root, kind: kind, environment: environment)
                let after = AuditResult.run(system).predictAfterRepair(system)
                #expect(after.verdict.outcome.rawValue == value, "\(s.testDescription): \(after.line)")
            default:
                Issue.record("\(s.testDescription): unknown expectation \(key)")
            }
        }
        #expect(verdicts.count == 1, "\(s.testDescription): \(s.expectURL.lastPathComponent) states \(verdicts.count) verdicts, not one")
        #expect(findings.sorted() + verdicts == actual,
                "\(s.testDescription): expected\n\((findings.sorted() + verdicts).joined(separator: "\n"))\ngot\n\(actual.joined(separator: "\n"))\nverdict: \(result.verdict?.line ?? "none")")
    }

    /// Rule order never matters: every scenario gives the same findings with
    /// the rules run backwards, each order on a freshly loaded snapshot.
    @Test(arguments: Scenario.all)
    func ruleOrderDoesNotMatter(_ s: Scenario) throws {
        func run(_ rules: [any Rule.Type]) throws -> [String] {
            let root = try TargetRoot(directory: s.url.path)
            let (environment, kind) = try s.environment()
            let result = AuditResult.run(SystemSnapshot.load(root: root, kind: kind, environment: environment), rules: rules)
            return result.findings.map { f in
                "\(f.rule) \(f.severity.rawValue) \(f.message) " + f.evidence.map { "\($0.path):\($0.line ?? 0)" }.joined(separator: ",")
            }.sorted() + [result.verdict?.line ?? ""]
        }
        let forward = try run(RuleRegistry.all)
        let backward = try run(RuleRegistry.all.reversed())
        #expect(forward == backward, "\(s.testDescription): findings depend on rule order")
    }

    /// Rules read only the model for interface naming: running them (and
    /// building the plan and the verdict) reads none of udev's rules, .link
    /// files or kernel command-line sources that the snapshot's naming model
    /// did not already read (no-network-configured's fix once loaded them
    /// itself). The initramfs under /boot is the one exception: the naming
    /// model opens it lazily, the first time a question needs it.
    /// Other paths rules still reach (unit files for `systemctl enable`
    /// links, files a fix edits) are not checked here.
    @Test(arguments: Scenario.all)
    func rulesReadNoNamingInputTheModelDidNot(_ s: Scenario) throws {
        guard s.prepared() else { return }
        let log = AccessLog()
        let root = try TargetRoot(directory: s.url.path, observer: { log.record($0, $1) })
        let (environment, kind) = try s.environment()
        let system = SystemSnapshot.load(root: root, kind: kind, environment: environment)
        let loaded = Set(log.all.map { "\($0.0) \($0.1)" })
        let before = log.all.count
        let result = AuditResult.run(system)
        // The plan reads what a fix will change, to hash it: that is the plan's read, not a rule's.
        let planned = Set(result.plan.actions.compactMap(\.path))
        let naming = ["/etc/udev/", "/lib/udev/", "/usr/lib/udev/", "/run/udev/", "/etc/default/grub", "/etc/kernel/cmdline", "/proc/cmdline"]
        let after = log.all.dropFirst(before).filter { access in
            !access.1.hasPrefix("/boot/") && !planned.contains(access.1) && (access.1.hasSuffix(".link") || naming.contains { access.1.hasPrefix($0) })
        }
        let new = Set(after.map { "\($0.0) \($0.1)" }).subtracting(loaded)
        #expect(new.isEmpty, "\(s.testDescription): rules reached the target for \(new.sorted().prefix(10))")
    }

    /// Rules, the plan, the verdict and the reports read only the model:
    /// once the snapshot is loaded, running them makes no read, stat,
    /// lstat, readlink or listing of the target, with these exceptions:
    /// - the model run again over planned changes (a root opened with
    ///   `overlaying`: the verdict after repair, and a fix checking its edit
    ///   with `sshd(after:)`), told apart by `TargetRoot.answeringOverlay`;
    /// - the model's lazily loaded parts (unit files parsed when asked for,
    ///   the initramfs opened when a question needs it), told apart by
    ///   `TargetRoot.lazyModel`;
    /// - the plan (never a rule: the rules are first run alone and checked
    ///   with no such exemption) reading a file one of its actions writes,
    ///   creates or moves aside, to record the SHA-256 the script checks
    ///   before it acts, or that nothing is there for a file it creates. A
    ///   file the load read comes from the reader's cache
    ///   (`SystemSnapshot.file`) and tells no observer; only files the load
    ///   never read are read here: files to create (a tmpfiles.d conf, the
    ///   .network files netplan's fallback writes, cloud-init's
    ///   disable-network file) and flag files to move aside (/.autorelabel,
    ///   pacman's db.lck). Moving those reads into the model would mean the
    ///   model reading files no question of its own needs.
    @Test(arguments: Scenario.all)
    func rulesPlanAndReportsDoNotReachTheTarget(_ s: Scenario) throws {
        guard s.prepared() else { return }
        let log = AccessLog()
        let root = try TargetRoot(directory: s.url.path, observer: { a, p in
            if !TargetRoot.answeringOverlay && TargetRoot.lazyModel == nil { log.record(a, p) }
        })
        let (environment, kind) = try s.environment()
        let system = SystemSnapshot.load(root: root, kind: kind, environment: environment)
        let loaded = log.all.count
        // The rules alone, with no exemption for the plan's hashing.
        for rule in RuleRegistry.all { _ = rule.init().check(system) }
        let byRules = log.all.dropFirst(loaded).map { "\($0.0) \($0.1)" }
        #expect(byRules.isEmpty, "\(s.testDescription): rules reached the target: \(Array(Set(byRules)).sorted().prefix(10))")
        var result = AuditResult.run(system)
        result.afterRepair = result.predictAfterRepair(system)
        let context = testContext("/scenario", kind: kind)
        _ = JSONReport.render(result, system: system, context: context)
        _ = TextReport.render(result, system: system, context: context, color: false)
        _ = MarkdownReport.render(result, system: system, context: context)
        _ = RepairScript.render(result, context: context, osName: system.osName)
        let planned = Set(result.plan.actions.compactMap(\.path))
        let after = log.all.dropFirst(loaded).filter { !($0.0 == .read && planned.contains($0.1)) }.map { "\($0.0) \($0.1)" }
        #expect(after.isEmpty, "\(s.testDescription): rules, plan or reports reached the target: \(Array(Set(after)).sorted().prefix(10))")
    }

    /// A fix that edits a config file which is a symlink edits the file the
    /// link leads to (the snapshot records it at load, `symlinkedFiles`),
    /// and says so; the script never writes through the link.
    @Test func anEditOfASymlinkedConfigEditsTheRealFile() throws {
        let source = try Scenario.root("service-address-not-configured", "sshd-listen-absent-address.fail")
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let copy = dir.appendingPathComponent("root")
        #expect(try run("/bin/cp", ["-a", "--", source.path, copy.path]).status == 0)
        let config = copy.appendingPathComponent("etc/ssh/sshd_config").path
        try FileManager.default.moveItem(atPath: config, toPath: config + ".real")
        try FileManager.default.createSymbolicLink(atPath: config, withDestinationPath: "sshd_config.real")
        let system = SystemSnapshot.load(root: try TargetRoot(directory: copy.path))
        #expect(system.symlinkedFiles["/etc/ssh/sshd_config"] == "/etc/ssh/sshd_config.real")
        let result = AuditResult.run(system)
        let edit = try #require(result.plan.actions.first { $0.summary.contains("Comment out the ListenAddress") })
        #expect(edit.path == "/etc/ssh/sshd_config.real")
        #expect(edit.summary.contains("(/etc/ssh/sshd_config.real, which the symlink /etc/ssh/sshd_config points to)"))
        #expect(!result.plan.actions.contains { $0.path == "/etc/ssh/sshd_config" })
    }

    @Test func everyRuleFolderHasAnImplementationAndTheReverse() {
        let folders = Set(((try? FileManager.default.contentsOfDirectory(atPath: Repo.rules.path)) ?? []))
        let registered = Set(RuleRegistry.all.map { $0.id })
        #expect(folders == registered, "rules/ folders \(folders.sorted()) vs registered \(registered.sorted())")
        for id in registered {
            #expect(RuleCatalogue.metadata(id) != nil, "\(id) has metadata in the built-in catalogue")
            #expect(Scenario.all.contains { $0.rule == id && $0.shouldFail }, "\(id) has a failing scenario")
            #expect(Scenario.all.contains { $0.rule == id && !$0.shouldFail }, "\(id) has a passing scenario")
        }
    }

    @Test func builtInCatalogueMatchesRuleFiles() throws {
        // The generator checks every rule.yml (and exits non-zero on a broken
        // one); what it prints must be the committed file.
        let out = try run("/bin/sh", [Repo.root.appendingPathComponent("scripts/generate-catalogue.sh").path, "--stdout"])
        #expect(out.status == 0, "scripts/generate-catalogue.sh failed: \(out.stderr)")
        let committed = try String(contentsOf: Repo.root.appendingPathComponent("Sources/Rules/RuleCatalogue+Sources.swift"), encoding: .utf8)
        #expect(out.stdout == committed, "Sources/Rules/RuleCatalogue+Sources.swift is stale: run scripts/generate-catalogue.sh")
        for id in RuleRegistry.all.map({ $0.id }) {
            #expect(RuleCatalogue.metadata(id)?.id == id)
        }
        #expect(RuleCatalogue.all.count == RuleRegistry.all.count)
    }

    @Test func generatorRefusesABrokenRuleFile() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("scripts"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Repo.root.appendingPathComponent("scripts/generate-catalogue.sh"),
                                         to: dir.appendingPathComponent("scripts/generate-catalogue.sh"))
        let rule = dir.appendingPathComponent("rules/x-rule")
        try FileManager.default.createDirectory(at: rule, withIntermediateDirectories: true)
        try "id: x-rule\ntitle: [unclosed\n".write(to: rule.appendingPathComponent("rule.yml"), atomically: true, encoding: .utf8)
        let out = try run("/bin/sh", [dir.appendingPathComponent("scripts/generate-catalogue.sh").path, "--stdout"])
        #expect(out.status != 0)
        #expect(out.stderr.contains("rules/x-rule/rule.yml"))
    }
}
