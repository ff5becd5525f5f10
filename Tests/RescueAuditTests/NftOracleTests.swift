import Foundation
import Parsers
@testable import SystemModel
import TargetAccess
import Testing

/// nft from Debian 12's nftables 1.0.6, unpacked by scripts/fetch-oracles.sh:
/// `nft -c -f FILE` checks a ruleset without loading it, inside a private
/// network namespace (`unshare -n`, root). Our reading of nftables.conf must
/// refuse exactly the files nft refuses, at the line nft names.
enum NftOracle {
    static let root = Repo.root.appendingPathComponent(".oracles/root").path
    static let nft = root + "/usr/sbin/nft"

    static var missing: String? {
        if !FileManager.default.isExecutableFile(atPath: nft) { return "nft is not unpacked: run scripts/fetch-oracles.sh" }
        return IptablesOracle.missing
    }

    /// Exit status, and the line nft reports in the file, if any.
    static func check(_ conf: String, includeDir: String) throws -> (status: Int32, line: Int?, stderr: String) {
        let r = try run(IptablesOracle.unshare ?? "/usr/bin/unshare", ["-n", nft, "-I", includeDir, "-c", "-f", conf], environment: [
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "LD_LIBRARY_PATH": root + "/usr/lib/x86_64-linux-gnu:" + root + "/lib/x86_64-linux-gnu",
        ], cwd: FileManager.default.temporaryDirectory)
        var line: Int? = nil
        if let range = r.stderr.range(of: conf + ":") {
            line = Int(r.stderr[range.upperBound...].prefix { $0.isNumber })
        }
        return (r.status, line, r.stderr)
    }
}

@Suite struct NftOracleTests {
    static let corpus = Repo.fixtures.appendingPathComponent("firewall/nft")
    static let cases: [String] = {
        var out = ((try? FileManager.default.contentsOfDirectory(atPath: corpus.path)) ?? []).sorted().map { corpus.appendingPathComponent($0).path }
        let fm = FileManager.default
        // Each scenario as the tests read it (a shared base plus the folder, see ScenarioCopies).
        for s in Scenario.all where fm.fileExists(atPath: s.url.appendingPathComponent("etc/nftables.conf").path) {
            out.append(s.url.path)
        }
        return out
    }()

    @Test func thereAreCasesOfBothKinds() {
        let names = Self.cases.map { ($0 as NSString).lastPathComponent }
        #expect(names.filter { $0.hasPrefix("ok-") }.count >= 4 && names.filter { $0.hasPrefix("bad-") }.count >= 6)
        #expect(Self.cases.count >= 15)
    }

    @Test(.enabled(if: NftOracle.missing == nil || mustRunPrivileged, "nft oracle not available"), arguments: cases)
    func ourReadingAgreesWithNftCheck(_ rootPath: String) throws {
        try #require(NftOracle.missing == nil, "\(NftOracle.missing ?? "")")
        let set = NftRuleset.load("/etc/nftables.conf", files: FileSource(root: try TargetRoot(directory: rootPath)))
        let theirs = try NftOracle.check(rootPath + "/etc/nftables.conf", includeDir: rootPath + "/etc")
        #expect(set.errors.isEmpty == (theirs.status == 0),
                "\(rootPath): nft -c exits \(theirs.status) (\(theirs.stderr.prefix(200))), we say \(set.errors.first?.message ?? "it loads")")
        let name = (rootPath as NSString).lastPathComponent
        if name.hasPrefix("ok-") { #expect(theirs.status == 0) }
        if name.hasPrefix("bad-") { #expect(theirs.status != 0) }
        if let line = theirs.line, let ours = set.errors.first, ours.location.path == "/etc/nftables.conf" {
            #expect(ours.location.line == line, "\(rootPath): nft names line \(line), we name \(ours.location.line)")
        }
    }
}
