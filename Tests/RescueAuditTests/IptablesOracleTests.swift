import Foundation
import Parsers
@testable import SystemModel
import TargetAccess
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

    @Test func oracleIsAvailable() throws {
        if let why = IptablesOracle.missing {
            #expect(!mustRunPrivileged, "the iptables-restore oracle cannot run: \(why)")
            print("note: iptables-restore oracle tests skipped: \(why)")
            return
        }
        // The legacy restore builds tables from the kernel's: say so plainly when this kernel has none.
        let probe = try IptablesOracle.test(Self.corpus.appendingPathComponent("ok-blank-and-comments.v4").path, family: .ipv4)
        #expect(probe.status == 0, "iptables-restore --test cannot initialize the filter table in a network namespace on this kernel (ip_tables missing?): \(probe.stderr)")
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

    /// iptables-nft-restore (the default behind /etc/alternatives since
    /// Debian 10 and RHEL 8) takes a final COMMIT without a newline, which the
    /// legacy restore refuses; read as nft, we agree with the nft restore on
    /// the whole corpus but that one file reads the same as legacy.
    @Test(.enabled(if: IptablesOracle.available || mustRunPrivileged, "iptables-restore oracle not available"),
          arguments: ["bad-commit-without-newline.v4", "ok-upstream-tcp-flags.v4", "bad-dport-placeholder.v4"])
    func nftBackendAgreesWithIptablesNftRestore(_ name: String) throws {
        try #require(IptablesOracle.missing == nil, "\(IptablesOracle.missing ?? "")")
        let path = Self.corpus.appendingPathComponent(name).path
        let nft = IptablesOracle.root + "/usr/sbin/xtables-nft-multi"
        let theirs = try IptablesOracle.test(path, family: .ipv4, program: nft)
        let ours = IptablesSaveParser.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), path: "/" + name,
                                            family: .ipv4, backend: .nft)
        #expect((ours.failure == nil) == (theirs.status == 0),
                "\(name): iptables-nft-restore --test exits \(theirs.status) (\(theirs.stderr)); we say \(ours.failure?.message ?? "it restores")")
        if name == "bad-commit-without-newline.v4" {
            #expect(theirs.status == 0, "iptables-nft-restore takes a final COMMIT without newline")
            #expect(IptablesSaveParser.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), path: "/" + name,
                                             family: .ipv4).failure != nil, "the legacy reading still refuses it")
        }
    }

    /// Every iptables-save file in the test suite's roots: what the firewall
    /// model restores at boot, and any file at a path where such rules are
    /// persisted (rules.v4, /etc/sysconfig/iptables...), active or not.
    static let suiteFiles: [String] = {
        let fm = FileManager.default
        let names: Set<String> = ["rules.v4", "rules.v6", "iptables.rules", "ip6tables.rules", "iptables.up.rules", "ip6tables.up.rules"]
        var roots: [URL] = []
        for rule in ((try? fm.contentsOfDirectory(atPath: Repo.rules.path)) ?? []).sorted() {
            let tests = Repo.rules.appendingPathComponent(rule).appendingPathComponent("tests")
            for s in ((try? fm.contentsOfDirectory(atPath: tests.path)) ?? []).sorted() where s.hasSuffix(".fail") || s.hasSuffix(".pass") {
                roots.append(tests.appendingPathComponent(s))
            }
        }
        roots.append(Repo.example)
        var out: [String] = []
        for root in roots {
            var paths = Set<String>()
            if let system = try? SystemSnapshot.load(root: TargetRoot(directory: root.path)) {
                for m in system.firewall.mechanisms {
                    for f in m.restoredFiles { paths.insert(f.path) }
                }
            }
            let walker = fm.enumerator(atPath: root.path)
            while let rel = walker?.nextObject() as? String {
                let name = (rel as NSString).lastPathComponent
                if names.contains(name) || rel == "etc/sysconfig/iptables" || rel == "etc/sysconfig/ip6tables" { paths.insert("/" + rel) }
            }
            out += paths.sorted().map { root.path + $0 }
        }
        return out
    }()

    static func familyOf(_ path: String) -> IptablesFamily {
        let name = (path as NSString).lastPathComponent
        return name.hasSuffix(".v6") || name.hasPrefix("ip6") ? .ipv6 : .ipv4
    }

    @Test func theSuiteHasRulesFiles() {
        #expect(Self.suiteFiles.count >= 12, "\(Self.suiteFiles)")
    }

    /// Every rules file of the rule scenarios and examples parses for both or fails for both.
    @Test(.enabled(if: IptablesOracle.available || mustRunPrivileged, "iptables-restore oracle not available"),
          arguments: suiteFiles)
    func suiteFilesAgreeWithIptablesRestore(_ path: String) throws {
        try #require(IptablesOracle.missing == nil, "\(IptablesOracle.missing ?? "")")
        try IptablesOracle.expectAgreement(path, family: Self.familyOf(path))
    }

    /// ufw's files are restored with `-n` on top of the chains ufw-init
    /// creates, so they are checked the way ufw-init loads them: the same
    /// sequence of real restores, in a private network namespace, and each
    /// file must fail for the restore exactly when the model says it fails.
    @Test(.enabled(if: IptablesOracle.available || mustRunPrivileged, "iptables-restore oracle not available"))
    func ufwFilesAgreeWithUfwInitsRestores() throws {
        try #require(IptablesOracle.missing == nil, "\(IptablesOracle.missing ?? "")")
        var checked = 0, failing = 0
        for rule in try FileManager.default.contentsOfDirectory(atPath: Repo.rules.path).sorted() {
            let tests = Repo.rules.appendingPathComponent(rule).appendingPathComponent("tests")
            for s in ((try? FileManager.default.contentsOfDirectory(atPath: tests.path)) ?? []).sorted() where s.hasSuffix(".fail") || s.hasSuffix(".pass") {
                let root = tests.appendingPathComponent(s)
                let system = SystemSnapshot.load(root: try TargetRoot(directory: root.path))
                guard let ufw = system.firewall.mechanisms.first(where: { $0.kind == .ufw && $0.active }) else { continue }
                let ours = Set(ufw.failures.map(\.path))
                let theirs = try ufwInit(root: root)
                #expect(theirs.failed == ours, "\(rule)/\(s): ufw-init's restores fail on \(theirs.failed.sorted()), the model says \(ours.sorted())\n\(theirs.log)")
                checked += 1
                failing += ours.isEmpty ? 0 : 1
            }
        }
        #expect(checked >= 4 && failing >= 1, "ufw scenarios checked: \(checked), with failures: \(failing)")
    }

    /// ufw-init's start for IPv4 and IPv6 with the oracle's restore, `-n` as ufw runs it.
    func ufwInit(root: URL) throws -> (failed: Set<String>, log: String) {
        let work = try makeTempDir("ufw-init")
        defer { try? FileManager.default.removeItem(at: work) }
        let defaults = try String(contentsOf: root.appendingPathComponent("etc/default/ufw"), encoding: .utf8)
        let policyLine = defaults.split(separator: "\n").first { $0.hasPrefix("DEFAULT_INPUT_POLICY=") }.map(String.init) ?? "=DROP"
        let policy = String(policyLine.split(separator: "=", maxSplits: 1).last ?? "DROP").filter { $0 != "\"" }
        let ipv6 = defaults.contains("\nIPV6=yes")
        var script = "set -u\nM='\(IptablesOracle.legacy)'\n"
        for (family, p) in [(AddressFamily.ipv4, "ufw"), (.ipv6, "ufw6")] where family == .ipv4 || ipv6 {
            let exe = family == .ipv4 ? "iptables" : "ip6tables"
            let skeleton = work.appendingPathComponent("\(p)-skeleton")
            try UfwBuilder.skeleton(p, policy: policy).write(to: skeleton, atomically: false, encoding: .utf8)
            var user = "*filter\n"
            for c in ["user-input", "user-output", "user-forward", "user-logging-input", "user-logging-output",
                      "user-logging-forward", "user-limit", "user-limit-accept"] { user += ":\(p)-\(c) - [0:0]\n" }
            try (user + "COMMIT\n").write(to: work.appendingPathComponent("\(p)-user"), atomically: false, encoding: .utf8)
            let paths = UfwBuilder.paths(family)
            script += "\"$M\" \(exe)-restore -n < '\(skeleton.path)' || echo 'FAIL skeleton'\n"
            for path in [paths.before, paths.after] {
                script += "\"$M\" \(exe)-restore -n < '\(root.path)\(path)' || echo 'FAIL \(path)'\n"
            }
            script += "\"$M\" \(exe)-restore -n < '\(work.appendingPathComponent("\(p)-user").path)' || echo 'FAIL user chains'\n"
            script += "\"$M\" \(exe)-restore -n < '\(root.path)\(paths.user)' || echo 'FAIL \(paths.user)'\n"
        }
        let r = try run(IptablesOracle.unshare ?? "/usr/bin/unshare", ["-n", "/bin/sh", "-c", script], environment: [
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "LD_LIBRARY_PATH": IptablesOracle.root + "/usr/lib/x86_64-linux-gnu",
            "XTABLES_LIBDIR": IptablesOracle.root + "/usr/lib/x86_64-linux-gnu/xtables",
        ])
        let failed = Set(r.stdout.split(separator: "\n").filter { $0.hasPrefix("FAIL ") }.map { String($0.dropFirst(5)) })
        #expect(!failed.contains("skeleton") && !failed.contains("user chains"), "ufw-init's own chains failed: \(r.stderr)")
        return (failed, r.stdout + r.stderr)
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
