import Foundation
import Parsers
@testable import SystemModel
import TargetAccess
import Testing

/// Debian 12's sshd (OpenSSH 9.2p1), unpacked (never installed) by
/// scripts/fetch-oracles.sh under .oracles/root/, run as `sshd -t` on
/// fixture configurations only. It runs in a private mount namespace
/// (`unshare -m`, so root) where /etc/ssh is a tmpfs holding the case's
/// files, /run is a tmpfs with /run/sshd and the case's /run files, and
/// /etc/passwd is the host's plus the sshd user sshd insists on. Nothing of
/// the host is changed.
enum SshdOracle {
    static let root = Repo.root.appendingPathComponent(".oracles/root").path
    static let sshd = root + "/usr/sbin/sshd"
    static let keygen = root + "/usr/bin/ssh-keygen"
    static let unshare = which("unshare")
    static var libraryPath: String { root + "/usr/lib/x86_64-linux-gnu:" + root + "/lib/x86_64-linux-gnu" }

    static var missing: String? {
        let fm = FileManager.default
        if !fm.isExecutableFile(atPath: sshd) || !fm.isExecutableFile(atPath: keygen) {
            return "openssh-server is not unpacked: run scripts/fetch-oracles.sh"
        }
        if unshare == nil { return "unshare (util-linux) is not installed" }
        if !isRoot { return "unshare -m needs root" }
        if !fm.fileExists(atPath: "/etc/ssh") { return "/etc/ssh is missing on this host (openssh-client, .ci/packages)" }
        return nil
    }

    /// A host key and a passwd file with the sshd user, made once.
    static let support: (key: String, passwd: String)? = {
        guard missing == nil, let dir = try? makeTempDir("sshd-oracle") else { return nil }
        let key = dir.appendingPathComponent("hostkey").path
        guard let r = try? run(keygen, ["-q", "-t", "ed25519", "-N", "", "-f", key], environment: ["LD_LIBRARY_PATH": libraryPath]),
              r.status == 0 else { return nil }
        var passwd = (try? String(contentsOfFile: "/etc/passwd", encoding: .utf8)) ?? ""
        if !passwd.split(separator: "\n").contains(where: { $0.hasPrefix("sshd:") }) {
            passwd += "sshd:x:101:65534::/run/sshd:/usr/sbin/nologin\n"
        }
        let pw = dir.appendingPathComponent("passwd").path
        guard (try? Data(passwd.utf8).write(to: URL(fileURLWithPath: pw))) != nil else { return nil }
        return (key, pw)
    }()

    static let script = """
        set -e
        o=$1; c=$2; k=$3; pw=$4
        mount -t tmpfs tmpfs /run
        mkdir -p /run/sshd
        if [ -d "$c/run" ]; then cp -R "$c/run/." /run/; fi
        mount -t tmpfs tmpfs /etc/ssh
        cp -R "$c/etc/ssh/." /etc/ssh/
        mount --bind "$pw" /etc/passwd
        LD_LIBRARY_PATH="$o/usr/lib/x86_64-linux-gnu:$o/lib/x86_64-linux-gnu" exec "$o/usr/sbin/sshd" -t -f /etc/ssh/sshd_config -h "$k"
        """

