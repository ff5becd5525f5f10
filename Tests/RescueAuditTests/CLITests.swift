import Foundation
import Testing

/// The built binary, as a user runs it: output, JSON contract and exit codes.
@Suite struct CLITests {
    /// The bundled example as the README audits it (a copy with its modes applied).
    static var example: String { Repo.example.path }

    func json(_ out: ProcessOutput) throws -> [String: Any] {
        let obj = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8))
        return try #require(obj as? [String: Any], "stdout is a JSON object: \(out.stdout.prefix(300))")
    }

    func findings(_ doc: [String: Any]) -> [[String: Any]] { doc["findings"] as? [[String: Any]] ?? [] }

    @Test func versionNamesLibblkid() throws {
        let out = try rescueAudit(["--version"])
        #expect(out.status == 0)
        #expect(out.stdout.contains("rescue-audit "))
        #expect(out.stdout.contains("libblkid 2."), "libblkid version from blkid_get_library_version: \(out.stdout)")
    }

    @Test func missingLoopbackIsReportedWithItsPath() throws {
        let out = try rescueAudit(["audit", Self.example, "--format", "json"])
        #expect(out.status == 1, "findings exit 1")
        let doc = try json(out)
        #expect(doc["schemaVersion"] as? Int == 2)
        let verdict = doc["verdict"] as? [String: Any] ?? [:]
        #expect(verdict["version"] as? Int == 1)
        #expect((verdict["line"] as? String)?.hasPrefix("SSH after the next boot: ") == true)
        #expect(["reachable", "not-reachable", "cannot-tell"].contains(verdict["outcome"] as? String ?? ""))
        let chain = verdict["chain"] as? [[String: Any]] ?? []
        #expect(chain.map { $0["kind"] as? String ?? "" } == ["interface", "stack", "address", "default-route", "firewall", "sshd-starts", "listens", "login"])
        #expect(chain.allSatisfy { $0["evidence"] is [Any] && $0["state"] is String && $0["summary"] is String })
        let lo = findings(doc).filter { $0["rule"] as? String == "loopback-not-configured" }
        #expect(lo.count == 1)
        let evidence = lo.first?["evidence"] as? [[String: Any]] ?? []
        #expect(evidence.contains { $0["path"] as? String == "/etc/network/interfaces" })
        #expect(lo.first?["severity"] as? String == "critical", "sysvinit with ifupdown 0.6 brings nothing up")
        for key in ["rule", "severity", "title", "message", "evidence", "actions"] {
            #expect(lo.first?[key] != nil, "finding has \(key)")
        }
        // Actions are ids into plan.actions.
        let ids = lo.first?["actions"] as? [String] ?? []
        let plan = doc["plan"] as? [String: Any]
        let planIDs = (plan?["actions"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(!ids.isEmpty && ids.allSatisfy(planIDs.contains))
    }

    @Test func aliasGatewaysGiveEveryGatewayLineAsEvidence() throws {
        let out = try rescueAudit([Self.example, "--format", "json"]) // `rescue-audit DIR` is `audit DIR`
        let doc = try json(out)
        let routes = findings(doc).filter { $0["rule"] as? String == "multiple-default-routes" }
        #expect(routes.count == 1)
        let lines = (routes.first?["evidence"] as? [[String: Any]] ?? []).compactMap { $0["line"] as? Int }
        #expect(lines.sorted() == [9, 16, 22, 28], "every gateway line of the interfaces file")
        let actions = (doc["plan"] as? [String: Any])?["actions"] as? [[String: Any]] ?? []
        let edit = try #require(actions.first { $0["kind"] as? String == "edit-file" })
        #expect((edit["sha256"] as? String)?.count == 64, "actions carry the audited SHA-256")
    }

    @Test func stockDebianHasNeither() throws {
        let stock = Repo.rules.appendingPathComponent("loopback-not-configured/tests/debian-12-stock.pass").path
        let out = try rescueAudit(["audit", stock, "--format", "json"])
        #expect(out.status == 0, "\(out.stdout)")
        let rules = findings(try json(out)).compactMap { $0["rule"] as? String }
        #expect(!rules.contains("loopback-not-configured"))
        #expect(!rules.contains("multiple-default-routes"))
    }

    @Test func textIsPlainWhenNotATerminalAndMostCriticalFirst() throws {
        let out = try rescueAudit(["audit", Self.example])
        #expect(!out.stdout.contains("\u{1B}["), "no colour when stdout is a pipe")
        let critical = try #require(out.stdout.range(of: "CRITICAL"))
        let high = try #require(out.stdout.range(of: "HIGH"))
        #expect(critical.lowerBound < high.lowerBound)
        #expect(out.stdout.contains("At boot:"))
    }

    /// The README shows the example's verdict and chain as the tool prints
    /// them: every line of its "What it prints" block up to the report's
    /// header is the audit's own, in order.
    @Test func readmeShowsTheExamplesVerdictAsPrinted() throws {
        let readme = try String(contentsOf: Repo.root.appendingPathComponent("README.md"), encoding: .utf8)
        let block = try #require(readme.components(separatedBy: "$ rescue-audit .build/examples/seed-000-001-broken-root\n").dropFirst().first)
        let shown = block.components(separatedBy: "\nrescue-audit 0.1.0 - ").first ?? ""
        let out = try rescueAudit(["audit", Self.example])
        let printed = out.stdout.components(separatedBy: "\nrescue-audit 0.1.0 - ").first ?? ""
        #expect(shown == printed, "README.md shows:\n\(shown)\nthe tool prints:\n\(printed)")
        #expect(printed.hasPrefix("SSH after the next boot: reachable at 128.100.1.10:22 (eth0, static); not at 128.100.1.11:22"), "\(printed)")
    }

    @Test func markdownRenders() throws {
        let out = try rescueAudit(["audit", Self.example, "--format", "markdown"])
        #expect(out.stdout.hasPrefix("**SSH after the next boot: "), "the report opens with the verdict")
        #expect(out.stdout.contains("\n# rescue-audit report"))
        #expect(out.stdout.contains("### CRITICAL"))
    }

    @Test func thresholdControlsTheExitStatus() throws {
        #expect(try rescueAudit(["audit", Self.example, "--fail-on", "critical"]).status == 1)
        let stock = Repo.rules.appendingPathComponent("loopback-not-configured/tests/systemd-no-stanza.fail").path
        #expect(try rescueAudit(["audit", stock, "--fail-on", "high"]).status == 0, "a low finding is under the threshold")
        #expect(try rescueAudit(["audit", stock]).status == 1)
    }

    @Test func errorsAreOneSentenceAndExitTwo() throws {
        let out = try rescueAudit(["audit", "/nonexistent/root"])
        #expect(out.status == 2)
        let lines = out.stderr.split(separator: "\n")
        #expect(lines.count == 1, "one line: \(out.stderr)")
        #expect(out.stderr.contains("give an existing root directory"))
    }

    @Test func usageErrorsExit64() throws {
        #expect(try rescueAudit(["audit", "--format", "yaml", Self.example]).status == 64)
        #expect(try rescueAudit(["explain", "no-such-rule"]).status == 64)
    }

    @Test func rulesAndExplain() throws {
        let list = try rescueAudit(["rules"])
        #expect(list.status == 0)
        for id in ["loopback-not-configured", "multiple-default-routes", "config-syntax-error"] {
            #expect(list.stdout.contains(id))
        }
        let explain = try rescueAudit(["explain", "loopback-not-configured"])
        #expect(explain.status == 0)
        #expect(explain.stdout.contains("Why it matters"))
        let json = try rescueAudit(["rules", "--format", "json"])
        let arr = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        #expect((arr?.count ?? 0) >= 4)
    }

    /// A FIFO where a config file should be and a symlink out of the root:
    /// the audit ends (a blocking open would hang it) with findings. How fast
    /// is measured in benchmarks/hostile-inputs.sh.
    @Test func hostileRootEndsInFindings() throws {
        let dir = try makeTempDir("hostile-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("etc/network"), withIntermediateDirectories: true)
        #expect(mkfifo(dir.appendingPathComponent("etc/network/interfaces").path, 0o644) == 0)
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("etc/os-release").path, withDestinationPath: "/etc/shadow")
        let out = try runGuarded(Repo.binary.path, ["audit", dir.path, "--format", "json"])
        let doc = try json(out)
        let unreadable = findings(doc).filter { $0["rule"] as? String == "config-file-unreadable" }
        #expect(unreadable.contains { $0["severity"] as? String == "critical" && ($0["message"] as? String ?? "").contains("FIFO") })
        #expect(!out.stdout.contains("root:"), "nothing from the host's /etc/shadow")
    }

    @Test func nonUTF8AndControlBytesNeverReachTheTerminalRaw() throws {
        let dir = try makeTempDir("bytes-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("etc/network/interfaces")
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        var bytes = Array("auto eth0\niface eth0 inet static\n address 192.0.2.1/24\n gateway 192.0.2.254\nauto eth0:0\niface eth0:0 inet static\n address 192.0.2.2/24\n gateway 192.0.2.254 \u{1B}[2J\u{1B}]0;pwned\u{07}\n".utf8)
        bytes += [0xFF, 0xFE, 0x0A]
        try Data(bytes).write(to: url)
        let out = try rescueAudit(["audit", dir.path])
        #expect(out.status == 1)
        #expect(!out.stdout.contains("\u{1B}"), "escape sequences from the target are shown as \\x1b")
        #expect(out.stdout.contains("\\x1b"))
        let json = try rescueAudit(["audit", dir.path, "--format", "json"])
        #expect(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) is [String: Any])
    }

    @Test func twoStacksOnOneInterfaceShowBothClaimsInFacts() throws {
        let root = Repo.rules.appendingPathComponent("multiple-default-routes/tests/ifupdown-and-netplan.fail").path
        let doc = try json(try rescueAudit(["audit", root, "--format", "json"]))
        let facts = try #require(doc["facts"] as? [String: Any])
        let claims = (facts["interfaces"] as? [[String: Any]] ?? []).filter { $0["name"] as? String == "eth0" }
        #expect(Set(claims.compactMap { $0["stack"] as? String }) == ["ifupdown", "netplan"])
        for c in claims {
            #expect((c["path"] as? String)?.hasPrefix("/etc/") == true && (c["line"] as? Int ?? 0) > 0, "each claim carries file and line")
        }
        let routes = facts["defaultRoutes"] as? [[String: Any]] ?? []
        #expect(Set(routes.compactMap { $0["stack"] as? String }) == ["ifupdown", "netplan"])
    }
}

/// A malformed file in every format gives a finding with its line, and the audit goes on.
@Suite struct MalformedEveryFormatTests {
    @Test func everyFormatReportsItsLine() throws {
        let dir = try makeTempDir("malformed")
        defer { try? FileManager.default.removeItem(at: dir) }
        let files: [String: String] = [
            "etc/network/interfaces": "source /etc/network/interfaces.d/*\n    address 192.0.2.1\nauto lo\niface lo inet loopback\nauto eth0\niface eth0 inet dhcp\n",
            "etc/network/interfaces.d/broken": "iface eth1 inet static\n    address 192.0.2.5/24\nmtu\n",
            "etc/netplan/01-bad.yaml": "network:\n  version: 2\n  ethernets:\n    ens3:\n      dhcp4: maybe\n",
            "etc/systemd/network/10-bad.network": "[Match]\nName=ens4\n[Network\nAddress=192.0.2.7/24\n",
            "etc/sysconfig/network-scripts/ifcfg-eth2": "DEVICE=eth2\nBOOTPROTO=none\nIPADDR=\"192.0.2.9\nONBOOT=yes\n",
            "etc/ssh/sshd_config": "Port 22\nPort twenty-two\n",
            "var/lib/dpkg/status": "Package: ifupdown\nStatus: install ok installed\nVersion: 0.8.41\n\nPackage: netplan.io\nStatus: install ok installed\nVersion: 0.106\n",
            "usr/libexec/netplan/generate": "",
        ]
        for (path, text) in files { try write(text, to: dir.appendingPathComponent(path)) }
        try write("[connection]\nid=x\nuuid=3e5c5c1a-0c1f-4f0e-9d3a-1b2c3d4e5f60\ntype=ethernet\nthis line is not a key\n",
                  to: dir.appendingPathComponent("etc/NetworkManager/system-connections/x.nmconnection"))
        #expect(chmod(dir.appendingPathComponent("etc/NetworkManager/system-connections/x.nmconnection").path, 0o600) == 0)

        let out = try rescueAudit(["audit", dir.path, "--format", "json"])
        #expect(out.status == 1, "\(out.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
        // sshd_config's lines are sshd-config-invalid's, graded by what sshd does with them.
        let syntax = (doc["findings"] as? [[String: Any]] ?? []).filter { ["config-syntax-error", "sshd-config-invalid"].contains($0["rule"] as? String ?? "") }
        var lines: [String: [Int]] = [:]
        for f in syntax {
            for e in f["evidence"] as? [[String: Any]] ?? [] {
                if let p = e["path"] as? String, let l = e["line"] as? Int { lines[p, default: []].append(l) }
            }
        }
        #expect(lines["/etc/network/interfaces"]?.contains(2) == true, "\(lines)")
        #expect(lines["/etc/network/interfaces.d/broken"] != nil, "\(lines)")
        #expect(lines["/etc/netplan/01-bad.yaml"]?.contains(5) == true, "\(lines)")
        #expect(lines["/etc/systemd/network/10-bad.network"]?.contains(3) == true, "\(lines)")
        #expect(lines["/etc/sysconfig/network-scripts/ifcfg-eth2"]?.contains(3) == true, "\(lines)")
        #expect(lines["/etc/ssh/sshd_config"]?.contains(2) == true, "\(lines)")
        if isRoot {
            #expect(lines["/etc/NetworkManager/system-connections/x.nmconnection"]?.contains(5) == true, "\(lines)")
        }
        // The rest of the audit went on: the facts still hold the well-formed parts.
        let facts = doc["facts"] as? [String: Any] ?? [:]
        let names = (facts["interfaces"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(names.contains("eth0"))
    }
}
