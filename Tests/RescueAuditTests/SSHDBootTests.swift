import Foundation
import Parsers
@testable import SystemModel
import TargetAccess
import Testing

private func scenario(_ rule: String, _ name: String) throws -> SystemSnapshot {
    SystemSnapshot.load(root: try TargetRoot(directory: try Scenario.root(rule, name).path))
}

/// A copy of a scenario root, changed by `edit`, loaded.
private func variant(_ rule: String, _ name: String, _ edit: (URL) throws -> Void) throws -> (SystemSnapshot, URL) {
    let src = try Scenario.root(rule, name)
    let dir = try makeTempDir("sshd-variant").appendingPathComponent("root")
    try copyTree(src, to: dir)
    try edit(dir)
    return (SystemSnapshot.load(root: try TargetRoot(directory: dir.path)), dir)
}

@Suite struct SSHDBootTests {
    @Test func debianStockHoldsOnEveryLink() throws {
        let s = try scenario("sshd-will-not-start", "debian-stock.pass")
        let b = s.sshdAtBoot
        #expect(b.starts.kind == .sshdStarts && b.starts.state == .holds, "\(b.starts)")
        #expect(b.listens.kind == .listens && b.listens.state == .holds, "\(b.listens)")
        #expect(b.login.kind == .login && b.login.state == .holds, "\(b.login)")
        #expect(b.ports.map(\.value) == [22])
        #expect(b.ports.first?.source.location.line == 0, "the built-in default port")
        #expect(b.addresses.isEmpty)
        #expect(b.login.summary.contains("alice") && b.login.summary.contains("/home/alice/.ssh/authorized_keys"), "\(b.login.summary)")
        #expect(s.sshd.startedBy == "ssh.service")
    }

    /// ssh.socket enabled, ssh.service not: systemd binds ListenStream= (a
    /// drop-in resets it to 2222) and sshd's Port 22 is ignored; the
    /// firewall model is handed the same port.
    @Test func socketActivationTakesListenStream() throws {
        let s = try scenario("sshd-will-not-start", "ubuntu-socket-activation.pass")
        #expect(s.sshd.socketActivated)
        #expect(s.sshdAtBoot.starts.state == .holds, "\(s.sshdAtBoot.starts)")
        #expect(s.sshdAtBoot.ports.map(\.value) == [2222])
        #expect(s.sshdAtBoot.ports.first?.source.location.path == "/etc/systemd/system/ssh.socket.d/port.conf")
        #expect(s.listeners.sshPorts.map(\.value) == [2222])
    }

    /// Ubuntu 24.04's sshd-socket-generator writes ListenStream= from
    /// sshd_config at boot: Port decides again.
    @Test func socketGeneratorMakesPortDecideAgain() throws {
        let (s, _) = try variant("sshd-will-not-start", "ubuntu-socket-activation.pass") { root in
            try write("#!/bin/sh\n", to: root.appendingPathComponent("usr/lib/systemd/system-generators/sshd-socket-generator"))
            let conf = root.appendingPathComponent("etc/ssh/sshd_config")
            try write(String(contentsOf: conf, encoding: .utf8) + "Port 2200\n", to: conf)
        }
        #expect(s.sshdAtBoot.ports.map(\.value) == [2200])
    }

    @Test func listenAddressNobodyConfiguresIsBroken() throws {
        let (s, _) = try variant("sshd-will-not-start", "debian-stock.pass") { root in
            let conf = root.appendingPathComponent("etc/ssh/sshd_config")
            try write(String(contentsOf: conf, encoding: .utf8) + "ListenAddress 198.51.100.7\nPort 2022\n", to: conf)
            // A static address elsewhere, so DHCP cannot be the answer.
            try write("auto lo\niface lo inet loopback\nauto ens3\niface ens3 inet static\n    address 192.0.2.10/24\n",
                      to: root.appendingPathComponent("etc/network/interfaces"))
        }
        #expect(s.sshdAtBoot.listens.state == .broken, "\(s.sshdAtBoot.listens)")
        #expect(s.sshdAtBoot.addresses.map(\.value) == ["198.51.100.7"])
        #expect(s.sshdAtBoot.ports.map(\.value) == [2022])
    }