    /// `sshd -t` on a root holding etc/ssh/sshd_config (and maybe run/...).
    static func test(_ caseRoot: String) throws -> ProcessOutput {
        guard let support else { throw CocoaError(.fileNoSuchFile) }
        return try run(unshare ?? "/usr/bin/unshare", ["-m", "/bin/sh", "-c", script, "sh", root, caseRoot, support.key, support.passwd],
                       environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"])
    }

    /// `sshd -t` on one configuration text.
    static func test(text: String) throws -> ProcessOutput {
        let dir = try makeTempDir("sshd-oracle-case")
        defer { try? FileManager.default.removeItem(at: dir) }
        try write(text, to: dir.appendingPathComponent("etc/ssh/sshd_config"))
        return try test(dir.path)
    }
}

@Suite struct SshdOracleTests {
    static let corpus = Repo.fixtures.appendingPathComponent("sshd-corpus")
    static let cases: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: corpus.path)) ?? []).sorted()
    static var available: Bool { SshdOracle.missing == nil }

    @Test func oracleIsAvailable() throws {
        if let why = SshdOracle.missing {
            #expect(!mustRunPrivileged, "the sshd -t oracle cannot run: \(why)")
            print("note: sshd -t oracle tests skipped: \(why)")
            return
        }
        let probe = try SshdOracle.test(text: "Port 22\n")
        #expect(probe.status == 0, "sshd -t refuses a one-line configuration: \(probe.stderr)")
    }

    @Test func corpusHasBothOutcomes() {
        #expect(Self.cases.filter { $0.hasPrefix("ok-") }.count >= 10)
        #expect(Self.cases.filter { $0.hasPrefix("bad-") }.count >= 20)
    }

    /// Our model of sshd_config offline, as the corpus names and as sshd -t says.
    @Test(arguments: cases)
    func modelAgreesWithTheCaseName(_ name: String) throws {
        let model = SshdConfigModel.load(try TargetRoot(directory: Self.corpus.appendingPathComponent(name).path))
        #expect(model.exists)
        #expect(model.accepted == name.hasPrefix("ok-"),
                "\(name): we say \(model.accepted ? "accepted" : "refused: \(model.problems.filter(\.refuses).map(\.message))")")
    }

    /// Every corpus case: sshd -t and the model both accept it or both refuse it.
    @Test(.enabled(if: available || mustRunPrivileged, "sshd -t oracle not available"), arguments: cases)
    func corpusAgreesWithSshdT(_ name: String) throws {
        try #require(SshdOracle.missing == nil, "\(SshdOracle.missing ?? "")")
        let dir = Self.corpus.appendingPathComponent(name).path
        let theirs = try SshdOracle.test(dir)
        let model = SshdConfigModel.load(try TargetRoot(directory: dir))
        #expect(model.accepted == (theirs.status == 0),
                "\(name): sshd -t exits \(theirs.status) (\(theirs.stderr.trimmingCharacters(in: .whitespacesAndNewlines))), we say \(model.accepted ? "accepted" : "refused")")
        // The names say what sshd should do, so a silent oracle cannot pass.
        #expect((theirs.status == 0) == name.hasPrefix("ok-"), "\(name): sshd -t exits \(theirs.status)")
    }

    /// The keyword table against the binary: every keyword it holds is known
    /// to sshd, deprecated and unsupported ones are said so, and a keyword
    /// is refused inside `Match User x` exactly when the table says so.
    @Test(.enabled(if: available || mustRunPrivileged, "sshd -t oracle not available"))
    func keywordTableMatchesTheBinary() throws {
        try #require(SshdOracle.missing == nil, "\(SshdOracle.missing ?? "")")
        let unknown = ["gssapienablek5users", "useroaming", "showpatchlevel", "permitrootlogn"]
        for name in SshdKeywords.table.keys.sorted() + unknown {
            let global = try SshdOracle.test(text: "\(name) zzzbogus\n").stderr
            guard let kw = SshdKeywords.table[name] else {
                #expect(global.contains("Bad configuration option"), "\(name) should be unknown to sshd: \(global)")
                continue
            }
            #expect(!global.contains("Bad configuration option"), "\(name) is in the table but sshd does not know it")
            #expect(global.contains("Deprecated option") == (kw.support == .deprecated), "\(name): \(global)")
            #expect(global.contains("Unsupported option") == (kw.support == .unsupported), "\(name): \(global)")
            let inMatch = try SshdOracle.test(text: "Match User x\n\(name) zzzbogus\n").stderr
            #expect(inMatch.contains("not allowed within a Match block") == !kw.inMatch, "\(name) in Match: \(inMatch)")
        }
    }

    /// Value checks against the binary on values near the edges.
    @Test(.enabled(if: available || mustRunPrivileged, "sshd -t oracle not available"))
    func valueChecksMatchTheBinary() throws {
        try #require(SshdOracle.missing == nil, "\(SshdOracle.missing ?? "")")
        let lines = [
            "PasswordAuthentication YES", "PasswordAuthentication maybe", "PermitRootLogin forced-commands-only",
            "PermitRootLogin nope", "AddressFamily INET6", "AddressFamily ipv4", "Port 65535", "Port 65536", "Port ssh",
            "LoginGraceTime 1m30s", "LoginGraceTime 90", "LoginGraceTime m", "ClientAliveInterval 0", "MaxStartups 10:30:60",
            "MaxStartups 10:30", "MaxSessions 0", "MaxSessions x", "LogLevel VERBOSE", "LogLevel debug3", "LogLevel trace",
            "SyslogFacility AUTHPRIV", "SyslogFacility LOCAL8", "Ciphers -aes*-cbc", "Ciphers ^chacha20-poly1305@openssh.com",
            "Ciphers aes128-ctr,", "KexAlgorithms +diffie-hellman-group1-sha1", "KexAlgorithms curve25519-sha256,foo",
            "Compression delayed", "GatewayPorts clientspecified", "AllowTcpForwarding local", "PermitTunnel ethernet",
            "IgnoreRhosts shosts-only", "UnusedConnectionTimeout none", "PerSourceMaxStartups none", "FingerprintHash sha1", "FingerprintHash sha3",
            "X11Forwarding no no", "Match all\nPort 2222", "Match User a Group b\nPermitTTY no", "Match Host\nPermitTTY no",
            "Subsystem sftp", "ListenAddress [::1]:2222", "ListenAddress 192.0.2.1:0",
        ]
        for line in lines {
            let theirs = try SshdOracle.test(text: line + "\n")
            let dir = try makeTempDir("sshd-value")
            defer { try? FileManager.default.removeItem(at: dir) }
            try write(line + "\n", to: dir.appendingPathComponent("etc/ssh/sshd_config"))
            let model = SshdConfigModel.load(try TargetRoot(directory: dir.path))
            #expect(model.accepted == (theirs.status == 0),
                    "\(line.debugDescription): sshd -t exits \(theirs.status) (\(theirs.stderr.trimmingCharacters(in: .whitespacesAndNewlines))), we say \(model.accepted ? "accepted" : "refused: \(model.problems.map(\.message))")")
        }
    }
}
