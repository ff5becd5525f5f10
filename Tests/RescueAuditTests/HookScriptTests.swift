import Foundation
import Parsers
import SystemModel
import TargetAccess
import Testing

/// Hook scripts as run-parts and the shell see them. run-parts' name filter
/// is checked against the real run-parts (debianutils) on this machine, and
/// what fails against a real `run-parts --exit-on-error` run.
@Suite struct HookScriptTests {
    @Test func runPartsNamesAgreeWithRunParts() throws {
        guard let runParts = which("run-parts") else {
            #expect(!mustRunPrivileged, "run-parts (debianutils) is missing")
            return
        }
        let dir = try makeTempDir("run-parts-names")
        defer { try? FileManager.default.removeItem(at: dir) }
        let names = ["000resolvconf", "sendmail", "routes.sh", "iptables.dpkg-old", "ethtool~", "A_b-9", ".hidden",
                     "with space", "ünïcode", "50-firewall", "x.y", "UPPER", "-dash", "_under", "a+b", "tab\tname"]
        for n in names {
            let url = dir.appendingPathComponent(n)
            try write("#!/bin/sh\nexit 0\n", to: url)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        }
        let r = try run(runParts, ["--test", dir.path])
        let listed = Set(r.stdout.split(separator: "\n").map { String($0.split(separator: "/").last ?? "") })
        for n in names {
            #expect(HookScriptParser.runPartsRuns(n) == listed.contains(n), "\(n): run-parts --test \(listed.contains(n) ? "lists" : "skips") it")
        }
    }

    @Test func sendmailBugAndItsFix() {
        let old = "#!/bin/sh\nif [ ! -z \"$IFACE\" ]; then\n\taddr=$IF_ADDRESS;\n\tfi;\n\n# Bring in some script functions\n. /usr/share/sendmail/dynamic;\nupdate_interface \"$iface\" \"BOUND\";\n"
        let facts = HookScriptParser.parse(Array(old.utf8), path: "/etc/network/if-up.d/sendmail")
        #expect(facts.interpreter == "/bin/sh")
        #expect(facts.unconditionalIncludes.map(\.path) == ["/usr/share/sendmail/dynamic"])
        #expect(facts.unconditionalIncludes.first?.source.location.line == 7)

        let fixed = old.replacingOccurrences(of: ". /usr/share/sendmail/dynamic;", with: "test -r /usr/share/sendmail/dynamic || exit 0\n. /usr/share/sendmail/dynamic;")
        #expect(HookScriptParser.parse(Array(fixed.utf8), path: "x").unconditionalIncludes.isEmpty, "a tested file is guarded")
        for guarded in ["[ -f /etc/x.conf ] && . /etc/x.conf", "if [ -e /etc/x.conf ]; then\n  . /etc/x.conf\nfi",
                        "case $1 in up) . /etc/x.conf;; esac", "load() {\n  . /etc/x.conf\n}", ". \"$CONF\"", "# . /etc/x.conf"] {
            #expect(HookScriptParser.parse(Array("#!/bin/sh\n\(guarded)\n".utf8), path: "x").unconditionalIncludes.isEmpty, "\(guarded)")
        }
        for plain in ["source /etc/x.conf", "exec /usr/lib/x/helper \"$@\"", ". /etc/x.conf # comment"] {
            #expect(HookScriptParser.parse(Array("#!/bin/bash\n\(plain)\n".utf8), path: "x").unconditionalIncludes.map(\.path).count == 1, "\(plain)")
        }
    }

    @Test func interpreterCRLFAndEffects() {
        let crlf = HookScriptParser.parse(Array("#!/bin/sh\r\niptables-restore < /etc/iptables.up.rules\r\n".utf8), path: "x")
        #expect(crlf.interpreter == "/bin/sh\r")
        #expect(crlf.crlfLines == 2)
        #expect(crlf.firewallCommands.count == 1)
        let env = HookScriptParser.parse(Array("#!/usr/bin/env python3\nimport os\n".utf8), path: "x")
        #expect(env.interpreter == "/usr/bin/env")
        let args = HookScriptParser.parse(Array("#! /bin/sh -e\nip -4 route add 10.0.0.0/8 via 192.0.2.1\nip addr add 192.0.2.5/24 dev eth0\n/sbin/route add default gw 192.0.2.1\nip route show\n".utf8), path: "x")
        #expect(args.interpreter == "/bin/sh")
        #expect(args.addressOrRouteCommands.map(\.location.line) == [2, 3, 4])
        #expect(HookScriptParser.parse([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], path: "x").isELF)
        #expect(HookScriptParser.parse(Array("echo hi\n".utf8), path: "x").shebang == nil)
    }

    /// What the loader finds in a real directory, and what the real run-parts does with it.
    @Test func loaderAgreesWithRunPartsExitOnError() throws {
        guard let runParts = which("run-parts") else { #expect(!mustRunPrivileged); return }
        let root = try makeTempDir("hooks")
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("etc/network/if-up.d")
        func script(_ name: String, _ text: String, mode: Int = 0o755) throws {
            try write(text, to: dir.appendingPathComponent(name))
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: dir.appendingPathComponent(name).path)
        }
        try script("10ok", "#!/bin/sh\nexit 0\n")
        try script("20noexec", "#!/bin/sh\nexit 0\n", mode: 0o644)
        try script("30dot.sh", "#!/bin/sh\nexit 0\n")
        try script("40interp", "#!/nonexistent/interpreter\n")
        try script("50later", "#!/bin/sh\nexit 0\n")
        // The fixture's /bin/sh for the interpreter check; run-parts uses the host's.
        try write("stand-in\n", to: root.appendingPathComponent("bin/sh"))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root.appendingPathComponent("bin/sh").path)

        let hooks = NetworkHooks.load(try TargetRoot(directory: root.path))
        let s = hooks.scripts(in: "/etc/network/if-up.d")
        #expect(s.map(\.name) == ["10ok", "20noexec", "30dot.sh", "40interp", "50later"])
        #expect(s.map(\.isRun) == [true, false, false, true, true])
        #expect(s[3].problem == .missingInterpreter(interpreter: "/nonexistent/interpreter"))
        #expect(s[1].problem == .notExecutable(mode: 0o644))

        let r = try run(runParts, ["--exit-on-error", "--verbose", dir.path])
        #expect(r.status != 0)
        #expect(r.stderr.contains("40interp") && !r.stderr.contains("50later"), "run-parts stops at the failing script: \(r.stderr)")
        #expect(!r.stderr.contains("20noexec") && !r.stderr.contains("30dot.sh"), "skipped without a word: \(r.stderr)")
    }
}
