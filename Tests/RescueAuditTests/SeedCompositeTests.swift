import Foundation
import Testing

/// The bundled example carries every seed-000 and seed-001 problem at once;
/// the JSON must list each of them, with the lines that prove it.
@Suite struct SeedCompositeTests {
    struct Hit {
        var rule: String
        var severity: String
        var message: String
        var evidence: [(path: String, line: Int?, text: String)]
        var actions: [String]
    }

    func audit() throws -> (hits: [Hit], planIDs: Set<String>) {
        let out = try rescueAudit(["audit", CLITests.example, "--format", "json"])
        #expect(out.status == 1)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
        let hits = (doc["findings"] as? [[String: Any]] ?? []).map { f in
            Hit(rule: f["rule"] as? String ?? "", severity: f["severity"] as? String ?? "", message: f["message"] as? String ?? "",
                evidence: (f["evidence"] as? [[String: Any]] ?? []).map { e in (e["path"] as? String ?? "", e["line"] as? Int, e["text"] as? String ?? "") },
                actions: f["actions"] as? [String] ?? [])
        }
        let plan = (doc["plan"] as? [String: Any])?["actions"] as? [[String: Any]] ?? []
        return (hits, Set(plan.compactMap { $0["id"] as? String }))
    }

    @Test func everySeedProblemIsListedWithEvidence() throws {
        let (hits, planIDs) = try audit()
        func one(_ rule: String, _ where_: (Hit) -> Bool = { _ in true }) -> Hit? { hits.first { $0.rule == rule && where_($0) } }

        // Seed 000: no lo stanza, under sysvinit with ifupdown 0.6: nothing brings lo up.
        let lo = try #require(one("loopback-not-configured"))
        #expect(lo.severity == "critical")
        #expect(lo.evidence.contains { $0.path == "/etc/network/interfaces" })

        // Seed 000: amavisd bound to 127.0.0.1, which will not exist.
        let amavis = try #require(one("service-address-not-configured") { $0.message.hasPrefix("amavisd") })
        #expect(amavis.evidence.contains { $0.path == "/etc/amavis/conf.d/20-debian_defaults" && $0.line == 5 && $0.text.contains("127.0.0.1") })
        #expect(amavis.actions == lo.actions, "the loopback fix repairs it, and the plan lists that step once")

        // Seed 000: an address that lived only in memory.
        let memory = try #require(one("service-address-not-configured") { $0.message.contains("128.100.1.14") })
        #expect(memory.severity == "high")
        #expect(memory.evidence.contains { $0.path == "/etc/postfix/main.cf" && $0.line == 7 })

        // Seed 001: a gateway line on every alias, four default routes with one metric.
        let routes = try #require(one("multiple-default-routes"))
        let gatewayLines = routes.evidence.filter { $0.path == "/etc/network/interfaces" && $0.text.contains("gateway 128.100.1.1") }.compactMap(\.line)
        #expect(gatewayLines == [9, 16, 22, 28])

        // Seed 000: the firewall restored by if-pre-up.d drops loopback traffic, and services listen on 127.0.0.1.
        let fw = try #require(one("firewall-blocks-loopback"))
        #expect(fw.severity == "critical")
        #expect(fw.evidence.contains { $0.path == "/etc/iptables.rules" && $0.line == 3 && $0.text == ":INPUT DROP [0:0]" })

        for h in hits where h.severity == "critical" || h.severity == "high" {
            #expect(!h.evidence.isEmpty, "\(h.rule) has evidence")
            #expect(h.actions.allSatisfy(planIDs.contains), "\(h.rule)'s actions are plan ids")
        }
        // Addresses that are persisted are not reported.
        #expect(!hits.contains { $0.rule == "service-address-not-configured" && $0.message.contains("128.100.1.10 ") })
    }
}
