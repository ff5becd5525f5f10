import Foundation
import Parsers
import Plan
@testable import Rules
import SystemModel
import TargetAccess
import Testing

/// Details of the boot rules that the scenarios do not pin down: what the
/// fixes write, what is skipped, and how findings link.
@Suite struct BootRulesTests {
    func audit(_ files: [String: String], environment: AuditEnvironment? = nil, kind: TargetKind = .image) throws -> (AuditResult, URL) {
        let root = try makeTempDir("boot-rules")
        for (path, text) in files { try write(text, to: root.appendingPathComponent(String(path.dropFirst()))) }
        let system = SystemSnapshot.load(root: try TargetRoot(directory: root.path), kind: environment == nil ? .directory : kind,
                                         environment: environment ?? AuditEnvironment())
        return (AuditResult.run(system), root)
    }

    @Test func nofailIsAddedWhereverTheOptionsAre() {
        #expect(FstabDeviceMissing.addingNofail(to: "UUID=x /srv ext4 defaults 0 2") == "UUID=x /srv ext4 defaults,nofail 0 2")
        #expect(FstabDeviceMissing.addingNofail(to: "UUID=x\t/srv\text4\tdefaults\t0\t2") == "UUID=x\t/srv\text4\tdefaults,nofail\t0\t2")
        #expect(FstabDeviceMissing.addingNofail(to: "UUID=x /srv ext4") == "UUID=x /srv ext4 defaults,nofail")
        #expect(FstabDeviceMissing.addingNofail(to: "UUID=x /srv") == "UUID=x /srv auto defaults,nofail")
        #expect(FstabDeviceMissing.replacingField(0, in: "  LABEL=my\\040data   /data xfs", with: "UUID=abc") == "  UUID=abc   /data xfs")
        #expect(FstabDeviceMissing.spec("/dev/disk/by-uuid/old", for: BlockDeviceFact(name: "/dev/vdb1", uuid: "new")) == "/dev/disk/by-uuid/new")
        #expect(FstabDeviceMissing.spec("/dev/sdb1", for: BlockDeviceFact(name: "/dev/vdb1", uuid: "new")) == "UUID=new")
        #expect(FstabDeviceMissing.spec("LABEL=a", for: BlockDeviceFact(name: "/dev/vdb1", label: "with space")) == nil)
    }

    @Test func partitionNames() {
        #expect(FstabDeviceMissing.partitionNumber("/dev/sda3") == 3)
        #expect(FstabDeviceMissing.partitionNumber("/dev/nvme0n1p2") == 2)
        #expect(FstabDeviceMissing.partitionNumber("/dev/xvda1") == 1)
        #expect(FstabDeviceMissing.partitionNumber("/dev/mmcblk0p1") == 1)
        #expect(FstabDeviceMissing.partitionNumber("/dev/md0") == nil)
        #expect(FstabDeviceMissing.partitionNumber("/dev/mapper/vg0-root") == nil)
        #expect(FstabDeviceMissing.partitionNumber("/dev/nvme0n1") == nil)
    }

    @Test func directoryTargetSaysItCouldNotCheck() throws {
        let (result, root) = try audit(["/etc/fstab": "UUID=0a0b /srv ext4 defaults 0 2\ntmpfs /tmp tmpfs defaults 0 0\n"])
        defer { try? FileManager.default.removeItem(at: root) }
        let f = try #require(result.findings.first { $0.rule == FstabDeviceMissing.id })
        #expect(f.severity == .info && f.message.contains("could not be checked"))
        #expect(f.evidence.map(\.line) == [1])
        // Nothing that needs a device: nothing to say.
        let (quiet, root2) = try audit(["/etc/fstab": "proc /proc proc defaults 0 0\n"])
        defer { try? FileManager.default.removeItem(at: root2) }
        #expect(!quiet.findings.contains { $0.rule == FstabDeviceMissing.id })
    }

    @Test func closestDeviceFirstAndSwapAndRootAreMedium() throws {
        let env = AuditEnvironment(blockDevices: [
            BlockDeviceFact(name: "/dev/vdc1", fsType: "xfs", uuid: "ffff0000-0000-4000-8000-000000000000", partition: 1, disk: "/dev/vdc"),
            BlockDeviceFact(name: "/dev/vdb1", fsType: "ext4", uuid: "0a0b0c0d-dead-4bee-8f00-112233445599", partition: 1, disk: "/dev/vdb"),
            BlockDeviceFact(name: "/dev/vdb2", fsType: "ext4", uuid: "99990c0d-0000-4bee-8f00-000000000000", partition: 2, disk: "/dev/vdb"),
        ])
        let (result, root) = try audit(["/etc/fstab": """
            UUID=1111 / ext4 defaults 0 1
            UUID=0a0b0c0d-dead-4bee-8f00-112233445566 /srv ext4 defaults 0 2
            UUID=2222 none swap sw 0 0
            """], environment: env, kind: .device)
        defer { try? FileManager.default.removeItem(at: root) }
        let findings = result.findings.filter { $0.rule == FstabDeviceMissing.id }
        #expect(findings.map(\.severity) == [.critical, .medium, .medium])
        let srv = try #require(findings.first)
        #expect(srv.evidence[1].text.hasPrefix("probed: /dev/vdb1 TYPE=ext4 UUID=0a0b0c0d-dead-4bee-8f00-112233445599"), "\(srv.evidence.map(\.text))")
        #expect(srv.evidence[1].note == "closest match")
        // Two unclaimed ext4 devices: no guess, nofail instead.
        #expect(result.plan.actions.contains { $0.summary.contains("Add nofail") })
        #expect(srv.names == ["/srv"])
    }

