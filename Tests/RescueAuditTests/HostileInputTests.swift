@testable import Discovery
import Foundation
@testable import Parsers
import Plan
import Report
@testable import Rules
@testable import SystemModel
import TargetAccess
import Testing

/// Hostile target content (issue 20): expansion that would grow without
/// bound, disk numbers near 2^64, terminal and shell control characters,
/// and results that must not be claimed from files that were not read.
/// Each test states what has to hold; none measures time.
@Suite struct HostileInputTests {
    /// A temporary root with `files` (target path -> text).
    func root(_ files: [String: String]) throws -> URL {
        let dir = try makeTempDir("rescue-audit-hostile")
        for (path, text) in files { try write(text, to: dir.appendingPathComponent(String(path.dropFirst()))) }
        return dir
    }

    // MARK: Includes and macros

    @Test func nftSelfIncludeIsOneCycleError() throws {
        let dir = try root(["/etc/nftables.conf": "include \"/etc/nftables.conf\"\ninclude \"/etc/nftables.conf\"\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let set = NftRuleset.load("/etc/nftables.conf", files: FileSource(root: try TargetRoot(directory: dir.path)))
        #expect(set.files == ["/etc/nftables.conf"])
        #expect(set.errors.count == 2)
        #expect(set.errors.allSatisfy { $0.message.contains("includes itself") && $0.message.contains("loads nothing") })
    }

    @Test func nftIncludeFanOutStopsAtTheBudget() throws {
        // f0 includes f1 twice, f1 includes f2 twice, ...: 2^15 reads without a budget.
        var files: [String: String] = [:]
        for i in 0..<15 { files["/etc/nft/f\(i).nft"] = "include \"/etc/nft/f\(i + 1).nft\"\ninclude \"/etc/nft/f\(i + 1).nft\"\n" }
        files["/etc/nft/f15.nft"] = "table inet t {\n}\n"
        files["/etc/nftables.conf"] = "include \"/etc/nft/f0.nft\"\n"
        let dir = try root(files)
        defer { try? FileManager.default.removeItem(at: dir) }
        let set = NftRuleset.load("/etc/nftables.conf", files: FileSource(root: try TargetRoot(directory: dir.path)))
        #expect(set.files.count <= ExpansionBudget.defaultFiles)
        #expect(set.errors.contains { $0.message.contains("more than \(ExpansionBudget.defaultFiles) files") })
    }

    @Test func nftNestedDefinesAreNotExpandedPastTheBudget() throws {
        var text = "define a0 = 22\n"
        for i in 1...39 { text += "define a\(i) = { $a\(i - 1), $a\(i - 1) }\n" }
        text += "table inet t {\n chain input {\n  type filter hook input priority 0; policy drop;\n  tcp dport $a39 accept\n }\n}\n"
        var defines: [String: [NftToken]] = [:]
        let file = NftParser.parse(Array(text.utf8), path: "/etc/nftables.conf", defines: &defines)
        #expect(file.errors.contains { $0.message.contains("expands past") })
        #expect(defines.values.map(\.count).max() ?? 0 <= NftParser.maxExpansion)
    }

    @Test func sshdSelfIncludeIsReadOnce() throws {
        // sshd_config handling is the sshd model's (SSHDConfig.swift): a cycle is not followed.
        let conf = "Port 2222\nInclude /etc/ssh/sshd_config\nInclude /etc/ssh/sshd_config\nInclude /etc/ssh/sshd_config\n"
        let dir = try root(["/etc/ssh/sshd_config": conf])
        defer { try? FileManager.default.removeItem(at: dir) }
        let l = ServiceListeners.load(try TargetRoot(directory: dir.path))
        #expect(l.files.filter { $0 == "/etc/ssh/sshd_config" }.count == 1)
    }

    @Test func nginxAndApacheSelfIncludesAreCycles() throws {
        let nginx = "include /etc/nginx/nginx.conf;\ninclude /etc/nginx/nginx.conf;\ninclude /etc/nginx/nginx.conf;\ninclude /etc/nginx/nginx.conf;\nhttp { server { listen 80; } }\n"
        let apache = "Listen 80\nInclude /etc/apache2/apache2.conf\nInclude /etc/apache2/apache2.conf\nInclude /etc/apache2/apache2.conf\nInclude /etc/apache2/apache2.conf\n"
        let dir = try root(["/etc/nginx/nginx.conf": nginx, "/etc/apache2/apache2.conf": apache])
        defer { try? FileManager.default.removeItem(at: dir) }
        let l = ServiceListeners.load(try TargetRoot(directory: dir.path))
        #expect(l.files.count == 2)
        #expect(l.diagnostics.filter { $0.message.contains("nginx refuses") }.count == 4)
        #expect(l.diagnostics.filter { $0.message.contains("apache2 refuses") }.count == 4)
    }

    @Test func includeFanOutWithoutCyclesStopsAtTheBudget() throws {
        var files: [String: String] = ["/etc/nginx/nginx.conf": "include /etc/nginx/d0.conf;\n"]
        for i in 0..<15 { files["/etc/nginx/d\(i).conf"] = "include /etc/nginx/d\(i + 1).conf;\ninclude /etc/nginx/d\(i + 1).conf;\n" }
        files["/etc/nginx/d15.conf"] = "http { server { listen 80; } }\n"
        let dir = try root(files)
        defer { try? FileManager.default.removeItem(at: dir) }
        let l = ServiceListeners.load(try TargetRoot(directory: dir.path))
        #expect(l.files.count <= ExpansionBudget.defaultFiles + 1)
        #expect(l.diagnostics.contains { $0.message.contains("nginx: the includes add up to more than") })
    }

    @Test func postfixMacroBombIsRefused() throws {
        let a = String(repeating: "$a", count: 12) + " 127.0.0.1"
        #expect(PostfixParser.expand(a, ["a": a]) == nil)
        var chain: [String: String] = ["m0": ""]
        for i in 1...60 { chain["m\(i)"] = String(repeating: "$m\(i - 1)", count: 12) }
        #expect(PostfixParser.expand("$m60", chain) == nil, "macros that expand to nothing still end")
        #expect(PostfixParser.expand("${a}-$b", ["a": "x", "b": "$a"]) == "x-x")

        let dir = try root(["/etc/postfix/main.cf": "a = \(a)\ninet_interfaces = $a\n", "/etc/postfix/master.cf": "smtp inet n - y - - smtpd\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let l = ServiceListeners.load(try TargetRoot(directory: dir.path))
        #expect(l.diagnostics.contains { $0.message.contains("unreasonable macro call nesting") })
        #expect(l.listeners(of: "postfix").isEmpty)
    }

    // MARK: Numbers from the disk

    func journalHeader(nEntries: UInt64, entryArray: UInt64) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 4096)
        h.replaceSubrange(0..<8, with: Array("LPKSHHRH".utf8))
        func put(_ v: UInt64, at o: Int) { for i in 0..<8 { h[o + i] = UInt8((v >> (8 * UInt64(i))) & 0xFF) } }
        put(272, at: 88)           // header_size
        put(4096 - 272, at: 96)    // arena_size
        put(nEntries, at: 152)
        put(entryArray, at: 176)
        return h
    }

    @Test func journalObjectSizeNear2To64DoesNotTrap() throws {
        var h = journalHeader(nEntries: 1, entryArray: 272)
        h[272] = 6  // entry array
        for i in 0..<8 { h[280 + i] = 0xFF }
        h[280] = 0xF0
        let j = try JournalFile(size: Int64(h.count)) { o, n in Array(h[Int(o)..<min(h.count, Int(o) + n)]) }
        #expect(j.entryOffsets().isEmpty)
        #expect(j.entry(at: 272) == nil)
        #expect(j.entryStamp(at: 272) == nil)
        #expect(j.data(at: 272, wanted: nil) == nil)
    }

    @Test func journalEntryCountAbove2To63DoesNotTrap() throws {
        var h = journalHeader(nEntries: UInt64(1) << 63 | 5, entryArray: 272)
        h[272] = 6
        h[280] = 32          // object size: header 16 + next 8 + one offset
        h[296] = 0x00; h[297] = 0x02  // entry offset 512
        let j = try JournalFile(size: Int64(h.count)) { o, n in Array(h[Int(o)..<min(h.count, Int(o) + n)]) }
        #expect(j.entryOffsets() == [512])
    }

    @Test func xfsLogStartNear2To64IsUnreadableNotATrap() {
        var sb = [UInt8](repeating: 0, count: 512)
        sb.replaceSubrange(0..<4, with: Array("XFSB".utf8))
        sb[6] = 0x10                         // blocksize 4096
        for i in 48..<56 { sb[i] = 0xFF }    // sb_logstart
        sb[85] = 0x01                        // agblocks 65536
        sb[99] = 0x10                        // logblocks
        sb[120] = 12                         // blocklog
        sb[124] = 16                         // agblklog
        let xfs = XFSSuperblock.decode(sb)
        #expect(xfs != nil)
        #expect(xfs?.logOffset == nil)
    }

    // MARK: Terminal and shell

    @Test func printableEscapesControlAndBidiCharacters() {
        let hostile = "a\u{1B}]0;owned\u{07}b\u{202E}gnp.exe\u{2066}c\u{9B}d"
        let out = printable(hostile)
        #expect(!out.unicodeScalars.contains { Text.isControl($0) || Text.isBidiOrSeparator($0) })
        #expect(out.contains("\\x1b") && out.contains("\\u{202E}") && out.contains("\\u{2066}"))
    }

    @Test func shellWordKeepsEveryByteAsDataAndNoControlRaw() throws {
        let words = ["x\u{1B}[2J\u{07}y", "it's $(touch /tmp/nope) `id`", "rtl\u{202E}txt.sh", "tab\tand\nnewline", "-n", "\u{9B}31m"]
        for w in words {
            let quoted = shellWord(w)
            #expect(!quoted.unicodeScalars.contains { ($0 != "\n" && $0 != "\t" && Text.isControl($0)) || Text.isBidiOrSeparator($0) }, "\(quoted)")
            let out = try run("/bin/sh", ["-c", "printf '%s' " + quoted])
            #expect(out.stdout == w, "\(quoted) -> \(out.stdout)")
        }
        #expect(shellWord("eth0") == "eth0")
    }

    @Test func typedCommandsQuoteTargetWordsInOnePlace() throws {
        let link = "/etc/systemd/system/multi-user.target.wants/$(touch x).service"
        let c: ShellCommand = "rm -f \(path: link)   # \(comment: "line\u{1B}[31m")"
        #expect(c.text == "rm -f \"$ROOT\"'/etc/systemd/system/multi-user.target.wants/'\"\\$\"'(touch x).service'   # line\\x1b[31m")
        #expect(c.words.contains(.targetPath(link)))
    }

    @Test func addressesWithAZoneAreIPv6InterfaceNamesOnly() {
        #expect(IPAddress("10.9.9.1%$(reboot)") == nil)
        #expect(IPAddress("10.9.9.1%eth0") == nil)
        #expect(IPAddress("fe80::1%$(reboot)';reboot") == nil)
        #expect(IPAddress("fe80::1%") == nil)
        #expect(IPAddress("fe80::1%eth0") != nil)
        #expect(!IPText.isIP("10.9.9.1%$(touch /tmp/x)';reboot"))
    }

    // MARK: Bounded output and memory

    @Test func findingsAreBoundedWhateverTheFilesHold() {
        let huge = String(repeating: "\u{0}", count: 1 << 20)
        let f = Finding(rule: "r", severity: .high, message: "bad word '\(huge)'", atBoot: "b",
                        evidence: (1...200).map { Evidence(path: "/etc/x", line: $0, text: huge, note: huge) })
        let b = f.bounded()
        #expect(b.evidence.count == Finding.maxEvidence + 1)
        #expect(b.evidence.allSatisfy { $0.text.utf8.count < Text.maxLineBytes + 32 && ($0.note?.utf8.count ?? 0) < Text.maxLineBytes + 32 })
        #expect(b.evidence[0].text.hasSuffix("…(1048576 bytes)"))
        #expect(b.message.utf8.count < Text.maxMessageBytes + 32)
    }

    /// 15,000 findings of 2 KB (20 MB of text before the cap): every format
    /// stays under `ReportSelection.maxReportBytes`, opens with the verdict,
    /// shows every critical rule, says per rule what it left out, and the
    /// JSON is valid and says `truncated`.
    @Test func theWholeReportStaysUnderItsCap() throws {
        let src = Repo.rules.appendingPathComponent("loopback-not-configured/tests/debian-12-stock.pass")
        let system = SystemSnapshot.load(root: try TargetRoot(directory: src.path))
        var result = AuditResult.run(system)
        let pad = String(repeating: "p", count: 1500)
        func finding(_ rule: String, _ severity: Severity, _ i: Int) -> Finding {
            Finding(rule: rule, severity: severity, message: "file /etc/hostile/\(i) \(pad)", atBoot: "it fails at boot",
                    evidence: [Evidence(path: "/etc/hostile/\(i)", line: 1, text: String(pad.prefix(300)))]).bounded()
        }
        var many = (0..<3).map { finding("critical-rule-\($0)", .critical, $0) }
        many += (0..<10_000).map { finding("config-file-unreadable", .critical, $0) }
        many += (0..<5_000).map { finding("config-syntax-error", .medium, $0) }
        result.findings = many
        result.plan = .empty
        let context = testContext(src.path)
        let text = TextReport.render(result, system: system, context: context, color: false)
        let markdown = MarkdownReport.render(result, system: system, context: context)
        let json = JSONReport.render(result, system: system, context: context)
        for report in [text, markdown, json] { #expect(report.utf8.count < ReportSelection.maxReportBytes) }
        let verdict = try #require(result.verdict)
        #expect(text.hasPrefix(printable(verdict.line)))
        for r in 0..<3 { #expect(text.contains("[critical-rule-\(r)]") && markdown.contains("critical-rule-\(r)")) }
        let left = 10_000 - ReportSelection.maxFindingsPerRule
        #expect(text.contains(ReportSelection.omissionLine(rule: "config-file-unreadable", count: left)))
        #expect(text.contains("more findings of rule config-syntax-error not shown"))
        #expect(markdown.contains("more findings of rule config-file-unreadable not shown"))
        let doc = try #require(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let truncated = try #require(doc["truncated"] as? [String: Any])
        let shown = try #require(doc["findings"] as? [[String: Any]])
        #expect(truncated["findings"] as? Int == many.count - shown.count)
        #expect((truncated["findingsByRule"] as? [String: Int])?["config-file-unreadable"] == left)
        #expect(shown.prefix(3 + ReportSelection.maxFindingsPerRule).allSatisfy { $0["severity"] as? String == "critical" })
        #expect((doc["verdict"] as? [String: Any])?["line"] as? String == verdict.line)
    }

    @Test func readCacheStaysWithinItsBudget() throws {
        let dir = try makeTempDir("rescue-audit-cache")
        defer { try? FileManager.default.removeItem(at: dir) }
        let big = Data(count: 15 << 20)
        for i in 0..<8 { try big.write(to: dir.appendingPathComponent("f\(i)")) }
        let root = try TargetRoot(directory: dir.path)
        for i in 0..<8 { #expect(root.bytes("/f\(i)")?.count == 15 << 20) }
        #expect(root.cachedByteCount <= TargetRoot.cacheBudget)
        // A dropped file is read again, the same.
        #expect(root.bytes("/f0")?.count == 15 << 20)
    }

    // MARK: Honest results

    /// A copy of a rule scenario to change.
    func copyScenario(_ rule: String, _ name: String) throws -> URL {
        let src = Repo.rules.appendingPathComponent(rule).appendingPathComponent("tests").appendingPathComponent(name)
        let dir = try makeTempDir("rescue-audit-scenario")
        try FileManager.default.removeItem(at: dir)
        try FileManager.default.copyItem(at: src, to: dir)
        return dir
    }

    @Test func unreadableInterfacesIsNoLoopbackClaim() throws {
        let dir = try copyScenario("loopback-not-configured", "seed-000-sysvinit-old-ifupdown.fail")
        defer { try? FileManager.default.removeItem(at: dir) }
        let before = AuditResult.run(SystemSnapshot.load(root: try TargetRoot(directory: dir.path)))
        #expect(before.findings.contains { $0.rule == LoopbackNotConfigured.id })
        let interfaces = dir.appendingPathComponent("etc/network/interfaces")
        try FileManager.default.removeItem(at: interfaces)
        #expect(mkfifo(interfaces.path, 0o644) == 0)
        let result = AuditResult.run(SystemSnapshot.load(root: try TargetRoot(directory: dir.path)))
        #expect(!result.findings.contains { $0.rule == LoopbackNotConfigured.id })
        #expect(result.findings.contains { $0.rule == ConfigFileUnreadable.id && $0.evidence.contains { $0.path == "/etc/network/interfaces" } })
    }

    @Test func editOfASymlinkedConfigFileNamesTheRealFile() throws {
        let dir = try copyScenario("loopback-not-configured", "seed-000-sysvinit-old-ifupdown.fail")
        defer { try? FileManager.default.removeItem(at: dir) }
        let net = dir.appendingPathComponent("etc/network")
        try FileManager.default.moveItem(at: net.appendingPathComponent("interfaces"), to: net.appendingPathComponent("interfaces.real"))
        try FileManager.default.createSymbolicLink(atPath: net.appendingPathComponent("interfaces").path, withDestinationPath: "interfaces.real")
        let result = AuditResult.run(SystemSnapshot.load(root: try TargetRoot(directory: dir.path)))
        let paths = result.plan.actions.compactMap(\.path)
        #expect(paths.contains("/etc/network/interfaces.real"))
        #expect(!paths.contains("/etc/network/interfaces"))
    }

    /// A hand-made jbd2 log (32-bit tags, no checksums): an escaped block,
    /// a block revoked by a later transaction, and a transaction without
    /// its commit block, which is not replayed.
    @Test func jbd2WalkFollowsCommitsRevokesAndEscapes() throws {
        let bs = 1024
        var journal = [[UInt8]](repeating: [UInt8](repeating: 0, count: bs), count: 16)
        func put32(_ block: Int, _ at: Int, _ v: UInt32) {
            for i in 0..<4 { journal[block][at + i] = UInt8(truncatingIfNeeded: v >> (24 - 8 * UInt32(i))) }
        }
        func header(_ block: Int, _ type: UInt32, _ seq: UInt32) { put32(block, 0, 0xC03B_3998); put32(block, 4, type); put32(block, 8, seq) }
        header(0, 4, 0)
        put32(0, 0x0C, UInt32(bs)); put32(0, 0x10, 16); put32(0, 0x14, 1); put32(0, 0x18, 5); put32(0, 0x1C, 1); put32(0, 0x28, 0x1)
        header(1, 1, 5)                                   // descriptor: 100 (escaped, with a UUID), 200 (last)
        put32(1, 12, 100); put32(1, 16, 0x1)              // t_blocknr, t_checksum 0 | t_flags ESCAPE
        put32(1, 36, 200); put32(1, 40, 0x2 | 0x8)        // after 16 UUID bytes: SAME_UUID | LAST
        header(4, 2, 5)                                   // commit 5
        header(5, 1, 6); put32(5, 12, 300); put32(5, 16, 0x8)
        header(7, 5, 6); put32(7, 12, 20); put32(7, 16, 200)   // revoke 200 in 6
        header(8, 2, 6)                                   // commit 6
        header(9, 1, 7); put32(9, 12, 400); put32(9, 16, 0x8)  // no commit follows
        let replay = try ExtJournalReplay.walk(blockSize: bs, physical: { $0 < 16 ? $0 + 1000 : nil },
                                               read: { $0 >= 1000 && $0 < 1016 ? journal[Int($0 - 1000)] : nil })
        #expect(replay.transactions == 2)
        #expect(replay.blocks == [ExtJournalReplay.Block(target: 100, source: 1002, escaped: true),
                                  ExtJournalReplay.Block(target: 300, source: 1006, escaped: false)])
        // A log start past the journal is refused, not followed.
        put32(0, 0x1C, 99)
        #expect(throws: ExtJournalReplay.Refusal.self) {
            try ExtJournalReplay.walk(blockSize: bs, physical: { $0 + 1000 }, read: { $0 >= 1000 && $0 < 1016 ? journal[Int($0 - 1000)] : nil })
        }
    }

    @Test func anUnreplayedExtJournalIsAFactAndSaid() throws {
        let dir = try copyScenario("loopback-not-configured", "debian-12-stock.pass")
        defer { try? FileManager.default.removeItem(at: dir) }
        var sb = [UInt8](repeating: 0, count: 1024)
        sb[0x38] = 0x53; sb[0x39] = 0xEF   // magic
        sb[0x3A] = 1                       // clean
        sb[0x5C] = 0x04                    // has_journal
        sb[0x60] = 0x04 | 0x02             // needs_recovery, filetype
        let ext = try #require(ExtSuperblock.decode(sb))
        #expect(ext.needsRecovery)
        let env = AuditEnvironment(filesystems: [FilesystemHealth(mountPoint: "/", device: "/dev/vda1", fsType: "ext4", ext: ext)])
        let system = SystemSnapshot.load(root: try TargetRoot(directory: dir.path), kind: .image, environment: env)
        #expect(system.unreplayedJournals.map(\.mountPoint) == ["/"])
        let result = AuditResult.run(system)
        #expect(result.findings.contains { $0.rule == FilesystemNeedsCheck.id && $0.message.contains("not yet replayed") })
    }
}

/// `rescue-audit devices` and discovery errors print target bytes (labels,
/// PARTLABELs, OS names) through `printable()`.
@Suite struct HostileDeviceTextTests {
    @Test func devicesListingEscapesLabelsAndNames() {
        let esc = "\u{1B}]0;owned\u{07}\u{202E}"
        let report = DeviceReport(
            devices: [
                ProbedDevice(path: "/srv/disk.img", kind: .image, size: 1 << 30, partitionTable: "gpt", partitionTableUUID: "aaaa",
                             partitions: [
                                ProbedPartition(number: 1, start: 1 << 20, size: 100 << 20, type: "0fc63daf-8483-4772-8e79-3d69d8477de4",
                                                partUUID: "p1", partLabel: "part" + esc, device: nil,
                                                filesystem: FilesystemInfo(type: "ext4", uuid: "u1", label: "root" + esc, version: nil,
                                                                           usage: "filesystem", unlockHint: nil)),
                             ],
                             filesystem: nil, error: nil),
            ],
            rootCandidates: [], notes: ["note" + esc])
        let text = renderDevicesText(report)
        #expect(!text.unicodeScalars.contains { ($0 != "\n" && Text.isControl($0)) || Text.isBidiOrSeparator($0) })
        #expect(text.contains("LABEL=root\\x1b]0;owned\\x07\\u{202E}"))
        #expect(text.contains("PARTLABEL=part\\x1b"))
    }

    @Test func discoveryErrorsEscapeTargetText() {
        let e = DiscoveryError.notFound(path: "/srv/\u{1B}[2Jx\u{202E}", reason: "r")
        #expect(!e.description.unicodeScalars.contains { Text.isControl($0) || Text.isBidiOrSeparator($0) })
    }
}