    @Test func listenAddressOnAStaticAddressHolds() throws {
        let (s, _) = try variant("sshd-will-not-start", "debian-stock.pass") { root in
            let conf = root.appendingPathComponent("etc/ssh/sshd_config")
            try write(String(contentsOf: conf, encoding: .utf8) + "ListenAddress 192.0.2.10:2222\n", to: conf)
            try write("auto lo\niface lo inet loopback\nauto ens3\niface ens3 inet static\n    address 192.0.2.10/24\n",
                      to: root.appendingPathComponent("etc/network/interfaces"))
        }
        #expect(s.sshdAtBoot.listens.state == .holds, "\(s.sshdAtBoot.listens)")
        #expect(s.sshdAtBoot.ports.map(\.value) == [2222])
    }

    @Test func eachStartFailureBreaksTheStartsLink() throws {
        for name in ["ssh-disabled.fail", "sshd-not-to-be-run.fail", "privsep-user-missing.fail", "binary-missing.fail"] {
            let s = try scenario("sshd-will-not-start", name)
            #expect(s.sshdAtBoot.starts.state == .broken, "\(name): \(s.sshdAtBoot.starts)")
        }
        #expect(try scenario("sshd-host-keys-missing", "keys-deleted.fail").sshdAtBoot.starts.state == .broken)
        #expect(try scenario("sshd-config-invalid", "misspelt-match.fail").sshdAtBoot.starts.state == .broken)
        #expect(try scenario("sshd-host-keys-missing", "keygen-in-execstartpre.pass").sshdAtBoot.starts.state == .holds)
    }

    @Test func eachLoginFailureBreaksTheLoginLink() throws {
        for name in ["root-only-permitrootlogin-no.fail", "no-keys-password-off.fail", "allowusers-typo.fail",
                     "nologin-left-behind.fail", "ssh-dir-shared-group-writable.fail", "ssh-dir-private-group-with-member.fail"] {
            let s = try scenario("ssh-login-impossible", name)
            #expect(s.sshdAtBoot.login.state == .broken, "\(name): \(s.sshdAtBoot.login)")
            #expect(s.sshdAtBoot.starts.state == .holds, "\(name): \(s.sshdAtBoot.starts)")
        }
        // Password login only from one network: it depends on the client.
        let office = try scenario("ssh-login-impossible", "password-from-office-only.pass")
        #expect(office.sshdAtBoot.login.state == .cannotTell, "\(office.sshdAtBoot.login)")
    }

