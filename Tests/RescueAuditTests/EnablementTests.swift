import Foundation
import Parsers
import SystemModel
import TargetAccess
import Testing

func enablementFixture(_ name: String) throws -> UnitEnablement {
    UnitEnablement.load(try TargetRoot(directory: Repo.fixtures.appendingPathComponent("enablement/\(name)").path))
}

/// The symlinks Debian 12's `systemctl enable systemd-networkd.service`
/// creates (systemd 252.39, run with `--root` on a copy of the fixture).
let debian12NetworkdEnableLinks: [String] = [
    "/etc/systemd/system/dbus-org.freedesktop.network1.service -> /lib/systemd/system/systemd-networkd.service",
    "/etc/systemd/system/multi-user.target.wants/systemd-networkd.service -> /lib/systemd/system/systemd-networkd.service",
    "/etc/systemd/system/sockets.target.wants/systemd-networkd.socket -> /lib/systemd/system/systemd-networkd.socket",
    "/etc/systemd/system/sysinit.target.wants/systemd-network-generator.service -> /lib/systemd/system/systemd-network-generator.service",
    "/etc/systemd/system/network-online.target.wants/systemd-networkd-wait-online.service -> /lib/systemd/system/systemd-networkd-wait-online.service",
]

@Suite struct EnablementTests {
    @Test func enabledByWantsLink() throws {
        let e = try enablementFixture("debian12")
        let fact = try #require(e.isEnabled("ssh"))
        #expect(fact.kind == .wants)
        #expect(fact.linkPath == "/etc/systemd/system/multi-user.target.wants/ssh.service")
        #expect(fact.wantedBy == "multi-user.target")
        #expect(fact.linkTarget == "/lib/systemd/system/ssh.service")
        #expect(fact.targetExists)
        #expect(e.startsAtBoot("ssh.service") != nil)
    }

    @Test func requiresLinkEnables() throws {
        let e = try enablementFixture("debian12")
        let fact = try #require(e.isEnabled("networking.service"))
        #expect(fact.kind == .requires)
        #expect(fact.wantedBy == "network-online.target")
    }

    @Test func aliasResolvesToItsUnit() throws {
        let e = try enablementFixture("debian12")
        #expect(e.canonicalName("sshd") == "ssh.service")
        // Asking by the alias finds the unit's wants link.
        #expect(e.isEnabled("sshd.service")?.linkPath == "/etc/systemd/system/multi-user.target.wants/ssh.service")
        #expect(e.links.contains { $0.kind == .alias && $0.linkPath == "/etc/systemd/system/sshd.service" && $0.unit == "ssh.service" })
        #expect(e.unitFile("sshd")?.path == "/lib/systemd/system/ssh.service")
    }

    @Test func presetIsNotEnablement() throws {
        let e = try enablementFixture("debian12")
        // 90-systemd.preset says "enable systemd-networkd.service"; no link exists.
        #expect(e.isEnabled("systemd-networkd") == nil)
        #expect(e.startsAtBoot("systemd-networkd") == nil)
        #expect(e.unitFile("systemd-networkd")?.path == "/lib/systemd/system/systemd-networkd.service")
    }

    @Test func maskedBeatsWantsLink() throws {
        let e = try enablementFixture("debian12")
        let mask = try #require(e.isMasked("NetworkManager"))
        #expect(mask.linkPath == "/etc/systemd/system/NetworkManager.service")
        #expect(mask.linkTarget == "/dev/null")
        #expect(e.isEnabled("NetworkManager") == nil)
        #expect(e.unitFile("NetworkManager.service") == nil)
    }

    @Test func staticVendorWantsAndDanglingLinks() throws {
        let e = try enablementFixture("debian12")
        #expect(e.isEnabled("getty.target")?.kind == .staticWants)
        #expect(e.isEnabled("getty.target")?.linkPath == "/lib/systemd/system/multi-user.target.wants/getty.target")
        let gone = try #require(e.isEnabled("gone"))
        #expect(!gone.targetExists)
        // A regular file in a .wants directory enables nothing and is reported.
        #expect(e.isEnabled("stray") == nil)
        #expect(e.diagnostics.contains { $0.location.path == "/etc/systemd/system/multi-user.target.wants/stray.service" })
    }

