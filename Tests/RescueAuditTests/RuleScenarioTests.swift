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
        for id in RuleRegistry.all.map({ $0.id }) {
            let yaml = try String(contentsOf: Repo.rules.appendingPathComponent(id).appendingPathComponent("rule.yml"), encoding: .utf8)
            let fromDisk = try #require(RuleCatalogue.parse(yaml), "rules/\(id)/rule.yml parses")
            #expect(fromDisk.id == id)
            #expect(RuleCatalogue.metadata(id) == fromDisk,
                    "Sources/Rules/RuleCatalogue+Sources.swift is stale: run scripts/generate-catalogue.sh")
        }
        #expect(RuleCatalogue.all.count == RuleRegistry.all.count)
    }
}
