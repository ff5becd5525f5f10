import Foundation
import Parsers
import Rules
@testable import SystemModel
import TargetAccess
import Testing

/// A scenario root of a rule folder, loaded.
func scenarioSnapshot(_ rule: String, _ name: String) throws -> SystemSnapshot {
    let url = Repo.rules.appendingPathComponent(rule).appendingPathComponent("tests").appendingPathComponent(name)
    return SystemSnapshot.load(root: try TargetRoot(directory: url.path))
}

/// A throwaway root built from files (path → text) and symlinks (path → target).
struct TempRoot {
    let url: URL

    init(_ files: [String: String], links: [String: String] = [:], executable: [String] = []) throws {
        url = try makeTempDir("firewall-root")
        for (path, text) in files { try write(text, to: url.appendingPathComponent(String(path.dropFirst()))) }
        for (path, target) in links {
            let p = url.appendingPathComponent(String(path.dropFirst()))
            try FileManager.default.createDirectory(at: p.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: p.path, withDestinationPath: target)
        }
        for path in executable {
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.appendingPathComponent(String(path.dropFirst())).path)
        }
    }

    func snapshot() throws -> SystemSnapshot { SystemSnapshot.load(root: try TargetRoot(directory: url.path)) }
    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// A Debian 12 root with netfilter-persistent enabled and these rules.
func netfilterPersistentRoot(v4: String, v6: String? = nil, sshd: String = "#Port 22\n", extra: [String: String] = [:]) throws -> TempRoot {
    var files = [
        "/lib/systemd/systemd": "systemd\n",
        "/lib/systemd/system/netfilter-persistent.service": "[Service]\nExecStart=/usr/sbin/netfilter-persistent start\n[Install]\nWantedBy=multi-user.target\n",
        "/usr/share/netfilter-persistent/plugins.d/15-ip4tables": "#!/bin/sh\n",
        "/usr/share/netfilter-persistent/plugins.d/25-ip6tables": "#!/bin/sh\n",
        "/etc/ssh/sshd_config": sshd,
        "/etc/iptables/rules.v4": v4,
    ]
    if let v6 { files["/etc/iptables/rules.v6"] = v6 }
    files.merge(extra) { $1 }
    return try TempRoot(files, links: [
        "/sbin/init": "../lib/systemd/systemd",
        "/etc/systemd/system/multi-user.target.wants/netfilter-persistent.service": "/lib/systemd/system/netfilter-persistent.service",
    ])
}

@Suite struct FirewallTests {
    // MARK: The seeds

    /// Seed 000: the firewall logs and drops loopback traffic while amavisd listens on 127.0.0.1.
    @Test func seed000ReportsTheExactDropRule() throws {
        let system = try scenarioSnapshot("firewall-blocks-loopback", "seed-000-loopback-dropped.fail")
        let findings = AuditResult.run(system).findings.filter { $0.rule == "firewall-blocks-loopback" }
        let f = try #require(findings.first)
        #expect(findings.count == 1)
        #expect(f.severity == .critical)
        #expect(f.evidence.contains { $0.path == "/etc/iptables.up.rules" && $0.line == 12 && $0.text == "-A INPUT -j DROP" })
        #expect(f.evidence.contains { $0.path == "/etc/amavis/conf.d/50-user" && $0.text == "$inet_socket_port = 10024;" })
        #expect(f.evidence.contains { $0.path == "/etc/network/if-pre-up.d/iptables" && $0.text == "/sbin/iptables-restore < /etc/iptables.up.rules" })
        // The LOG rule before the DROP is not the deciding line.
        #expect(!f.evidence.contains { $0.text.contains("LOG") })
        let v = try #require(system.firewall.verdict(.loopback, .ipv4))
        #expect(v.answer == .dropped)
        #expect(v.fixes == [.insert(path: "/etc/iptables.up.rules", before: 12, lines: ["-A INPUT -i lo -j ACCEPT"])])
        #expect(v.alternatives.allSatisfy { if case .disable = $0 { !$0.isAutomatic } else { false } })
    }

    /// Seed 002: sshd on a custom port; the persisted rules only open 22.
    @Test func seed002ReportsTheCustomPortAndThePolicyLine() throws {
        let system = try scenarioSnapshot("firewall-blocks-ssh", "seed-002-custom-ssh-port.fail")
        let f = try #require(AuditResult.run(system).findings.first { $0.rule == "firewall-blocks-ssh" })
        #expect(f.severity == .critical)
        #expect(f.evidence.contains { $0.path == "/etc/ssh/sshd_config" && $0.line == 3 && $0.text == "Port 2222" })
        #expect(f.evidence.contains { $0.path == "/etc/iptables/iptables.rules" && $0.line == 3 && $0.text == ":INPUT DROP [0:0]" })
        #expect(f.message.contains("2222"))
        let v = try #require(system.firewall.verdict(.ssh(port: 2222), .ipv4))
        #expect(v.fixes == [.insert(path: "/etc/iptables/iptables.rules", before: 12, lines: ["-A INPUT -p tcp -m tcp --dport 2222 -j ACCEPT"])])
        #expect(system.firewall.verdict(.ssh(port: 22), .ipv4) == nil, "only sshd's real port is asked about")
    }