    @Test func enableLinksFromRealDebianInstallSection() throws {
        let e = try enablementFixture("debian12")
        let links = e.enableLinks(for: "systemd-networkd").map { "\($0.linkPath) -> \($0.target)" }
        #expect(links == debian12NetworkdEnableLinks)
        #expect(e.enableLinks(for: "sshd").map { "\($0.linkPath) -> \($0.target)" } == [
            "/etc/systemd/system/sshd.service -> /lib/systemd/system/ssh.service",
            "/etc/systemd/system/multi-user.target.wants/ssh.service -> /lib/systemd/system/ssh.service",
        ])
        // A unit without [Install] cannot be enabled: no links.
        #expect(e.enableLinks(for: "getty.target").isEmpty)
    }

    @Test func mergedUsr() throws {
        let e = try enablementFixture("merged-usr")
        #expect(e.isEnabled("systemd-networkd")?.linkPath == "/etc/systemd/system/multi-user.target.wants/systemd-networkd.service")
        // /lib is a symlink to usr/lib: found through /lib first, as systemd 252 does, and listed once.
        #expect(e.unitFile("systemd-networkd.service")?.path == "/lib/systemd/system/systemd-networkd.service")
        #expect(e.enableLinks(for: "systemd-networkd.service").map { "\($0.linkPath) -> \($0.target)" } == debian12NetworkdEnableLinks)
        #expect(e.netplanGenerator == "/lib/systemd/system-generators/netplan")
    }

    @Test func generatorsFound() throws {
        #expect(try enablementFixture("debian12").netplanGenerator == "/lib/systemd/system-generators/netplan")
    }

    @Test func sysvinitLinksAndRunlevel() throws {
        let e = try enablementFixture("debian12")
        let link = try #require(e.isEnabledSysV("networking"))
        #expect(link.runlevel == "S")
        #expect(link.linkPath == "/etc/rcS.d/S01networking")
        #expect(e.isEnabledSysV("ssh")?.runlevel == "2")
        #expect(e.sysvLinks.contains { $0.script == "networking" && !$0.starts && $0.runlevel == "0" })
        #expect(e.isEnabledSysV("cron") == nil)
        #expect(e.defaultRunlevel?.value == "2")
        #expect(e.defaultRunlevel?.location == SourceLocation(path: "/etc/inittab", line: 2))
        #expect(e.diagnostics.contains { $0.location == SourceLocation(path: "/etc/inittab", line: 5) })
    }

    /// The oracle: the real `systemctl --root` on a copy of each fixture
    /// creates exactly the links we predict. Skipped where systemctl is
    /// absent, except in CI (CI=true), where that fails.
    @Test(arguments: ["debian12", "merged-usr"])
    func systemctlAgrees(fixture: String) throws {
        let systemctl = ["/usr/bin/systemctl", "/bin/systemctl"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let systemctl else {
            #expect(!mustRunPrivileged, "systemctl is not installed (Debian package systemd, in .ci/packages)")
            return
        }
        let tmp = try makeTempDir("enablement-oracle")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let copy = tmp.appendingPathComponent("root")
        try run("/bin/cp", ["-a", Repo.fixtures.appendingPathComponent("enablement/\(fixture)").path, copy.path])
        let before = Set(try symlinks(under: copy.appendingPathComponent("etc/systemd/system")))
        let predicted = UnitEnablement.load(try TargetRoot(directory: copy.path)).enableLinks(for: "systemd-networkd.service")
        let out = try run(systemctl, ["--root=\(copy.path)", "enable", "systemd-networkd.service"])
        #expect(out.status == 0, "\(out.stderr)")
        let after = Set(try symlinks(under: copy.appendingPathComponent("etc/systemd/system")))
        let expected = Set(predicted.map { "\($0.linkPath) -> \($0.target)" })
        // systemctl creates what is missing; links already there (merged-usr's wants link) stay.
        #expect(after.subtracting(before).isSubset(of: expected))
        #expect(expected.isSubset(of: after))
        #expect(predicted.count == 5)
    }

    private func symlinks(under dir: URL) throws -> [String] {
        let root = dir.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        var out: [String] = []
        let fm = FileManager.default
        guard let walker = fm.enumerator(atPath: dir.path) else { return [] }
        for case let rel as String in walker {
            let full = dir.appendingPathComponent(rel).path
            if let dest = try? fm.destinationOfSymbolicLink(atPath: full) {
                out.append("\(String(full.dropFirst(root.count))) -> \(dest)")
            }
        }
        return out
    }
}
