import CCompress
import Foundation
import Parsers
@testable import SystemModel
import TargetAccess
import Testing

/// The journal reader against the real thing: journal files written by
/// systemd-journal-remote (scripts/make-journal.sh, from .oracles) in each
/// layout systemd 252 writes, read back by journalctl as the oracle.
@Suite struct JournalTests {
    static let journalctl = "/usr/bin/journalctl"

    /// Why the oracles are missing, or nil.
    static var unavailable: String? {
        guard FileManager.default.isExecutableFile(atPath: journalctl) else { return "journalctl is not installed (Debian package systemd)" }
        let remote = Repo.root.appendingPathComponent(".oracles/root/lib/systemd/systemd-journal-remote").path
        guard FileManager.default.isExecutableFile(atPath: remote) else { return "systemd-journal-remote is not in .oracles; run scripts/fetch-oracles.sh" }
        return nil
    }

    /// The last-boot-errors scenario whose journal is written at test time
    /// from Fixtures/journal/network-failure.export, or nil (skipped outside CI)
    /// when systemd-journal-remote is not in .oracles.
    static func scenarioJournal(sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> Scenario? {
        let s = try #require(Scenario.all.first { $0.rule == "last-boot-errors" && $0.name == "journal-network.fail" })
        return s.prepared(sourceLocation: sourceLocation) ? s : nil
    }

    /// Writes a journal from export text with scripts/make-journal.sh.
    static func makeJournal(_ export: String, at url: URL, environment extra: [String: String] = [:]) throws {
        let exportURL = url.deletingLastPathComponent().appendingPathComponent(url.lastPathComponent + ".export")
        try Data(export.utf8).write(to: exportURL)
        var env = ProcessInfo.processInfo.environment
        env.merge(extra) { $1 }
        let r = try run("/bin/sh", ["-c", "\"$0\" \"$1\" < \"$2\"", Repo.root.appendingPathComponent("scripts/make-journal.sh").path, url.path, exportURL.path],
                        environment: env)
        #expect(r.status == 0, "make-journal: \(r.stderr)")
        try? FileManager.default.removeItem(at: exportURL)
    }

    /// Export text: `count` entries over two boots, messages of every length
    /// (some over 512 bytes, which systemd compresses), fields repeating.
    static func export(count: Int, seed: UInt64 = 7) -> String {
        var rng = seed
        func next() -> UInt64 { rng = rng &* 6364136223846793005 &+ 1442695040888963407; return rng >> 33 }
        var out = ""
        let bootA = "aa11aa11aa11aa11aa11aa11aa11aa11", bootB = "bb22bb22bb22bb22bb22bb22bb22bb22"
        for i in 0..<count {
            let boot = i < count / 3 ? bootA : bootB
            let words = ["eth0", "Failed", "to", "start", "networking.service", "é", "ümlaut", "run-parts:", "x=y", "/etc/network/if-up.d/sendmail"]
            let n = Int(next() % (i % 17 == 0 ? 200 : 12)) + 1
            let message = (0..<n).map { _ in words[Int(next() % UInt64(words.count))] }.joined(separator: " ")
            out += "__REALTIME_TIMESTAMP=\(1_712_365_390_000_000 + UInt64(i) * 1_000)\n__MONOTONIC_TIMESTAMP=\(1_000_000 + i)\n"
            out += "_BOOT_ID=\(boot)\n_MACHINE_ID=5e1d2c3b4a5968778695a4b3c2d1e0f9\n_HOSTNAME=host\(i % 3)\n"
            out += "PRIORITY=\(i % 8)\nSYSLOG_IDENTIFIER=\(["systemd", "ifup", "kernel", "sshd"][i % 4])\n_PID=\(100 + i % 50)\n"
            if i % 5 == 0 { out += "UNIT=unit\(i % 7).service\n" }
            out += "MESSAGE=\(message) #\(i)\n\n"
        }
        return out
    }

    /// journalctl's view: every entry's fields, realtime and boot ID.
    static func oracleEntries(_ file: URL) throws -> [[String: String]] {
        let r = try run(journalctl, ["--file", file.path, "-o", "export", "--no-pager"])
        #expect(r.status == 0, "journalctl: \(r.stderr)")
        return r.stdout.components(separatedBy: "\n\n").compactMap { block -> [String: String]? in
            var fields: [String: String] = [:]
            for line in block.split(separator: "\n") {
                guard let eq = line.firstIndex(of: "=") else { continue }
                let key = String(line[..<eq])
                if fields[key] == nil { fields[key] = String(line[line.index(after: eq)...]) }
            }
            return fields.isEmpty ? nil : fields
        }
    }

    static func read(_ url: URL, budget: Int64 = 32 << 20) throws -> JournalFile {
        let data = try Data(contentsOf: url)
        let bytes = [UInt8](data)
        return try JournalFile(size: Int64(bytes.count), budget: budget) { offset, count in
            guard offset >= 0, Int(offset) + count <= bytes.count else { return nil }
            return Array(bytes[Int(offset)..<(Int(offset) + count)])
        }
    }

    /// How many DATA objects are stored compressed, walking the objects from the header.
    static func compressedDataObjects(_ url: URL) throws -> Int {
        let b = [UInt8](try Data(contentsOf: url))
        func u64(_ o: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[o + $1]) << (8 * UInt64($1)) } }
        var offset = Int(u64(88))
        var n = 0
        while offset + 16 <= b.count {
            let size = Int(u64(offset + 8))
            guard size >= 16 else { break }
            if b[offset] == 1, b[offset + 1] & 7 != 0 { n += 1 }
            offset += (size + 7) / 8 * 8
        }
        return n
    }

    @Test(arguments: [
        ("compact, keyed hash (systemd 252's default)", [String: String]()),
        ("regular layout", ["SYSTEMD_JOURNAL_COMPACT": "0"]),
        ("regular layout, Jenkins hash", ["SYSTEMD_JOURNAL_COMPACT": "0", "SYSTEMD_JOURNAL_KEYED_HASH": "0"]),
    ])
    func everyEntryMatchesJournalctl(layout: String, env: [String: String]) throws {
        if let why = Self.unavailable {
            #expect(!mustRunPrivileged, "\(why)")
            return
        }
        let dir = try makeTempDir("journal")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("system.journal")
        try Self.makeJournal(Self.export(count: 3000), at: file, environment: env)
        let journal = try Self.read(file)
        #expect(journal.header.isCompact == (env["SYSTEMD_JOURNAL_COMPACT"] == nil), "\(layout)")
        #expect((journal.header.incompatibleFlags & 4 != 0) == (env["SYSTEMD_JOURNAL_KEYED_HASH"] == nil), "\(layout): keyed hash flag")
        #expect(try Self.compressedDataObjects(file) > 0, "the oracle wrote compressed objects, so decompression is tested")

        let oracle = try Self.oracleEntries(file)
        let offsets = journal.entryOffsets()
        #expect(offsets.count == oracle.count && oracle.count == 3000)
        for (offset, expected) in zip(offsets, oracle) {
            guard let entry = journal.entry(at: offset) else {
                Issue.record("entry at \(offset) not read")
                continue
            }
            #expect(String(entry.realtime) == expected["__REALTIME_TIMESTAMP"])
            #expect(entry.bootID == expected["_BOOT_ID"])
            for key in ["MESSAGE", "_HOSTNAME", "PRIORITY", "SYSLOG_IDENTIFIER", "_PID", "UNIT", "_MACHINE_ID"] {
                #expect(entry.fields[key] == expected[key], "\(key) of entry \(entry.seqnum)")
            }
        }
    }

    /// The scenario fixture: the last boot only, with the compressed message read.
    @Test func lastBootFromTheScenarioJournal() throws {
        guard let scenario = try Self.scenarioJournal() else { return }
        let root = try TargetRoot(directory: scenario.url.path)
        let logs = LastBootLogs.load(root)
        #expect(logs.journalBootID == "0f4b7c2e8a1d4e6f9b3c5a7d2e1f0a9b")
        let signatures = logs.events.map(\.signature)
        #expect(signatures == [.hookScriptFailed, .ifupFailed, .networkingFailed, .dependencyFailed], "\(signatures)")
        #expect(!logs.events.contains { $0.text.contains("srv.mount") || $0.text.contains("Emergency") }, "the previous boot is not the last boot")
        let long = try #require(logs.events.last)
        #expect(long.text.hasSuffix("attempt 8 of 40, interface eth0 has no carrier and no address yet]"), "the zstd-compressed message is read whole")
        #expect(long.timestamp == "2024-04-06 01:03:17 UTC")
        #expect(logs.events.first?.subjects.contains("/etc/network/if-up.d/sendmail") == true)
        #expect(logs.sources.first?.how.contains("read directly") == true)
    }

    /// An archived file of the same boot and an older boot's file: the last
    /// boot spans both of its files, and stops at the earlier boot.
    @Test func lastBootAcrossRotatedFiles() throws {
        if let why = Self.unavailable {
            #expect(!mustRunPrivileged, "\(why)")
            return
        }
        let root = try makeTempDir("journal-root")
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("var/log/journal/5e1d2c3b4a5968778695a4b3c2d1e0f9")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        func entry(_ t: Int, _ boot: String, _ msg: String) -> String {
            "__REALTIME_TIMESTAMP=\(1_712_365_390_000_000 + t * 1_000_000)\n__MONOTONIC_TIMESTAMP=\(t)\n_BOOT_ID=\(boot)\n_HOSTNAME=h\nSYSLOG_IDENTIFIER=systemd\n_PID=1\nMESSAGE=\(msg)\n\n"
        }
        let old = "11111111111111111111111111111111", last = "22222222222222222222222222222222"
        try Self.makeJournal(entry(1, old, "Failed to mount data.mount - /data.") + entry(2, last, "Failed to start ssh.service - OpenBSD Secure Shell server."),
                             at: dir.appendingPathComponent("system@0000-0000000000000001-0006155e4f1a6b00.journal"))
        try Self.makeJournal(entry(3, last, "Failed to start networking.service - Raise network interfaces.") + entry(4, last, "Started cron.service."),
                             at: dir.appendingPathComponent("system.journal"))
        let logs = LastBootLogs.load(try TargetRoot(directory: root.path))
        #expect(logs.journalBootID == last)
        #expect(logs.events.map(\.signature) == [.unitFailed, .networkingFailed], "\(logs.events.map(\.text))")
        #expect(logs.sources.count == 2)
    }

    /// A budget smaller than the file stops the reading, flagged, without a trap.
    @Test func budgetStopsReading() throws {
        guard let scenario = try Self.scenarioJournal() else { return }
        let url = scenario.url.appendingPathComponent("var/log/journal/5e1d2c3b4a5968778695a4b3c2d1e0f9/system.journal")
        let journal = try Self.read(url, budget: 64 * 1024)
        let offsets = journal.entryOffsets()
        _ = offsets.compactMap { journal.entry(at: $0) }
        #expect(journal.budgetExhausted)
        #expect(journal.bytesRead <= 64 * 1024)
    }

    /// Damaged files: every read is checked, so flipped bytes, cuts and
    /// garbage give fewer entries or an error, never a crash.
    @Test func damagedFilesNeverTrap() throws {
        guard let scenario = try Self.scenarioJournal() else { return }
        let url = scenario.url.appendingPathComponent("var/log/journal/5e1d2c3b4a5968778695a4b3c2d1e0f9/system.journal")
        let original = [UInt8](try Data(contentsOf: url))
        var rng: UInt64 = 42
        func next() -> Int { rng = rng &* 6364136223846793005 &+ 1442695040888963407; return Int(rng >> 33) }
        // Where the objects are (past the hash tables), so flips land in them.
        let tail = (0..<8).reduce(0) { $0 | Int(original[136 + $1]) << (8 * $1) }
        for round in 0..<300 {
            var b = original
            if round % 10 == 0 { b = Array(b.prefix(next() % b.count)) }
            for _ in 0..<(1 + next() % 8) where b.count > 300 {
                let at = round % 3 == 0 ? next() % 272 : max(0, tail - 4096) + next() % 8192
                if at < b.count { b[at] = UInt8(truncatingIfNeeded: next()) }
            }
            let bytes = b
            guard let j = try? JournalFile(size: Int64(bytes.count), read: { o, c in
                guard o >= 0, Int(o) + c <= bytes.count else { return nil }
                return Array(bytes[Int(o)..<(Int(o) + c)])
            }) else { continue }
            for o in j.entryOffsets() { _ = j.entry(at: o) }
        }
        #expect(throws: JournalFile.OpenError.notAJournal) {
            _ = try JournalFile(size: 300, read: { _, c in [UInt8](repeating: 0x41, count: c) })
        }
    }

    /// The three codecs with systemd's framing: xz and zstd streams from the
    /// command-line tools, LZ4 blocks from liblz4 with systemd's 8-byte size prefix.
    @Test func decompression() throws {
        let plain = Array(String(repeating: "MESSAGE=Failed to start networking.service - Raise network interfaces. ", count: 40).utf8)
        let dir = try makeTempDir("codec")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("in")
        try Data(plain).write(to: input)
        for (tool, codec) in [("xz", JournalCompression.xz), ("zstd", .zstd)] {
            guard let path = which(tool) else {
                #expect(!mustRunPrivileged, "\(tool) is not installed")
                continue
            }
            let r = try run("/bin/sh", ["-c", "\"$0\" -c < \"$1\" > \"$1.\(tool)\"", path, input.path])
            #expect(r.status == 0)
            let packed = [UInt8](try Data(contentsOf: URL(fileURLWithPath: input.path + ".\(tool)")))
            #expect(codec.decompress(packed, limit: 1 << 20) == plain, "\(tool)")
            #expect(codec.decompress(packed, limit: plain.count - 1) == nil, "\(tool): over the limit")
            #expect(codec.decompress(Array(packed.prefix(packed.count / 2)), limit: 1 << 20) == nil, "\(tool): truncated")
        }
        var block = [UInt8](repeating: 0, count: Int(LZ4_compressBound(Int32(plain.count))))
        let n = plain.withUnsafeBufferPointer { s in
            block.withUnsafeMutableBufferPointer { d in
                s.baseAddress!.withMemoryRebound(to: CChar.self, capacity: s.count) { sp in
                    d.baseAddress!.withMemoryRebound(to: CChar.self, capacity: d.count) { dp in
                        LZ4_compress_default(sp, dp, Int32(s.count), Int32(d.count))
                    }
                }
            }
        }
        #expect(n > 0)
        let framed = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(plain.count) >> (8 * UInt64($0))) } + block.prefix(Int(n))
        #expect(JournalCompression.lz4.decompress(Array(framed), limit: 1 << 20) == plain)
        #expect(JournalCompression.lz4.decompress(Array(framed.prefix(framed.count - 3)), limit: 1 << 20) == nil)
    }
}