    // MARK: Clean scenarios are clean for the right reason

    /// Every passing firewall scenario answers "accepted" for SSH, loopback and
    /// ping: not "unknown", which would also raise no finding.
    @Test(arguments: ["firewall-blocks-ssh", "firewall-blocks-loopback", "firewall-blocks-ping", "firewall-rules-unparseable", "conflicting-firewalls"])
    func passingScenariosAreAccepted(_ rule: String) throws {
        let tests = Repo.rules.appendingPathComponent(rule).appendingPathComponent("tests")
        for name in try FileManager.default.contentsOfDirectory(atPath: tests.path) where name.hasSuffix(".pass") {
            let system = try scenarioSnapshot(rule, name)
            for v in system.firewall.verdicts where v.question != .established {
                #expect(v.answer == .accepted, "\(rule)/\(name): \(v.question) \(v.family) is \(v.answer): \(v.notes)")
            }
        }
    }

    @Test func policyDropWithTheCustomPortAllowedThroughAUserChain() throws {
        let system = try scenarioSnapshot("firewall-blocks-ssh", "custom-port-allowed.pass")
        let v = try #require(system.firewall.verdict(.ssh(port: 2222), .ipv4))
        #expect(v.answer == .accepted)
        #expect(v.evidence.map(\.text) == ["-A INPUT -p tcp -m tcp --dport 2222 -m conntrack --ctstate NEW -j ssh-in",
                                           "-A ssh-in -m comment --comment \"custom SSH port\" -j ACCEPT"])
        #expect(system.firewall.verdict(.ssh(port: 2222), .ipv6)?.answer == .accepted)
        #expect(AuditResult.run(system).findings.filter { $0.rule.hasPrefix("firewall") }.isEmpty)
    }

    // MARK: ufw

    @Test func ufwDenyIncomingWithoutSshRule() throws {
        let system = try scenarioSnapshot("firewall-blocks-ssh", "ufw-deny-incoming.fail")
        let v4 = try #require(system.firewall.verdict(.ssh(port: 22), .ipv4))
        #expect(v4.answer == .dropped)
        #expect(v4.evidence.contains { $0.location.path == "/etc/default/ufw" && $0.text == "DEFAULT_INPUT_POLICY=\"DROP\"" })
        let lines = (Text.lines([UInt8](try Data(contentsOf: Repo.rules.appendingPathComponent("firewall-blocks-ssh/tests/ufw-deny-incoming.fail/etc/ufw/user.rules")))))
        let end = try #require(lines.firstIndex(of: "### END RULES ###")) + 1
        #expect(v4.fixes == [.insert(path: "/etc/ufw/user.rules", before: end, lines: [
            "", "### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in", "-A ufw-user-input -p tcp --dport 22 -j ACCEPT"])])
        let v6 = try #require(system.firewall.verdict(.ssh(port: 22), .ipv6))
        #expect(v6.fixes.first.map { if case .insert(let p, _, _) = $0 { p } else { "" } } == "/etc/ufw/user6.rules")
        // Stock before.rules accepts lo and ping itself.
        let lo = try #require(system.firewall.verdict(.loopback, .ipv4))
        #expect(lo.answer == .accepted)
        #expect(lo.evidence.contains { $0.location.path == "/etc/ufw/before.rules" && $0.text == "-A ufw-before-input -i lo -j ACCEPT" })
        let ping = try #require(system.firewall.verdict(.ping, .ipv4))
        #expect(ping.answer == .accepted)
        #expect(ping.evidence.contains { $0.text == "-A ufw-before-input -p icmp --icmp-type echo-request -j ACCEPT" })
    }

    /// A DROP in before.rules runs before the user rules: an ssh rule in
    /// user.rules would not help, so no automatic fix is offered.
    @Test func ufwFixThatWouldNotHelpIsNotOffered() throws {
        let src = Repo.rules.appendingPathComponent("firewall-blocks-ssh/tests/ufw-deny-incoming.fail")
        let work = try makeTempDir("ufw-drop")
        defer { try? FileManager.default.removeItem(at: work) }
        let root = work.appendingPathComponent("root")
        try copyTree(src, to: root)
        let before = root.appendingPathComponent("etc/ufw/before.rules")
        var text = try String(contentsOf: before, encoding: .utf8)
        text = text.replacingOccurrences(of: "# allow all on loopback\n", with: "# no ssh from anywhere\n-A ufw-before-input -p tcp --dport 22 -j DROP\n\n# allow all on loopback\n")
        try text.write(to: before, atomically: false, encoding: .utf8)
        let system = SystemSnapshot.load(root: try TargetRoot(directory: root.path))
        let v = try #require(system.firewall.verdict(.ssh(port: 22), .ipv4))
        #expect(v.answer == .dropped)
        #expect(v.evidence.last?.text == "-A ufw-before-input -p tcp --dport 22 -j DROP")
        #expect(v.fixes.isEmpty)
        #expect(!v.manualFixes.isEmpty)
    }

    // MARK: firewalld

    @Test func firewalldZoneWithoutSshInEtc() throws {
        let system = try scenarioSnapshot("firewall-blocks-ssh", "firewalld-public-without-ssh.fail")
        let v = try #require(system.firewall.verdict(.ssh(port: 22), .ipv4))
        #expect(v.answer == .dropped)
        #expect(v.evidence.prefix(2) == [SourceLine(path: "/etc/firewalld/firewalld.conf", line: 6, text: "DefaultZone=public"),
                                         SourceLine(path: "/etc/firewalld/zones/public.xml", line: 2, text: "<zone>")])
        #expect(v.fixes == [.insert(path: "/etc/firewalld/zones/public.xml", before: 9, lines: ["  <service name=\"ssh\"/>"])])
    }

    @Test func firewalldDefaultZoneOnlyInUsrLibIsCopiedToEtc() throws {
        let system = try scenarioSnapshot("firewall-blocks-ssh", "firewalld-default-zone-drop.fail")
        let v = try #require(system.firewall.verdict(.ssh(port: 22), .ipv4))
        #expect(v.answer == .dropped)
        #expect(v.evidence.contains { $0.location.path == "/usr/lib/firewalld/zones/drop.xml" && $0.text == "<zone target=\"DROP\">" })
        guard case .createZone(let path, _, let lines, _)? = v.fixes.first else { Issue.record("expected a new zone file: \(v.fixes)"); return }
        #expect(path == "/etc/firewalld/zones/drop.xml")
        #expect(lines.contains("  <service name=\"ssh\"/>"))
        #expect(lines.first == "<?xml version=\"1.0\" encoding=\"utf-8\"?>" && lines.last == "</zone>")
        // Ping: the DROP target drops ICMP; that is for a person to change.
        let ping = try #require(system.firewall.verdict(.ping, .ipv4))
        #expect(ping.answer == .dropped && ping.fixes.isEmpty)
    }

    @Test func firewalldCustomPortNeedsAPortEntry() throws {
        let src = Repo.rules.appendingPathComponent("firewall-blocks-ssh/tests/firewalld-stock-public.pass")
        let work = try makeTempDir("firewalld-port")
        defer { try? FileManager.default.removeItem(at: work) }
        let root = work.appendingPathComponent("root")
        try copyTree(src, to: root)
        try "Port 2200\n".write(to: root.appendingPathComponent("etc/ssh/sshd_config"), atomically: false, encoding: .utf8)
        let system = SystemSnapshot.load(root: try TargetRoot(directory: root.path))
        let v = try #require(system.firewall.verdict(.ssh(port: 2200), .ipv4))
        #expect(v.answer == .dropped, "the ssh service opens 22, not 2200")
        guard case .createZone(_, _, let lines, _)? = v.fixes.first else { Issue.record("\(v.fixes)"); return }
        #expect(lines.contains("  <port port=\"2200\" protocol=\"tcp\"/>"))
    }

    /// A root with firewalld's stock zones and this /etc/firewalld/zones/public.xml.
    private func firewalldWithPublicZone(_ xml: String) throws -> (SystemSnapshot, URL) {
        let src = Repo.rules.appendingPathComponent("firewall-blocks-ssh/tests/firewalld-stock-public.pass")
        let work = try makeTempDir("firewalld-zone")
        let root = work.appendingPathComponent("root")
        try copyTree(src, to: root)
        try write(xml, to: root.appendingPathComponent("etc/firewalld/zones/public.xml"))
        return (SystemSnapshot.load(root: try TargetRoot(directory: root.path)), work)
    }

    /// firewalld.richlanguage(5): a rich rule with a priority above 0 runs
    /// after the zone's allow list, below 0 before it.
    @Test func richRulePriorityOrdersAroundTheAllowList() throws {
        let (after, w1) = try firewalldWithPublicZone("""
            <?xml version="1.0" encoding="utf-8"?>
            <zone>
              <service name="ssh"/>
              <rule priority="32767"><reject/></rule>
            </zone>
            """)
        defer { try? FileManager.default.removeItem(at: w1) }
        #expect(after.firewall.verdict(.ssh(port: 22), .ipv4)?.answer == .accepted, "the catch-all reject runs after the ssh service")
        #expect(after.firewall.verdict(.ping, .ipv4)?.answer == .dropped, "nothing allows ping before the catch-all reject")
        let (before, w2) = try firewalldWithPublicZone("""
            <?xml version="1.0" encoding="utf-8"?>
            <zone>
              <service name="ssh"/>
              <rule priority="-1"><service name="ssh"/><drop/></rule>
            </zone>
            """)
        defer { try? FileManager.default.removeItem(at: w2) }
        #expect(before.firewall.verdict(.ssh(port: 22), .ipv4)?.answer == .dropped)
    }

    /// `<protocol value='icmp'/>` (single quotes are XML too) lets IPv4 ping in.
    @Test func icmpProtocolAcceptsPing() throws {
        let (system, work) = try firewalldWithPublicZone("<?xml version='1.0' encoding='utf-8'?>\n<zone target='DROP'>\n  <service name='ssh'/>\n  <protocol value='icmp'/>\n</zone>\n")
        defer { try? FileManager.default.removeItem(at: work) }
        #expect(system.firewall.verdict(.ping, .ipv4)?.answer == .accepted)
        #expect(system.firewall.verdict(.ssh(port: 22), .ipv4)?.answer == .accepted)
    }

    /// firewalld 1.3 (fw.py start → _start_failsafe): a zone file in /etc it
    /// cannot read makes it run its stock configuration, default zone public,
    /// so SSH stays open although DefaultZone=drop.
    @Test func brokenZoneFileFallsBackToTheStockConfiguration() throws {
        let system = try scenarioSnapshot("firewall-rules-unparseable", "firewalld-broken-zone-falls-back.fail")
        #expect(system.firewall.verdict(.ssh(port: 22), .ipv4)?.answer == .accepted)
        #expect(system.firewall.failures.contains { $0.failure.path == "/etc/firewalld/zones/drop.xml" })
        let result = AuditResult.run(system)
        #expect(!result.findings.contains { $0.rule == "firewall-blocks-ssh" })
    }

    // MARK: nftables

    @Test func nftablesPolicyDropWithoutIifLo() throws {
        let system = try scenarioSnapshot("firewall-blocks-loopback", "nftables-no-iif-lo.fail")
        let v = try #require(system.firewall.verdict(.loopback, .ipv4))
        #expect(v.answer == .dropped)
        #expect(v.evidence == [SourceLine(path: "/etc/nftables.conf", line: 7, text: "\t\ttype filter hook input priority filter; policy drop;")])
        #expect(v.fixes == [.insert(path: "/etc/nftables.conf", before: 13, lines: ["\t\tiif lo accept"])])
        #expect(system.firewall.verdict(.ssh(port: 22), .ipv6)?.answer == .accepted)
        #expect(system.firewall.verdict(.ping, .ipv6)?.answer == .accepted)
    }

    @Test func nftablesVariablesIncludesAndVerdictMaps() throws {
        let root = try TempRoot([
            "/lib/systemd/systemd": "systemd\n",
            "/lib/systemd/system/nftables.service": "[Service]\nExecStart=/usr/sbin/nft -f /etc/nftables.conf\n[Install]\nWantedBy=sysinit.target\n",
            "/etc/ssh/sshd_config": "Port 2222\n",
            "/etc/nftables.conf": """
            #!/usr/sbin/nft -f
            flush ruleset
            define SSH_PORT = 2222
            include "/etc/nftables.d/*.nft"
            """,
            "/etc/nftables.d/10-filter.nft": """
            table inet filter {
                set blocked { type ipv4_addr; elements = { 198.51.100.7 } }
                chain input {
                    type filter hook input priority 0; policy drop;
                    ct state vmap { established : accept, related : accept, invalid : drop }
                    iifname "lo" accept
                    ip saddr @blocked drop
                    tcp dport $SSH_PORT counter accept comment "ssh"
                    jump icmp_in
                }
                chain icmp_in {
                    icmp type echo-request limit rate 5/second accept
                }
            }
            """,
        ], links: ["/sbin/init": "../lib/systemd/systemd",
                   "/etc/systemd/system/sysinit.target.wants/nftables.service": "/lib/systemd/system/nftables.service"])
        defer { root.remove() }
        let system = try root.snapshot()
        #expect(system.firewall.active.map(\.name) == ["nftables.service"])
        #expect(system.firewall.verdict(.loopback, .ipv4)?.answer == .accepted)
        #expect(system.firewall.verdict(.established, .ipv4)?.answer == .accepted)
        // `ip saddr @blocked drop` depends on the client: SSH is unknown, never dropped or accepted by guess.
        let ssh = try #require(system.firewall.verdict(.ssh(port: 2222), .ipv4))
        #expect(ssh.answer == .unknown)
        #expect(ssh.evidence.contains { $0.text.contains("ip saddr @blocked drop") })
        // IPv6 packets never match `ip saddr`, so for them the ssh rule decides.
        #expect(system.firewall.verdict(.ssh(port: 2222), .ipv6)?.answer == .accepted)
        // A rate limit decides whether an IPv4 ping is accepted: unknown. `icmp type` never matches IPv6.
        #expect(system.firewall.verdict(.ping, .ipv4)?.answer == .unknown)
        #expect(system.firewall.verdict(.ping, .ipv6)?.answer == .dropped)
        // This root has no network configuration at all; the firewall rules are what is under test.
        #expect(AuditResult.run(system).findings.filter { $0.rule.contains("firewall") }.allSatisfy { $0.severity < .critical })
    }

    @Test func nftParserErrors() {
        var defines: [String: [NftToken]] = [:]
        let missing = NftParser.parse(Array("table inet f {\n chain input {\n  type filter hook input priority 0;\n".utf8), path: "/etc/nftables.conf", defines: &defines)
        #expect(!missing.errors.isEmpty)
        let variable = NftParser.parse(Array("table inet f {\n chain input {\n  tcp dport $NOPE accept\n }\n}\n".utf8), path: "/x", defines: &defines)
        #expect(variable.errors.first?.location.line == 3)
        let typo = NftParser.parse(Array("tabel inet f {\n}\n".utf8), path: "/x", defines: &defines)
        #expect(typo.errors.first?.location.line == 1)
        let fine = NftParser.parse(Array("#!/usr/sbin/nft -f\nflush ruleset\ntable ip t {\n chain c { type filter hook input priority 0; policy accept; }\n}\n".utf8), path: "/x", defines: &defines)
        #expect(fine.errors.isEmpty)
    }

    // MARK: Unknown is never a guess

    @Test func matchesThatDependOnTheClientAreUnknownAndRaiseNothing() throws {
        let root = try netfilterPersistentRoot(v4: """
        *filter
        :INPUT DROP [0:0]
        -A INPUT -i lo -j ACCEPT
        -A INPUT -p tcp --dport 22 -m recent --update --seconds 60 --hitcount 4 --name SSH -j DROP
        -A INPUT -p tcp --dport 22 -j ACCEPT
        -A INPUT -i eth0 -p icmp --icmp-type echo-request -j ACCEPT
        COMMIT

        """)
        defer { root.remove() }
        let system = try root.snapshot()
        let ssh = try #require(system.firewall.verdict(.ssh(port: 22), .ipv4))
        #expect(ssh.answer == .unknown)
        #expect(ssh.notes.contains { $0.contains("recent") })
        #expect(ssh.evidence.first?.location.line == 4)
        #expect(system.firewall.verdict(.ping, .ipv4)?.answer == .unknown)
        let findings = AuditResult.run(system).findings
        #expect(!findings.contains { $0.rule == "firewall-blocks-ssh" || $0.rule == "firewall-blocks-ping" })
    }

    /// Spoofed-loopback rules (`! -i lo -s 127.0.0.0/8 -j DROP`) never match a remote client.
    @Test func antiSpoofingRulesDoNotMakeSshUnknown() throws {
        let root = try netfilterPersistentRoot(v4: """
        *filter
        :INPUT DROP [0:0]
        -A INPUT -i lo -j ACCEPT
        -A INPUT ! -i lo -s 127.0.0.0/8 -j DROP
        -A INPUT ! -i lo -d 127.0.0.0/8 -j REJECT --reject-with icmp-port-unreachable
        -A INPUT -m addrtype --dst-type BROADCAST -j DROP
        -A INPUT -p tcp -m tcp ! --syn -m state --state NEW -j DROP
        -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
        COMMIT

        """)
        defer { root.remove() }
        let system = try root.snapshot()
        #expect(system.firewall.verdict(.ssh(port: 22), .ipv4)?.answer == .accepted)
        #expect(system.firewall.verdict(.ping, .ipv4)?.answer == .dropped)
    }

    /// firewalld (nftables backend) keeps its own nft table beside ufw's
    /// iptables rules: a packet passes both, so firewalld's drop locks SSH out
    /// whichever one loads last. The conflict is still reported.
    @Test func aDropInSeparateTablesIsALockoutWhicheverOrder() throws {
        let src = Repo.rules.appendingPathComponent("conflicting-firewalls/tests/ufw-and-firewalld.fail")
        let work = try makeTempDir("disagree")
        defer { try? FileManager.default.removeItem(at: work) }
        let root = work.appendingPathComponent("root")
        try copyTree(src, to: root)
        // firewalld's public zone without ssh; ufw still allows it.
        // git keeps no empty directories: /etc/firewalld/zones may not be in the checkout.
        try FileManager.default.createDirectory(at: root.appendingPathComponent("etc/firewalld/zones"), withIntermediateDirectories: true)
        try "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<zone>\n  <short>Public</short>\n</zone>\n"
            .write(to: root.appendingPathComponent("etc/firewalld/zones/public.xml"), atomically: false, encoding: .utf8)
        let system = SystemSnapshot.load(root: try TargetRoot(directory: root.path))
        let v = try #require(system.firewall.verdict(.ssh(port: 22), .ipv4))
        #expect(v.answer == .dropped)
        #expect(v.notes.contains { $0.contains("disagree") && $0.contains("whichever order") })
        let rules = AuditResult.run(system).findings.map(\.rule)
        #expect(rules.contains("conflicting-firewalls") && rules.contains("firewall-blocks-ssh"))
    }

    // MARK: Restore failures

    @Test func restoreFailuresNameTheLineAsIptablesRestoreDoes() throws {
        let system = try scenarioSnapshot("firewall-rules-unparseable", "seed-003-if-up-script.fail")
        let f = try #require(AuditResult.run(system).findings.first { $0.rule == "firewall-rules-unparseable" })
        #expect(f.severity == .high)
        #expect(f.evidence.first?.path == "/etc/iptables.rules")
        #expect(f.evidence.first?.line == 8)
        #expect(f.evidence.first?.text == "-A INPUT -p tcp --dport 80 -j ACCPET")
        #expect(f.evidence.first?.note?.contains("Couldn't load target `ACCPET'") == true)
        #expect(f.evidence.contains { $0.path == "/etc/network/if-up.d/iptables" && $0.line == 3 })
        // The provider's fix is there, as a manual step that says it lowers security.
        #expect(f.actions.contains { a in
            if case .manual(let d, let c) = a.action { return d.hasPrefix("LOWERS SECURITY") && c.first?.text.hasPrefix("mv \"$ROOT\"/etc/network/if-up.d/iptables ") == true }
            return false
        })
        let pre = try scenarioSnapshot("firewall-rules-unparseable", "pre-up-unknown-table.fail")
        let g = try #require(AuditResult.run(pre).findings.first { $0.rule == "firewall-rules-unparseable" })
        #expect(g.severity == .critical)
        #expect(g.evidence.first?.note == "iptables-restore: unable to initialize table 'filters'")
    }

    @Test func missingCommitIsAppended() throws {
        let system = try scenarioSnapshot("firewall-rules-unparseable", "missing-commit.fail")
        let failure = try #require(system.firewall.failures.first?.failure)
        #expect(failure.message == "iptables-restore: COMMIT expected at line 9")
        #expect(failure.fixes.first == .appendCommit(path: "/etc/iptables/rules.v4"))
        #expect(failure.fixes.dropFirst().allSatisfy { !$0.isAutomatic })
    }

    // MARK: Scripts

    @Test func restoreInvocationsInShellLines() {
        func loads(_ s: String) -> [String] {
            FirewallDetection.invocations(SourceLine(path: "/s", line: 1, text: s), stopsInterface: false).loads.map { "\($0.family.rawValue) \($0.noflush ? "-n " : "")\($0.path)" }
        }
        #expect(loads("/sbin/iptables-restore < /etc/iptables.up.rules") == ["ipv4 /etc/iptables.up.rules"])
        #expect(loads("iptables-restore </etc/iptables/rules.v4; ip6tables-restore /etc/iptables/rules.v6") == ["ipv4 /etc/iptables/rules.v4", "ipv6 /etc/iptables/rules.v6"])
        #expect(loads("cat /etc/fw.rules | /usr/sbin/iptables-legacy-restore -n") == ["ipv4 -n /etc/fw.rules"])
        #expect(loads("[ -f /etc/fw ] && iptables-restore -c < \"/etc/fw\" || true") == ["ipv4 /etc/fw"])
        #expect(loads("iptables-restore --test < /etc/fw").isEmpty)
        #expect(loads("# iptables-restore < /etc/fw").isEmpty)
        let unknown = FirewallDetection.invocations(SourceLine(path: "/s", line: 1, text: "iptables-restore < $RULES"), stopsInterface: false)
        #expect(unknown.loads.isEmpty && unknown.unknown.count == 1)
    }

    @Test func scriptsOnlyCountWhenIfupdownRunsThemAndTheyAreExecutable() throws {
        let files: [String: String] = [
            "/lib/systemd/systemd": "systemd\n",
            "/lib/systemd/system/networking.service": "[Service]\nExecStart=/sbin/ifup -a\n[Install]\nWantedBy=multi-user.target\n",
            "/etc/network/interfaces": "auto lo\niface lo inet loopback\nauto eth0\niface eth0 inet dhcp\n    pre-up iptables-restore < /etc/iptables.rules\n",
            "/etc/network/if-up.d/firewall": "#!/bin/sh\niptables-restore < /etc/iptables.rules\n",
            "/etc/network/if-up.d/not.run": "#!/bin/sh\niptables-restore < /etc/other.rules\n",
            "/etc/iptables.rules": "*filter\n:INPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n",
            "/etc/ssh/sshd_config": "Port 22\n",
            "/var/lib/dpkg/status": "Package: ifupdown\nStatus: install ok installed\nVersion: 0.8.41\n\n",
        ]
        let links = ["/sbin/init": "../lib/systemd/systemd",
                     "/etc/systemd/system/multi-user.target.wants/networking.service": "/lib/systemd/system/networking.service"]
        let root = try TempRoot(files, links: links, executable: ["/etc/network/if-up.d/not.run"])
        defer { root.remove() }
        let system = try root.snapshot()
        // firewall is not executable, not.run is executable but not a run-parts name; the pre-up line counts.
        #expect(system.firewall.active.map(\.name) == ["pre-up of eth0 in /etc/network/interfaces"])
        let v = try #require(system.firewall.verdict(.ssh(port: 22), .ipv4))
        #expect(v.answer == .dropped)
        #expect(v.evidence == [SourceLine(path: "/etc/iptables.rules", line: 2, text: ":INPUT DROP [0:0]")])
        // Without networking.service nothing runs the hook at boot.
        try FileManager.default.removeItem(at: root.url.appendingPathComponent("etc/systemd/system/multi-user.target.wants/networking.service"))
        #expect(try root.snapshot().firewall.active.isEmpty)
    }

    // MARK: The evaluator

    @Test func evaluatorFollowsJumpsGotosAndReturns() {
        func line(_ n: Int, _ t: String) -> SourceLine { SourceLine(path: "/r", line: n, text: t) }
        let ssh: [FilterMatch] = [.protocolIs(["tcp"], negated: false), .destinationPorts([22...22], negated: false)]
        let stage = FilterStage(label: "filter INPUT", entry: "INPUT", chains: [
            "INPUT": FilterChain(name: "INPUT", rules: [
                FilterRule(matches: [], action: .jump("a"), source: line(3, "-A INPUT -j a")),
                FilterRule(matches: [], action: .goto("b"), source: line(4, "-A INPUT -g b")),
                FilterRule(matches: [], action: .accept, source: line(5, "-A INPUT -j ACCEPT")),
            ], policyAccepts: false, policySource: line(1, ":INPUT DROP")),
            "a": FilterChain(name: "a", rules: [
                FilterRule(matches: ssh, action: .returnFromChain, source: line(6, "-A a -p tcp --dport 22 -j RETURN")),
                FilterRule(matches: [.protocolIs(["tcp"], negated: false)], action: .drop, source: line(7, "-A a -p tcp -j DROP")),
            ]),
            "b": FilterChain(name: "b", rules: [
                FilterRule(matches: [.unknown("-m recent")], action: .accept, source: line(8, "-A b -m recent -j ACCEPT")),
            ]),
        ])
        let filter = PacketFilter(stages: [stage])
        // tcp/22 returns from a, goes to b; falling off b returns from INPUT to its policy, or b accepts: unknown.
        let ssh22 = filter.evaluate(ProbePacket(family: .ipv4, loopback: false, transport: .tcp(destinationPort: 22, syn: true), state: "NEW"))
        #expect(ssh22.answer == .unknown)
        #expect(ssh22.evidence.map(\.location.line) == [8])
        // tcp/80 is dropped inside a, after the jump.
        let web = filter.evaluate(ProbePacket(family: .ipv4, loopback: false, transport: .tcp(destinationPort: 80, syn: true), state: "NEW"))
        #expect(web.answer == .dropped)
        #expect(web.evidence.map(\.location.line) == [3, 7])
        #expect(web.decidingEntryRule?.location.line == 3)
        // ICMP: a returns, b's unknown rule accepts or falls through to the DROP policy.
        let ping = filter.evaluate(ProbePacket(family: .ipv4, loopback: false, transport: .echoRequest, state: "NEW"))
        #expect(ping.answer == .unknown)
    }

    @Test func unknownBranchesThatAgreeDecide() {
        let l = SourceLine(path: "/r", line: 2, text: "-A INPUT -m limit -j LOG")
        let d = SourceLine(path: "/r", line: 3, text: "-A INPUT -j DROP")
        let stage = FilterStage(label: "filter INPUT", entry: "INPUT", chains: [
            "INPUT": FilterChain(name: "INPUT", rules: [
                FilterRule(matches: [.unknown("-m limit")], action: .drop, source: l),
                FilterRule(matches: [], action: .drop, source: d),
            ], policyAccepts: true),
        ])
        let v = PacketFilter(stages: [stage]).evaluate(ProbePacket(family: .ipv4, loopback: true, transport: .tcp(destinationPort: 10024, syn: true), state: "NEW"))
        #expect(v.answer == .dropped)
    }

    @Test func loopingChainsAreUnknownNotACrash() {
        let a = SourceLine(path: "/r", line: 1, text: "-A a -j b"), b = SourceLine(path: "/r", line: 2, text: "-A b -j a")
        let stage = FilterStage(label: "filter INPUT", entry: "INPUT", chains: [
            "INPUT": FilterChain(name: "INPUT", rules: [FilterRule(matches: [], action: .jump("a"), source: a)], policyAccepts: false),
            "a": FilterChain(name: "a", rules: [FilterRule(matches: [], action: .jump("b"), source: a)]),
            "b": FilterChain(name: "b", rules: [FilterRule(matches: [], action: .jump("a"), source: b)]),
        ])
        let v = PacketFilter(stages: [stage]).evaluate(ProbePacket(family: .ipv4, loopback: false, transport: .echoRequest, state: "NEW"))
        #expect(v.answer == .unknown)
    }

    // MARK: Hostile input

    @Test func hostileRuleFilesGiveFindingsNotCrashes() throws {
        var junk: [UInt8] = Array("*filter\n:INPUT DROP [0:0]\n".utf8)
        junk += [0xFF, 0xFE, 0x00, 0x0A]
        junk += Array(repeating: UInt8(ascii: "\""), count: 20_000) + [0x0A]
        junk += Array("-A INPUT -j \u{1F600}\nCOMMIT\n".utf8)
        let root = try netfilterPersistentRoot(v4: "")
        defer { root.remove() }
        try Data(junk).write(to: root.url.appendingPathComponent("etc/iptables/rules.v4"))
        let system = try root.snapshot()
        let failure = try #require(system.firewall.failures.first?.failure)
        #expect(failure.line?.location.line == 3)
        #expect(AuditResult.run(system).findings.contains { $0.rule == "firewall-rules-unparseable" })
        // A deep chain of jumps is evaluated without recursion trouble.
        var deep = "*filter\n:INPUT DROP [0:0]\n"
        for i in 0..<300 { deep += ":c\(i) - [0:0]\n" }
        deep += "-A INPUT -j c0\n"
        for i in 0..<299 { deep += "-A c\(i) -j c\(i + 1)\n" }
        deep += "-A c299 -p tcp --dport 22 -j ACCEPT\nCOMMIT\n"
        try deep.write(to: root.url.appendingPathComponent("etc/iptables/rules.v4"), atomically: false, encoding: .utf8)
        #expect(try root.snapshot().firewall.verdict(.ssh(port: 22), .ipv4)?.answer == .unknown)
    }

    // MARK: XML

    @Test func zoneFilesThatAreNotXMLAreFailures() {
        let (root, diags) = MiniXML.parse(Array("<?xml version=\"1.0\"?>\n<zone>\n  <service name=\"ssh\">\n</zone>\n".utf8), path: "/z.xml")
        #expect(root == nil)
        #expect(diags.first?.location.line == 4)
        let (zone, _) = FirewalldParser.zone(Array("<zone target='DROP'><!-- c -->\n<port port=\"2200-2210\" protocol=\"tcp\"/><icmp-block-inversion/>\n</zone>".utf8), path: "/z.xml", name: "z")
        #expect(zone?.target == "DROP")
        #expect(zone?.ports.first?.ports == 2200...2210)
        #expect(zone?.icmpBlockInversion?.location.line == 2)
    }
}

