import Foundation
import Parsers
import Testing

/// The syslog tail scanner and the failure signatures.
@Suite struct BootLogTests {
    /// Real messages (seed 003's, Debian 9 and 12 systemd wording) and what they are.
    @Test func signatures() {
        let cases: [(String, String?, BootLogSignature?, [String])] = [
            ("Failed to start Raise network interfaces.", "systemd", .networkingFailed, ["networking.service"]),
            ("Failed to start networking.service - Raise network interfaces.", "systemd", .networkingFailed, ["networking.service"]),
            ("run-parts: /etc/network/if-up.d/sendmail exited with return code 2", "ifup", .hookScriptFailed, ["/etc/network/if-up.d/sendmail"]),
            ("run-parts: failed to exec /etc/network/if-up.d/iptables: Exec format error", "ifup", .hookScriptFailed, ["/etc/network/if-up.d/iptables"]),
            ("ifup: failed to bring up eth0", "ifup", .ifupFailed, []),
            ("RTNETLINK answers: File exists", "ifup", .ifupFailed, []),
            ("Cannot find device \"eth0\"", "ifup", .ifupFailed, []),
            ("Dependency failed for Local File Systems.", "systemd", .dependencyFailed, []),
            ("Dependency failed for srv.mount - /srv.", "systemd", .dependencyFailed, ["srv.mount", "/srv"]),
            ("Failed to mount /srv.", "systemd", .mountFailed, ["/srv"]),
            ("Failed to mount srv.mount - /srv.", "systemd", .mountFailed, ["srv.mount", "/srv"]),
            ("/dev/sda2: UNEXPECTED INCONSISTENCY; RUN fsck MANUALLY.", "systemd-fsck", .fsckFailed, []),
            ("Failed to start File System Check on /dev/disk/by-uuid/5a1e.", "systemd", .fsckFailed, []),
            ("Reached target Emergency Mode.", "systemd", .emergencyMode, []),
            ("Reached target emergency.target - Emergency Mode.", "systemd", .emergencyMode, []),
            ("Failed to start ssh.service - OpenBSD Secure Shell server.", "systemd", .unitFailed, ["ssh.service"]),
            ("Failed password for invalid user admin from 203.0.113.9 port 50122 ssh2", "sshd", nil, []),
            ("Started Raise network interfaces.", "systemd", nil, []),
            ("Listening on 0.0.0.0 port 22.", "sshd", nil, []),
        ]
        for (message, tag, expected, subjects) in cases {
            let m = BootLogMatcher.match(message: message, tag: tag)
            #expect(m?.0 == expected, "\(message)")
            if let m { #expect(m.1 == subjects, "\(message): \(m.1)") }
        }
    }

    @Test func syslogLineForms() {
        let a = SyslogLine("Apr  6 01:03:17 xlauncher ifup[6359]: run-parts: /etc/network/if-up.d/iptables exited with return code 1")
        #expect(a.timestamp == "Apr  6 01:03:17" && a.host == "xlauncher" && a.tag == "ifup")
        #expect(a.message == "run-parts: /etc/network/if-up.d/iptables exited with return code 1")
        let b = SyslogLine("2024-04-06T01:03:10.004211+00:00 web1 kernel: [    0.000000] Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org)")
        #expect(b.timestamp == "2024-04-06T01:03:10.004211+00:00" && b.tag == "kernel" && b.isKernelBootStart)
        #expect(!SyslogLine("Apr  6 01:03:17 host myapp[1]: Linux version 5 detected").isKernelBootStart)
        #expect(SyslogLine("garbage without a timestamp").message == "garbage without a timestamp")
    }

    /// A plain reading of the same file: every line, the last kernel boot
    /// line, the matches after it with their line numbers.
    func reference(_ bytes: [UInt8], path: String) -> [BootLogEvent] {
        let lines = Text.lines(bytes)
        let start = lines.lastIndex { SyslogLine($0).isKernelBootStart } ?? 0
        return lines.enumerated().dropFirst(start).compactMap { i, text in
            let parsed = SyslogLine(text)
            guard let (sig, subjects) = BootLogMatcher.match(message: parsed.message, tag: parsed.tag) else { return nil }
            return BootLogEvent(signature: sig, path: path, line: i + 1, timestamp: parsed.timestamp, text: text, subjects: subjects)
        }
    }

    func scan(_ bytes: [UInt8], chunk: Int, maxBytes: Int64 = 32 << 20, path: String = "/var/log/syslog") -> SyslogScan {
        SyslogTail.scan(path: path, size: Int64(bytes.count), maxBytes: maxBytes, chunkSize: chunk) { offset, count in
            Array(bytes[Int(offset)..<(Int(offset) + count)])
        }
    }

    /// A syslog of several boots with noise, CRLF, invalid UTF-8 and a very long line.
    func makeLog(boots: Int, linesPerBoot: Int) -> [UInt8] {
        var out: [UInt8] = []
        var rng: UInt64 = 3
        func next() -> Int { rng = rng &* 6364136223846793005 &+ 1442695040888963407; return Int(rng >> 33) }
        let noise = ["CRON[5120]: (root) CMD (run-parts /etc/cron.hourly)", "sshd[611]: Failed password for root from 203.0.113.9 port 5 ssh2",
                     "systemd[1]: Started session-1.scope.", "kernel: [ 12.3] e1000: eth0 NIC Link is Up"]
        let failures = ["systemd[1]: Failed to start Raise network interfaces.", "ifup[623]: run-parts: /etc/network/if-up.d/sendmail exited with return code 2",
                        "systemd[1]: Dependency failed for Network is Online.", "systemd[1]: Failed to mount /srv."]
        for boot in 0..<boots {
            out += Array("Apr  6 0\(boot % 10):00:00 host kernel: [    0.000000] Linux version 6.1.0-\(boot)-amd64 (debian-kernel@lists.debian.org)\n".utf8)
            for i in 0..<linesPerBoot {
                var line = "Apr  6 0\(boot % 10):00:\(i % 60) host " + (next() % 40 == 0 ? failures[next() % failures.count] : noise[next() % noise.count])
                if i == 7 { line += " " + String(repeating: "x", count: 9000) }
                out += Array(line.utf8)
                if i % 11 == 0 { out += [0xFF, 0xFE] }
                out += i % 13 == 0 ? [0x0D, 0x0A] : [0x0A]
            }
        }
        out += Array("Apr  6 09:59:59 host systemd[1]: Failed to start ssh.service - OpenBSD Secure Shell server.".utf8)  // no newline at the end
        return out
    }

    @Test func chunksGiveTheSameAnswerAsAPlainReading() {
        let log = makeLog(boots: 4, linesPerBoot: 3000)
        let expected = reference(log, path: "/var/log/syslog")
        #expect(expected.count > 20)
        for chunk in [1000, 4096, 65_536, 1 << 22] {
            let s = scan(log, chunk: chunk)
            #expect(s.events == expected, "chunk size \(chunk): \(s.events.count) vs \(expected.count)")
            #expect(s.bootStart?.contains("Linux version 6.1.0-3-amd64") == true)
            #expect(!s.windowCut)
        }
    }

    @Test func onlyTheLastWindowIsRead() {
        let log = makeLog(boots: 1, linesPerBoot: 20_000)
        // 64 KiB window: no boot start inside, so no line numbers, and the window says so.
        let s = scan(log, chunk: 16_384, maxBytes: 65_536)
        #expect(s.bytesRead <= 65_536)
        #expect(s.windowCut && s.bootStart == nil)
        #expect(s.events.allSatisfy { $0.line == nil })
        // The lines wholly inside the window (its first line is cut), matched one by one.
        let expected = Text.lines(Array(log.suffix(65_536))).dropFirst().filter { text in
            let parsed = SyslogLine(text)
            return BootLogMatcher.match(message: parsed.message, tag: parsed.tag) != nil
        }
        #expect(!expected.isEmpty && s.events.map(\.text) == Array(expected))
    }

    @Test func bootLogMarksAndColours() {
        let text = "------------ Fri Apr 05 22:50:00 UTC 2024 ------------\n\u{1B}[0;1;31mFAILED\u{1B}[0m] Failed to mount /srv.\n"
            + "------------ Sat Apr 06 01:03:10 UTC 2024 ------------\n[\u{1B}[0;32m  OK  \u{1B}[0m] Started ssh.service.\n"
            + "[\u{1B}[0;1;31mFAILED\u{1B}[0m] Failed to start networking.service - Raise network interfaces.\n"
        let s = scan(Array(text.utf8), chunk: 1 << 20, path: "/var/log/boot.log")
        #expect(s.events.map(\.signature) == [.networkingFailed])
        #expect(s.events.first?.text == "[FAILED] Failed to start networking.service - Raise network interfaces.")
        #expect(s.events.first?.line == 5)
    }

    @Test func utcFormatting() {
        #expect(formatUTC(microseconds: 1_712_365_397_000_000) == "2024-04-06 01:03:17 UTC")
        #expect(formatUTC(microseconds: 0) == "1970-01-01 00:00:00 UTC")
        #expect(formatUTC(microseconds: 951_782_400_000_000) == "2000-02-29 00:00:00 UTC")
    }
}