    /// Debian's user-group-modes patch: a ~/.ssh writable by the user's own
    /// one-member group is accepted (a qemu boot of Debian 12 let alice in,
    /// docs/boot-checks.md); the same tree without Debian's sshd (no dpkg
    /// openssh-server, a binary without Debian's version string) is refused,
    /// as upstream's and RHEL's sshd refuse it, and so is a path others can
    /// write, or one whose group is empty.
    @Test func strictModesFollowsDebiansUserGroupModes() throws {
        let debian = try scenario("ssh-login-impossible", "ssh-dir-private-group-writable.pass")
        #expect(debian.sshd.userGroupModes?.location.path == "/var/lib/dpkg/status")
        #expect(debian.sshdAtBoot.login.state == .holds, "\(debian.sshdAtBoot.login)")
        #expect(debian.sshd.strictModes.isEmpty, "\(debian.sshd.strictModes)")

        let (rhel, _) = try variant("ssh-login-impossible", "ssh-dir-private-group-writable.pass") { root in
            try FileManager.default.removeItem(at: root.appendingPathComponent("var/lib/dpkg/status"))
        }
        #expect(rhel.sshd.userGroupModes == nil)
        #expect(rhel.sshdAtBoot.login.state == .broken, "\(rhel.sshdAtBoot.login)")
        #expect(rhel.sshd.strictModes.map(\.path) == ["/home/alice/.ssh"])

        // Without a package database, Debian's version string in the binary decides.
        let (bin, _) = try variant("ssh-login-impossible", "ssh-dir-private-group-writable.pass") { root in
            try FileManager.default.removeItem(at: root.appendingPathComponent("var/lib/dpkg/status"))
            try write("fixture sshd\0OpenSSH_9.2p1 Debian-2+deb12u3\0/run/sshd\0", to: root.appendingPathComponent("usr/sbin/sshd"))
            chmod(root.appendingPathComponent("usr/sbin/sshd").path, 0o755)
        }
        #expect(bin.sshd.userGroupModes?.location.path == "/usr/sbin/sshd")
        #expect(bin.sshdAtBoot.login.state == .holds, "\(bin.sshdAtBoot.login)")

        let (others, _) = try variant("ssh-login-impossible", "ssh-dir-private-group-writable.pass") { root in
            chmod(root.appendingPathComponent("home/alice/.ssh").path, 0o777)
        }
        #expect(others.sshdAtBoot.login.state == .broken)
        #expect(others.sshd.strictModes.first?.why.hasPrefix("is writable by others") == true, "\(others.sshd.strictModes)")

        let (empty, _) = try variant("ssh-login-impossible", "ssh-dir-private-group-writable.pass") { root in
            // A group nobody is in (a setgid program's): refused.
            chown(root.appendingPathComponent("home/alice/.ssh").path, 1000, 4242)
            try write("root:x:0:\nalice:x:1000:\ngames:x:4242:\n", to: root.appendingPathComponent("etc/group"))
        }
        #expect(empty.sshdAtBoot.login.state == .broken)
        #expect(empty.sshd.strictModes.first?.why.contains("no member") == true, "\(empty.sshd.strictModes)")

        let shared = try scenario("ssh-login-impossible", "ssh-dir-shared-group-writable.fail")
        #expect(shared.sshd.strictModes.first?.why.contains("users, which has other members (bob)") == true, "\(shared.sshd.strictModes)")
        let member = try scenario("ssh-login-impossible", "ssh-dir-private-group-with-member.fail")
        #expect(member.sshd.strictModes.first?.why.contains("alice, which has other members (bob)") == true, "\(member.sshd.strictModes)")
    }

    /// A directive after a trailing Match applies only inside it.
    @Test func trailingMatchAppliesOnlyToItsUser() throws {
        let (s, _) = try variant("ssh-login-impossible", "no-keys-password-off.fail") { root in
            let conf = root.appendingPathComponent("etc/ssh/sshd_config")
            // Password login off globally, on for alice only; then for bob only: alice stays on.
            try write(String(contentsOf: conf, encoding: .utf8) + "Match User alice\nPasswordAuthentication yes\nMatch User bob\nPasswordAuthentication no\n", to: conf)
        }
        #expect(s.sshdAtBoot.login.state == .holds, "\(s.sshdAtBoot.login)")
        let (t, _) = try variant("ssh-login-impossible", "no-keys-password-off.fail") { root in
            let conf = root.appendingPathComponent("etc/ssh/sshd_config")
            try write(String(contentsOf: conf, encoding: .utf8) + "Match User bob\nPasswordAuthentication yes\n", to: conf)
        }
        #expect(t.sshdAtBoot.login.state == .broken, "\(t.sshdAtBoot.login)")
    }

    /// An sshd_config that includes itself twice per level would be 2^16
    /// reads if followed blindly; sshd refuses it, and so does the model,
    /// after reading each file once.
    @Test func selfIncludingConfigIsBoundedAndRefused() throws {
        let dir = try makeTempDir("sshd-fanout")
        defer { try? FileManager.default.removeItem(at: dir) }
        try write("Include /etc/ssh/sshd_config /etc/ssh/a.conf /etc/ssh/sshd_config\n", to: dir.appendingPathComponent("etc/ssh/sshd_config"))
        try write("Include /etc/ssh/a.conf /etc/ssh/sshd_config /etc/ssh/a.conf\n", to: dir.appendingPathComponent("etc/ssh/a.conf"))
        let m = SshdConfigModel.load(try TargetRoot(directory: dir.path))
        #expect(!m.accepted)
        #expect(m.files.count <= 3, "\(m.files)")
        // A wide tree without loops stops at the budget.
        for i in 0..<30 {
            try write((0..<30).map { "Include /etc/ssh/leaf\($0).conf" }.joined(separator: "\n") + "\n",
                      to: dir.appendingPathComponent("etc/ssh/mid\(i).conf"))
            try write("MaxSessions 4\n", to: dir.appendingPathComponent("etc/ssh/leaf\(i).conf"))
        }
        try write("Include /etc/ssh/mid*.conf\n", to: dir.appendingPathComponent("etc/ssh/sshd_config"))
        let wide = SshdConfigModel.load(try TargetRoot(directory: dir.path))
        #expect(wide.files.count <= SshdConfigModel.fileBudget + 1)
        #expect(wide.diagnostics.contains { $0.message.contains("included files") })
    }