/// The quick check of an inserted iptables rule (new rule placed into the
/// loaded chains) must give the same answers as loading the edited file again.
@Suite struct FirewallFixCheckTests {
    @Test(arguments: [("firewall-blocks-ssh", "seed-002-custom-ssh-port.fail"), ("firewall-blocks-ssh", "rhel-iptables-custom-port.fail"),
                      ("firewall-blocks-loopback", "seed-000-loopback-dropped.fail"), ("firewall-blocks-ping", "no-icmp-rule.fail")])
    func quickCheckAgreesWithAFullReload(_ rule: String, _ name: String) throws {
        let url = Repo.rules.appendingPathComponent(rule).appendingPathComponent("tests").appendingPathComponent(name)
        let root = try TargetRoot(directory: url.path)
        let system = SystemSnapshot.load(root: root)
        let files = FileSource(root: root)
        var checked = 0
        for (vi, v) in system.firewall.verdicts.enumerated() where v.answer == .dropped {
            for mv in v.perMechanism {
                let cs = FirewallFixes.candidates(system.firewall, mechanism: mv.mechanism, verdict: vi, files: files)
                #expect(!cs.isEmpty)
                let m = system.firewall.mechanisms[mv.mechanism]
                let quick = try #require(FirewallFixes.insertedIntoFilters(m, cs))
                var again = files
                again.overlay = FirewallFixes.apply(cs, files: files)
                let context = FirewallContext(units: system.units, initSystem: system.initSystem, packages: system.packages,
                                              ifupdown: system.ifupdown, ifupdownRunsAtBoot: true, listeners: system.listeners)
                let full = MechanismBuilder.build(m.recipe, files: again, context: context)
                #expect(full.failures.isEmpty)
                for q in [FirewallQuestion.ssh(port: 22), .ssh(port: 2200), .ssh(port: 2222), .ping, .established] {
                    for family in [AddressFamily.ipv4, .ipv6] {
                        #expect(quick.evaluate(q, family, port: nil).answer == full.evaluate(q, family, port: nil).answer, "\(name): \(q) \(family)")
                    }
                }
                for port in [10024, 1024, 5432] {
                    #expect(quick.evaluate(.loopback, .ipv4, port: port).answer == full.evaluate(.loopback, .ipv4, port: port).answer)
                }
                #expect(quick.evaluate(v.question, v.family, port: v.port).answer == .accepted)
                checked += 1
            }
        }
        #expect(checked >= 1)
    }

