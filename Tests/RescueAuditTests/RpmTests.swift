import Foundation
@testable import Parsers
import Testing

/// The rpm database and dnf's history, read from their bytes, against the
/// real tools' own files (scripts/make-rpm-fixtures.sh): an rpmdb.sqlite
/// written by rpm 4.18 and its `rpm -qa` listing.
@Suite struct RpmTests {
    static func fixture(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: Repo.fixtures.appendingPathComponent("rpm").appendingPathComponent(name)))
    }

    @Test func packagesAgreeWithRpmQa() throws {
        let parsed = RpmDatabase.packages(try Self.fixture("rpmdb.sqlite"), path: "/var/lib/rpm/rpmdb.sqlite")
        #expect(parsed.diagnostics.isEmpty)
        let ours = parsed.packages.map { "\($0.name) \($0.version ?? "") \($0.architecture ?? "")" }.sorted()
        let oracle = String(decoding: try Self.fixture("rpm-qa.txt"), as: UTF8.self).split(separator: "\n").map(String.init).sorted()
        #expect(ours == oracle)
        #expect(parsed.packages.allSatisfy { $0.filesPresent })
    }

    @Test func dnfInterruptedTransaction() throws {
        let h = DnfHistory.unfinished(try Self.fixture("history.sqlite"), path: "/var/lib/dnf/history.sqlite")
        let t = try #require(h.transaction)
        #expect(t.id == 2)
        #expect(t.commandLine == "dnf -y upgrade")
        #expect(t.state == 0)
        #expect(t.items == ["openssh-server-8.7p1-43.el9.x86_64 upgrade", "openssh-server-8.7p1-38.el9.x86_64 upgraded"])
    }

    @Test func damagedInputIsADiagnostic() throws {
        var bytes = try Self.fixture("rpmdb.sqlite")
        #expect(!RpmDatabase.packages(Array(bytes.prefix(100)), path: "/x").diagnostics.isEmpty)
        // A page of garbage in the middle: SQLite or the header reader complains, nothing traps.
        for i in 8192..<min(bytes.count, 16384) { bytes[i] = UInt8(truncatingIfNeeded: i &* 31) }
        _ = RpmDatabase.packages(bytes, path: "/x")
        #expect(DnfHistory.unfinished(Array("not sqlite".utf8), path: "/h").transaction == nil)
        #expect(RpmHeader([0, 0, 0, 9, 0, 0, 0, 1]) == nil)
        #expect(RpmHeader([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]) == nil)
    }
}
