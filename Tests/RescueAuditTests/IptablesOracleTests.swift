import Foundation
import Parsers
import Testing

/// iptables-restore from Debian 12's iptables 1.8.9, unpacked (never
/// installed) by scripts/fetch-oracles.sh under .oracles/root/. The legacy
/// restore is the oracle: with `--test` it builds every table in user space
/// and so checks chains, jump targets and policies, which the nf_tables
/// restore only checks when it commits to the kernel. It runs inside a
/// private network namespace (`unshare -n`), so the machine's own firewall
/// is never read or touched; that needs root.
enum IptablesOracle {
    static let root = Repo.root.appendingPathComponent(".oracles/root").path
    static let legacy = root + "/usr/sbin/xtables-legacy-multi"
    static let nft = root + "/usr/sbin/xtables-nft-multi"
    static let unshare = which("unshare")

    static var available: Bool {
        isRoot && unshare != nil && FileManager.default.isExecutableFile(atPath: legacy)
    }

    /// Why the oracle cannot run here, or nil.
    static var missing: String? {
        if !FileManager.default.isExecutableFile(atPath: legacy) { return "iptables is not unpacked: run scripts/fetch-oracles.sh" }
        if unshare == nil { return "unshare (util-linux) is not installed" }
        if !isRoot { return "unshare -n needs root" }
        return nil
    }

    /// `iptables-restore --test FILE` (or ip6tables-restore) in a fresh network namespace.
    static func test(_ path: String, family: IptablesFamily, program: String = legacy) throws -> ProcessOutput {
        try run(unshare ?? "/usr/bin/unshare", ["-n", program, family.restoreProgram, "--test", path], environment: [
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "LD_LIBRARY_PATH": root + "/usr/lib/x86_64-linux-gnu",
            "XTABLES_LIBDIR": root + "/usr/lib/x86_64-linux-gnu/xtables",
        ])
    }

    /// The line number the restore names in its error, if any.
    static func reportedLine(_ stderr: String) -> Int? {
        for marker in ["Error occurred at line: ", "COMMIT expected at line ", ": line "] {
            if let r = stderr.range(of: marker) {
                let digits = stderr[r.upperBound...].prefix { $0.isNumber }
                if let n = Int(digits) { return n }
            }
        }
        if let r = stderr.range(of: "' line ") {
            let digits = stderr[r.upperBound...].prefix { $0.isNumber }
            return Int(digits)
        }
        return nil
    }

    static func expectAgreement(_ hostPath: String, family: IptablesFamily, noflush: Bool = false,
                                sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: hostPath)))
        let ours = IptablesSaveParser.parse(bytes, path: "/" + URL(fileURLWithPath: hostPath).lastPathComponent, family: family)
        let theirs = try test(hostPath, family: family)
        let oracleAccepts = theirs.status == 0
        #expect((ours.failure == nil) == oracleAccepts,
                "\(hostPath): iptables-restore --test exits \(theirs.status) (\(theirs.stderr.trimmingCharacters(in: .whitespacesAndNewlines))), we say \(ours.failure?.message ?? "it restores")",
                sourceLocation: sourceLocation)
        if let failure = ours.failure, !oracleAccepts, let line = reportedLine(theirs.stderr) {
            #expect(failure.location.line == line, "\(hostPath): the restore stops at line \(line), we say \(failure.location.line)",
                    sourceLocation: sourceLocation)
        }
    }
}

@Suite struct IptablesOracleTests {
    static let corpus = Repo.fixtures.appendingPathComponent("firewall/iptables-save")
    static let corpusFiles: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: corpus.path)) ?? []).sorted()

    static func family(_ name: String) -> IptablesFamily { name.hasSuffix(".v6") ? .ipv6 : .ipv4 }

    @Test func oracleIsAvailable() {
        if let why = IptablesOracle.missing {
            #expect(!mustRunPrivileged, "the iptables-restore oracle cannot run: \(why)")
            print("note: iptables-restore oracle tests skipped: \(why)")
        }
    }

    @Test func corpusHasBothOutcomes() {
        #expect(Self.corpusFiles.filter { $0.hasPrefix("ok-") }.count >= 10)
        #expect(Self.corpusFiles.filter { $0.hasPrefix("bad-") }.count >= 20)
    }

    /// Every corpus file: we and iptables-restore --test both accept it or both reject it, at the same line.
    @Test(.enabled(if: IptablesOracle.available || mustRunPrivileged, "iptables-restore oracle not available"),
          arguments: corpusFiles)
    func corpusAgreesWithIptablesRestore(_ name: String) throws {
        try #require(IptablesOracle.missing == nil, "\(IptablesOracle.missing ?? "")")
        try IptablesOracle.expectAgreement(Self.corpus.appendingPathComponent(name).path, family: Self.family(name))
        // The file names say what the oracle should do, so a silent oracle cannot pass.
        let theirs = try IptablesOracle.test(Self.corpus.appendingPathComponent(name).path, family: Self.family(name))
        #expect((theirs.status == 0) == name.hasPrefix("ok-"), "\(name): iptables-restore exits \(theirs.status)")
    }

    /// Why the legacy restore is the oracle: what the nf_tables restore's
    /// --test rejects, the legacy one rejects too, and it rejects more.
    @Test(.enabled(if: IptablesOracle.available || mustRunPrivileged, "iptables-restore oracle not available"))
    func legacyRestoreIsTheStricterTest() throws {
        try #require(IptablesOracle.missing == nil, "\(IptablesOracle.missing ?? "")")
        var stricter = 0
        for name in Self.corpusFiles {
            let path = Self.corpus.appendingPathComponent(name).path
            let legacy = try IptablesOracle.test(path, family: Self.family(name))
            let nft = try IptablesOracle.test(path, family: Self.family(name), program: IptablesOracle.nft)
            if nft.status != 0 { #expect(legacy.status != 0, "\(name): only the nf_tables restore rejects it") }
            if legacy.status != 0 && nft.status == 0 { stricter += 1 }
        }
        #expect(stricter > 0)
    }
}
