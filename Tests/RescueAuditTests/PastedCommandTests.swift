import Foundation
import Parsers
import Plan
import Rules
import SystemModel
import TargetAccess
import Testing

/// Every manual command the audit offers to paste (the script header, JSON
/// `plan.actions[].commands`) stays data: pasted into `sh -c` with `ROOT`
/// set to a scratch copy of the target, it creates no file outside what it
/// names, and a target name such as `$(touch …)` never runs (issue 20).
/// Commands that would touch the host (mount, chroot, systemctl, fsck, …)
/// run as stubs that do nothing.
@Suite struct PastedCommandTests {
    static let stubbed = ["mount", "umount", "chroot", "systemctl", "fsck", "e2fsck", "xfs_repair", "losetup", "journalctl",
                          "less", "blkid", "update-grub", "update-initramfs", "apt-get", "dpkg", "dnf", "pacman", "ip", "vgchange",
                          "cryptsetup", "dracut", "grub2-mkconfig", "grub-mkconfig", "kernel-install", "mkinitcpio", "vi", "ls"]

    /// A directory of stub commands, each `exit 0`.
    static func stubs() throws -> URL {
        let dir = try makeTempDir("rescue-audit-stubs")
        for name in stubbed {
            let url = dir.appendingPathComponent(name)
            try write("#!/bin/sh\nexit 0\n", to: url)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        }
        return dir
    }

    /// Runs each command as pasted; returns the ones that left something behind.
    static func paste(_ commands: [ShellCommand], root: URL, marker: URL) throws -> [String] {
        let stubs = try stubs()
        defer { try? FileManager.default.removeItem(at: stubs) }
        var bad: [String] = []
        for c in commands {
            let cwd = try makeTempDir("rescue-audit-paste-cwd")
            defer { try? FileManager.default.removeItem(at: cwd) }
            _ = try run("/bin/sh", ["-c", c.text], environment: ["ROOT": root.path, "EDITOR": "true", "PATH": stubs.path + ":/usr/bin:/bin",
                                                                  "HOME": cwd.path], cwd: cwd)
            let left = try FileManager.default.contentsOfDirectory(atPath: cwd.path)
            if FileManager.default.fileExists(atPath: marker.path) || !left.isEmpty {
                bad.append(c.text)
                try? FileManager.default.removeItem(at: marker)
            }
        }
        return bad
    }

    static func manualCommands(_ result: AuditResult) -> [ShellCommand] {
        result.plan.actions.flatMap { a -> [ShellCommand] in
            if case .manual(_, let c) = a.operation { return c }
            return []
        }
    }

    /// A root whose file names are commands: a sourced interfaces file that
    /// cannot be read, a hook script run-parts skips, an nft include that
    /// nft refuses, each named `…$(touch MARKER)…`.
    @Test func hostileNamesStayDataWhenPasted() throws {
        // A name cannot hold `/`: the command touches a file in the directory the line is pasted in.
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("rescue-audit-pwned-\(UUID().uuidString)")
        let evil = "$(touch rescue-audit-pwned)"
        let src = Repo.rules.appendingPathComponent("loopback-not-configured/tests/debian-12-stock.pass")
        let root = try makeTempDir("rescue-audit-hostile-names")
        try FileManager.default.removeItem(at: root)
        try FileManager.default.copyItem(at: src, to: root)
        defer { try? FileManager.default.removeItem(at: root) }

        let net = root.appendingPathComponent("etc/network")
        let interfaces = try String(contentsOf: net.appendingPathComponent("interfaces"), encoding: .utf8)
        try write(interfaces + "\nsource /etc/network/interfaces.d/*\n", to: net.appendingPathComponent("interfaces"))
        try FileManager.default.createDirectory(at: net.appendingPathComponent("interfaces.d"), withIntermediateDirectories: true)
        #expect(mkfifo(net.appendingPathComponent("interfaces.d/eth1\(evil)").path, 0o644) == 0)
        let hook = net.appendingPathComponent("if-up.d/up\(evil).sh")
        try write("#!/bin/sh\nip addr add 192.0.2.7/24 dev \"$IFACE\"\n", to: hook)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: hook.path)
        try write("#!/usr/sbin/nft -f\nflush ruleset\ninclude \"/etc/nft.d/rules\(evil).nft\"\n", to: root.appendingPathComponent("etc/nftables.conf"))
        try write("table inet f {\n chain input {\n  type filter hook input priority 0; policy drop;\n",
                  to: root.appendingPathComponent("etc/nft.d/rules\(evil).nft"))
        let wants = root.appendingPathComponent("etc/systemd/system/sysinit.target.wants")
        try FileManager.default.createDirectory(at: wants, withIntermediateDirectories: true)
        try write("[Unit]\nDescription=nftables\n[Service]\nType=oneshot\nExecStart=/usr/sbin/nft -f /etc/nftables.conf\n[Install]\nWantedBy=sysinit.target\n",
                  to: root.appendingPathComponent("lib/systemd/system/nftables.service"))
        try FileManager.default.createSymbolicLink(atPath: wants.appendingPathComponent("nftables.service").path,
                                                   withDestinationPath: "/lib/systemd/system/nftables.service")
        // nftables.service runs /usr/sbin/nft: a stand-in, or the unit fails and loads nothing.
        try writeUnitPrograms(["/lib/systemd/system/nftables.service": "ExecStart=/usr/sbin/nft -f /etc/nftables.conf\n"], into: root)

        let result = AuditResult.run(SystemSnapshot.load(root: try TargetRoot(directory: root.path)))
        let commands = Self.manualCommands(result)
        let hostile = commands.filter { $0.text.contains("touch") }
        // The three names reach commands: the unreadable sourced file, the skipped hook, the refused include.
        #expect(hostile.contains { $0.text.contains("interfaces.d") }, "\(commands.map(\.text))")
        #expect(hostile.contains { $0.text.contains("if-up.d") }, "\(commands.map(\.text))")
        #expect(hostile.contains { $0.text.contains("nft.d") }, "\(commands.map(\.text))")
        let scratch = try makeTempDir("rescue-audit-paste-root")
        defer { try? FileManager.default.removeItem(at: scratch) }
        // cp -a copies the FIFO as a FIFO (FileManager would open it and wait for a writer).
        #expect(try run("/bin/cp", ["-a", root.path + "/.", scratch.path]).status == 0)
        let bad = try Self.paste(commands, root: scratch, marker: marker)
        #expect(bad.isEmpty, "commands that ran target data or left files behind: \(bad)")
        #expect(!FileManager.default.fileExists(atPath: marker.path))
    }

    /// Every manual command of every failing scenario, pasted, leaves nothing behind.
    @Test func everyScenarioManualCommandIsSafeToPaste() throws {
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("rescue-audit-none-\(UUID().uuidString)")
        var all: [(String, ShellCommand)] = []
        for s in Scenario.all where s.shouldFail {
            guard let result = try? s.audit() else { continue }
            all += Self.manualCommands(result).map { (s.testDescription, $0) }
        }
        #expect(all.count > 20)
        let scratch = try makeTempDir("rescue-audit-paste-root")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let bad = try Self.paste(all.map(\.1), root: scratch, marker: marker)
        #expect(bad.isEmpty, "\(bad)")
    }
}