    /// A line that would land outside every table section is not a quick fix.
    @Test func insertionOutsideASectionIsNotQuick() throws {
        let url = Repo.rules.appendingPathComponent("firewall-blocks-ssh/tests/seed-002-custom-ssh-port.fail")
        let system = SystemSnapshot.load(root: try TargetRoot(directory: url.path))
        let (vi, v) = try #require(system.firewall.verdicts.enumerated().first { $0.element.answer == .dropped })
        let m = v.perMechanism[0].mechanism
        let outside = FirewallFixes.Candidate(mechanism: m, verdict: vi, placement: .insert(path: "/etc/iptables/iptables.rules", before: 1),
                                              block: ["-A INPUT -p tcp -m tcp --dport 2222 -j ACCEPT"], order: 0)
        #expect(FirewallFixes.insertedIntoFilters(system.firewall.mechanisms[m], [outside]) == nil)
        let garbage = FirewallFixes.Candidate(mechanism: m, verdict: vi, placement: .insert(path: "/etc/iptables/iptables.rules", before: 12),
                                              block: ["-A INPUT -p tcp --dport 2222 -j ACCPET"], order: 0)
        #expect(FirewallFixes.insertedIntoFilters(system.firewall.mechanisms[m], [garbage]) == nil)
    }
}