    /// A log line about a unit or file links to the finding about it, both ways.
    @Test func lastBootErrorsLinkToTheFindingAboutTheSameMount() throws {
        let env = AuditEnvironment(blockDevices: [BlockDeviceFact(name: "/dev/vda1", fsType: "ext4", uuid: "1111", partition: 1, disk: "/dev/vda")])
        let (result, root) = try audit([
            "/etc/fstab": "UUID=1111 / ext4 defaults 0 1\nUUID=dead /srv ext4 defaults 0 2\n",
            "/var/log/syslog": "Apr  6 01:03:10 h kernel: [    0.000000] Linux version 6.1.0-18-amd64\nApr  6 01:03:12 h systemd[1]: Failed to mount srv.mount - /srv.\n",
        ], environment: env, kind: .device)
        defer { try? FileManager.default.removeItem(at: root) }
        let fstab = try #require(result.findings.first { $0.rule == FstabDeviceMissing.id })
        let logs = try #require(result.findings.first { $0.rule == LastBootErrors.id })
        #expect(fstab.related == [LastBootErrors.id])
        #expect(logs.related == [FstabDeviceMissing.id])
        #expect(logs.evidence.first?.line == 2)
        // The JSON report carries the link.
        #expect(FindingLinks.containsWord("UUID=dead /srv ext4", "/srv"))
        #expect(!FindingLinks.containsWord("UUID=dead /srv2 ext4", "/srv"))
        #expect(FindingLinks.containsWord("Failed to mount /srv.", "/srv"))
    }

    @Test func filesystemCheckCommandsAndSeverity() throws {
        func ext(errors: Int, state: UInt16, mounts: Int = 1, max: Int = -1) -> ExtSuperblock {
            ExtSuperblock(state: state, mountCount: mounts, maxMountCount: max, lastCheck: 0, checkInterval: 0, errorCount: errors,
                          firstError: nil, lastError: errors > 0 ? .init(time: 1_712_365_397, function: "ext4_lookup", line: 1855, inode: 12, block: 0) : nil,
                          needsRecovery: false, hasJournal: true, uuid: "u", label: "")
        }
        let env = AuditEnvironment(filesystems: [
            FilesystemHealth(mountPoint: "/", device: "/dev/vda1", fsType: "ext4", ext: ext(errors: 0, state: 1), checkCommands: ["e2fsck -f /dev/vda1"]),
            FilesystemHealth(mountPoint: "/var", device: "/dev/vda2", fsType: "ext4", ext: ext(errors: 3, state: 3), checkCommands: ["e2fsck -f /dev/vda2"]),
            FilesystemHealth(mountPoint: "/srv", device: "/dev/vda3", fsType: "ext4", ext: ext(errors: 0, state: 1, mounts: 40, max: 30), checkCommands: ["e2fsck -f /dev/vda3"]),
        ])
        let (result, root) = try audit(["/etc/fstab": "/dev/vda2 /var ext4 defaults 0 0\n"], environment: env)
        defer { try? FileManager.default.removeItem(at: root) }
        let found = result.findings.filter { $0.rule == FilesystemNeedsCheck.id }
        #expect(found.map(\.severity) == [.high, .medium])
        let v = try #require(found.first)
        #expect(v.message.contains("3 errors, the last at 2024-04-06 01:03:17 UTC in ext4_lookup:1855 (inode 12)"), "\(v.message)")
        #expect(v.atBoot.contains("pass 0"))
        guard case .manual(_, let commands)? = result.plan.actions.first(where: { $0.rules.contains(FilesystemNeedsCheck.id) })?.operation else {
            Issue.record("a manual step")
            return
        }
        #expect(commands == ["e2fsck -f /dev/vda2"])
        #expect(result.plan.automaticActions.isEmpty, "the script never checks a filesystem")
    }

    @Test func halfInstalledNeedsAReinstallFromTheCache() throws {
        let (result, root) = try audit([
            "/var/lib/dpkg/status": "Package: libc6\nStatus: install reinstreq half-installed\nArchitecture: amd64\nVersion: 2.36-9+deb12u7\n\nPackage: tzdata\nStatus: install ok unpacked\nVersion: 2024a-0+deb12u1\n",
            "/var/cache/apt/archives/libc6_2.36-9+deb12u7_amd64.deb": "not really a deb\n",
        ])
        defer { try? FileManager.default.removeItem(at: root) }
        let found = result.findings.filter { $0.rule == PackageTransactionInterrupted.id }
        #expect(found.count == 2)
        let commands = result.plan.actions.compactMap { a -> [String]? in
            if case .manual(_, let c) = a.operation { return c.map(\.text) }
            return nil
        }.flatMap { $0 }
        #expect(commands.contains("chroot \"$ROOT\" dpkg -i /var/cache/apt/archives/libc6_2.36-9+deb12u7_amd64.deb"), "\(commands)")
        #expect(result.plan.automaticActions.contains { if case .chroot(let c, _, _, _) = $0.operation { c == ["dpkg", "--configure", "-a"] } else { false } })
    }
}
