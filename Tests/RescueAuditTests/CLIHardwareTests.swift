import Discovery
import Foundation
import Testing

/// `--hardware` reads this machine's cards; directories default to without.
@Suite struct CLIHardwareTests {
    @Test func hardwareFlagSwitchesToExactNames() throws {
        let root = Repo.rules.appendingPathComponent("interface-name-mismatch/tests/seed-003-eth0-renamed.fail").path
        let without = try rescueAudit(["audit", root, "--format", "json"])
        #expect(without.status == 1)
        #expect(without.stdout.contains("predictable interface naming is active"), "\(without.stdout)")
        // The same report, but for the time of the audit (two runs may straddle a second).
        func undated(_ s: String) -> [Substring] { s.split(separator: "\n").filter { !$0.contains("\"auditedAt\"") } }
        #expect(undated(try rescueAudit(["audit", "--no-hardware", root, "--format", "json"]).stdout) == undated(without.stdout))

        let with = try rescueAudit(["audit", "--hardware", root, "--format", "json"])
        let cards = NetworkCards.scan().filter { $0.type == 1 && $0.devType == nil }
        if cards.isEmpty {
            #expect(with.stdout.contains("(none found)"), "\(with.stdout)")
        } else {
            #expect(with.stdout.contains("on this machine's hardware"), "\(with.stdout)")
            let expected = cards.compactMap { $0.nameOnboard ?? $0.nameSlot ?? $0.namePath }
            #expect(expected.contains { with.stdout.contains("Rename eth0 to \($0)") || with.stdout.contains($0) }, "\(with.stdout)")
        }
    }
}
