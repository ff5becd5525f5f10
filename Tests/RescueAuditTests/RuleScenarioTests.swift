import Foundation
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

    /// `<scenario>.expect` next to the root: what the whole audit must say,
    /// one line each: `finding RULE SEVERITY`, `no-finding RULE`,
    /// `verdict OUTCOME` (reachable, not-reachable, cannot-tell),
    /// `verdict-line TEXT` (the verdict line, exactly) and `after-repair
    /// OUTCOME` (the verdict predicted after the repair plan).
    var expectations: [(key: String, value: String)] {
        let url = source.deletingLastPathComponent().appendingPathComponent(name + ".expect")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, !line.hasPrefix("#") else { return nil }
            return (String(parts[0]), String(parts[1]))
        }
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

    /// The scenarios that reproduce a whole story (the two systems of the
    /// boot-verdict issue...) state every finding and the verdict they expect.
    @Test(arguments: Scenario.all.filter { !$0.expectations.isEmpty })
    func scenarioExpectations(_ s: Scenario) throws {
        let result = try s.audit()
        let verdict = try #require(result.verdict)
        for (key, value) in s.expectations {
            switch key {
            case "finding":
                let parts = value.split(separator: " ").map(String.init)
                #expect(result.findings.contains { $0.rule == parts[0] && $0.severity.rawValue == parts.last },
                        "\(s.testDescription): expected \(value); got \(result.findings.map { "\($0.rule) \($0.severity.rawValue)" })")
            case "no-finding":
                #expect(!result.findings.contains { $0.rule == value }, "\(s.testDescription): \(value) should not be reported")
            case "verdict":
                #expect(verdict.outcome.rawValue == value, "\(s.testDescription): \(verdict.line)")
            case "verdict-line":
                #expect(verdict.line == value)
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