    @Test func elfNeededReadsTheDynamicSection() throws {
        let ls = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "/bin/ls")))
        let needed = try #require(ELFNeeded.libraries(ls))
        #expect(needed.contains("libc.so.6"), "\(needed)")
        #expect(ELFNeeded.libraries(Array("#!/bin/sh\n".utf8)) == nil)
        // Truncated and garbled headers never trap.
        for cut in [16, 52, 64, 200, 4096] where cut < ls.count { _ = ELFNeeded.libraries(Array(ls.prefix(cut))) }
        var garbled = ls
        for i in stride(from: 0x20, to: min(0x40, garbled.count), by: 1) { garbled[i] = 0xff }
        _ = ELFNeeded.libraries(garbled)
        // Debian 12's sshd still links libwrap, so hosts.deny applies to it.
        if FileManager.default.fileExists(atPath: SshdOracle.sshd) {
            let sshd = [UInt8](try Data(contentsOf: URL(fileURLWithPath: SshdOracle.sshd)))
            #expect(ELFNeeded.libraries(sshd)?.contains("libwrap.so.0") == true)
        }
    }

    @Test func hostsDenyRefusesSshdOnlyWithLibwrap() throws {
        let deny = HostsAccessParser.parse(Array("# comment\nsshd: ALL\nALL: 10.0.0.0/8 \\\n  192.0.2.0/24\n".utf8), path: "/etc/hosts.deny")
        #expect(deny.count == 2)
        #expect(deny[0].appliesTo("sshd") && deny[0].everyClient)
        #expect(deny[1].appliesTo("sshd") && !deny[1].everyClient)
        #expect(deny[1].clients == ["10.0.0.0/8", "192.0.2.0/24"])
        #expect(!HostsAccessParser.parse(Array("ALL EXCEPT sshd: ALL\n".utf8), path: "/etc/hosts.deny")[0].appliesTo("sshd"))
    }

    @Test func accountParsers() {
        let pw = AccountParsers.passwd(Array("root:x:0:0:root:/root:/bin/bash\nbad line\nbob:x:1001:1001::/home/bob:\n".utf8), path: "/etc/passwd")
        #expect(pw.entries.map(\.name) == ["root", "bob"])
        #expect(pw.diagnostics.count == 1)
        let sh = AccountParsers.shadow(Array("root:*:1::::::\nbob:$y$j9T$abc$def:1::::::\ncarol:!$6$x$y:1::::::\ndan::1::::::\n".utf8), path: "/etc/shadow")
        #expect(sh.map(\.password) == [.locked, .usable, .locked, .empty])
        #expect(!sh[1].source.text.contains("$y$"), "the hash never reaches evidence")
    }
}

/// The healthy roots: sshd starts, listens on 22 and someone gets in.
@Suite struct SSHDHealthyRootTests {
    @Test(arguments: HealthyRootTests.names)
    func healthyRootsLetSomeoneIn(_ name: String) throws {
        let s = SystemSnapshot.load(root: try TargetRoot(directory: HealthyRootTests.url(name).path))
        let b = s.sshdAtBoot
        #expect(b.starts.state == .holds, "\(name): \(b.starts)")
        #expect(b.listens.state == .holds, "\(name): \(b.listens)")
        #expect(b.ports.map(\.value) == [22], "\(name)")
        if name.hasPrefix("debian") {
            #expect(b.login.state == .holds, "\(name): \(b.login)")
            #expect(s.sshd.linksLibwrap == nil, "the fixture's sshd is a 0-byte placeholder: libwrap cannot be known")
        } else {
            // The hand-written RHEL root has no /etc/passwd.
            #expect(b.login.state == .cannotTell, "\(name): \(b.login)")
        }
    }
}
