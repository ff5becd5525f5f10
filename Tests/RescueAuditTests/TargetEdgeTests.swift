import Foundation
import Testing
@testable import Discovery
@testable import RescueAuditCLI
import Report
import RescueSys
import TargetAccess

/// Targets at the edges: nothing left behind by a kill, directories that
/// are not roots, partition tables Linux reads in its own way, refused
/// mounts, other filesystems mounted inside a target, and the host files
/// the tool writes.
@Suite struct TargetEdgeTests {
    static let root = Repo.example

    // MARK: - Directories that are not roots

    @Test func anEmptyDirectoryIsNotALinuxRoot() throws {
        let w = try makeTempDir("not-a-root")
        defer { try? FileManager.default.removeItem(at: w) }
        for name in ["empty", "x.img"] {
            let dir = w.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let out = try rescueAudit(["audit", dir.path])
            #expect(out.status == 2, "\(name): \(out.stdout)")
            #expect(out.stderr.contains("is not a Linux root"), "\(out.stderr)")
        }
    }

    // MARK: - Files the tool writes on the host

    @Test func outputNeverFollowsASymlink() throws {
        let w = try makeTempDir("output-symlink")
        defer { try? FileManager.default.removeItem(at: w) }
        let victim = w.appendingPathComponent("victim")
        try write("precious\n", to: victim)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: victim.path)
        let link = w.appendingPathComponent("repair.sh")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: victim.path)
        let dangling = w.appendingPathComponent("dangling.sh")
        try FileManager.default.createSymbolicLink(atPath: dangling.path, withDestinationPath: w.appendingPathComponent("made-through-link").path)
        for args in [["plan", Self.root.path, "-o", link.path], ["audit", Self.root.path, "--script", link.path],
                     ["plan", Self.root.path, "-o", dangling.path]] {
            let out = try rescueAudit(args)
            #expect(out.status == 2, "\(args): refused")
            #expect(out.stderr.contains("symbolic link"), "\(out.stderr)")
        }
        #expect(try String(contentsOf: victim, encoding: .utf8) == "precious\n")
        #expect((try FileManager.default.attributesOfItem(atPath: victim.path)[.posixPermissions] as? Int) == 0o600)
        #expect(!FileManager.default.fileExists(atPath: w.appendingPathComponent("made-through-link").path))
        // A regular file is replaced, with the script's mode; nothing else is left in the directory.
        let plain = w.appendingPathComponent("plain.sh")
        try write("old\n", to: plain)
        #expect(try rescueAudit(["plan", Self.root.path, "-o", plain.path]).status == 0)
        #expect(try String(contentsOf: plain, encoding: .utf8).hasPrefix("#!/bin/sh\n"))
        #expect((try FileManager.default.attributesOfItem(atPath: plain.path)[.posixPermissions] as? Int) == 0o755)
        let names = try FileManager.default.contentsOfDirectory(atPath: w.path).sorted()
        #expect(names == ["dangling.sh", "plain.sh", "repair.sh", "victim"], "\(names)")
    }

    @Test func undoWorksWhenVarBackupsIsASymlink() throws {
        for link in ["/srv/backups", "../srv/backups"] {
            let work = try makeTempDir("undo-symlink")
            defer { try? FileManager.default.removeItem(at: work) }
            let root = work.appendingPathComponent("root")
            try copyTree(Self.root, to: root)
            try FileManager.default.createDirectory(at: root.appendingPathComponent("srv/backups"), withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: root.appendingPathComponent("var"), withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("var/backups").path, withDestinationPath: link)
            let (result, system) = try auditDirectory(root)
            #expect(!result.plan.automaticActions.isEmpty)
            let script = try ScriptUnderTest(RepairScript.render(result, context: testContext(root.path), osName: system.osName), in: work)
            let original = try manifest(root, excluding: ["/srv/backups/rescue-audit"])
            let first = try script.run(root: root)
            #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
            let base = root.appendingPathComponent("srv/backups/rescue-audit")
            let stamps = try FileManager.default.contentsOfDirectory(atPath: base.path).filter { $0 != "done" }
            #expect(stamps.count == 1, "backups went through the link: \(stamps)")
            let undo = base.appendingPathComponent(try #require(stamps.first)).appendingPathComponent("undo.sh").path
            try expectShellcheckClean(undo)
            let u = try run("/bin/sh", [undo], environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"])
            #expect(u.status == 0, "undo with /var/backups -> \(link): \(u.stdout)\(u.stderr)")
            #expect(try manifest(root, excluding: ["/srv/backups/rescue-audit"]) == original, "undo.sh restored every byte")
        }
    }

    // MARK: - How the target is named

    @Test func theImageHintNamesTheImageFileAndItsPartition() throws {
        let (result, system) = try auditDirectory(Self.root)
        var context = testContext("/srv/disk.img partition 2", kind: .image)
        context.device = "/srv/disk.img"
        context.partition = 2
        let text = RepairScript.render(result, context: context, osName: system.osName)
        let hint = try #require(text.split(separator: "\n").first { $0.contains("losetup --find --show --partscan") })
        #expect(hint.contains("--partscan /srv/disk.img'") || hint.contains("--partscan /srv/disk.img\""), "\(hint)")
        #expect(!hint.contains("partition"), "\(hint)")
        #expect(text.contains("/dev/loopNp2"))
    }

    @Test func aDiscoveredRootIsNamedByItsDeviceNeverByANamespacePath() throws {
        let d = TargetDescription(kind: .discovered, source: nil, device: "/dev/vda2", partition: 2, uuid: "0a1b2c3d-0000-4000-8000-000000000001",
                                  fsType: "ext4", subvolume: nil, osName: nil, osVersion: nil, submounts: [])
        let options = try TargetOptions.parse([])
        let naming = TargetNaming(d, options: options)
        #expect(naming.target == "/dev/vda2")
        #expect(naming.rerun == ["/dev/vda2"])
        let image = TargetDescription(kind: .image, source: "/srv/disk.img", device: "/srv/disk.img", partition: 3, uuid: nil,
                                      fsType: "ext4", subvolume: nil, osName: nil, osVersion: nil, submounts: [])
        let chosen = TargetNaming(image, options: try TargetOptions.parse(["--root", "3"]))
        #expect(chosen.target == "/srv/disk.img partition 3")
        #expect(chosen.rerun == ["/srv/disk.img", "--root", "3"])
    }

    // MARK: - Partition tables as Linux reads them

    @Test func partitionEntriesAreTakenAsLinuxTakesThem() {
        func part(_ start: Int64, _ size: Int64) -> BlkidPartition {
            BlkidPartition(number: 1, start: start, size: size, type: nil, partUUID: nil, partLabel: nil)
        }
        let backwards = DeviceProber.asLinuxSeesIt(part(1 << 20, -24064), diskSize: 64 << 20)
        #expect(backwards.0.size == 0 && backwards.1?.contains("ends before it starts") == true)
        let past = DeviceProber.asLinuxSeesIt(part(1 << 20, 100 << 20), diskSize: 64 << 20)
        #expect(past.0.size == 63 << 20 && past.1?.contains("truncates") == true)
        let beyond = DeviceProber.asLinuxSeesIt(part(80 << 20, 1 << 20), diskSize: 64 << 20)
        #expect(beyond.0.size == 0)
        let fine = DeviceProber.asLinuxSeesIt(part(1 << 20, 8 << 20), diskSize: 64 << 20)
        #expect(fine.0.size == 8 << 20 && fine.1 == nil)
        let overflow = DeviceProber.asLinuxSeesIt(part(1 << 20, Int64.max), diskSize: 64 << 20)
        #expect(overflow.0.size == 63 << 20)
    }

    @Test(.enabled(if: discoveryLoopTestsEnabled, discoverySkipReason))
    func aRefusedMountIsNamedInTheError() throws {
        let w = try Workdir()
        let image = "\(w.path)/bad.img"
        // An ext4 whose superblock claims a feature no kernel knows: blkid
        // says ext4, mount says EINVAL.
        try makeGPTImage(image, parts: [PartSpec(sizeMiB: 16, name: "root", content: .ext4(tree: nil, uuid: "9b4f2d6e-1c0a-4e59-8f3b-2a7d00c10e02"))])
        // s_feature_incompat is at 0x60 of the superblock (1024 bytes into the partition at 1 MiB): set an unknown bit.
        try sh("printf '\\000\\000\\000\\200' | dd of='\(image)' bs=1 seek=$((1048576 + 1024 + 0x60)) conv=notrunc status=none")
        let out = try rescueAudit(["audit", image])
        #expect(out.status == 2)
        #expect(out.stderr.contains("mounting failed"), "\(out.stderr)")
        #expect(out.stderr.contains("Invalid argument") || out.stderr.contains("mount "), "what mount said: \(out.stderr)")
        try expectNothingLeft(w.path, inProcess: false)
    }

    // MARK: - Other filesystems mounted inside a directory target

    @Test(.enabled(if: discoveryLoopTestsEnabled, discoverySkipReason))
    func aLiveProcInsideATargetIsNotRead() throws {
        let work = try makeTempDir("live-proc")
        defer { try? FileManager.default.removeItem(at: work) }
        let root = work.appendingPathComponent("root")
        try copyTree(Self.root, to: root)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("proc"), withIntermediateDirectories: true)
        // fstab is a link into /proc: with a live procfs there, the host's mounts.
        let fstab = root.appendingPathComponent("etc/fstab")
        try? FileManager.default.removeItem(at: fstab)
        try FileManager.default.createSymbolicLink(atPath: fstab.path, withDestinationPath: "/proc/self/mounts")
        let ns = try PrivateMountNamespace.shared()
        let procDir = root.appendingPathComponent("proc").path
        let mounted: Result<Void, SysError> = ns.run { Result { () throws(SysError) in try sysMountReadOnly(source: "proc", target: procDir, fsType: "proc", options: "") } }
        try mounted.get()
        defer { ns.run { Mounter.unmount(procDir) } }
        let target = try TargetRoot(directory: ns.reachable(root.path))
        if case .skipped(.otherMount) = target.read("/etc/fstab") {} else {
            Issue.record("a file on a procfs mounted in the target was read: \(target.read("/etc/fstab"))")
        }
        // Under /proc, which the next boot mounts afresh, another mount's files are simply absent.
        #expect(target.read("/proc/self/mountinfo").file == nil, "/proc/self/mountinfo was read through the target")
        #expect(target.list("/proc") == nil)
        #expect(!target.skippedReads.contains { $0.path.hasPrefix("/proc") }, "absent, not a skip: \(target.skippedReads)")
        #expect(target.skippedReads.contains { $0.path == "/etc/fstab" && $0.reason.contains("mounted inside the target") })
        #expect(target.bytes("/etc/os-release") != nil, "the target's own files are read")
    }
}

/// Image tests that open targets in this process: they run in the serialized
/// discovery suite, so that "nothing left" checks see only their own mounts.
extension DiscoveryImageTests {
    @Test(.enabled(if: discoveryLoopTestsEnabled, discoverySkipReason))
    func anMBRPartitionPastTheImageEndIsStillAudited() throws {
        let w = try Workdir()
        let tree = "\(w.path)/tree"
        try makeRootTree(tree)
        let image = "\(w.path)/mbr.img"
        // An 8 MiB ext4 whose table entry claims 64 MiB, in an image cut after the filesystem.
        try sh("""
        truncate -s 8M '\(image).p1'
        mkfs.ext4 -q -F -d '\(tree)' '\(image).p1'
        truncate -s 65M '\(image)'
        printf 'label: dos\\nstart=2048, size=131072, type=83\\n' | sfdisk -q '\(image)' >/dev/null
        dd if='\(image).p1' of='\(image)' bs=1M seek=1 conv=notrunc status=none
        rm -f '\(image).p1'
        truncate -s 9M '\(image)'
        """)
        let devices = try DeviceProber.probe(paths: [image])
        let p = try #require(devices.first?.partitions.first)
        #expect(p.filesystem?.type == "ext4", "Linux truncates the partition and mounts it")
        #expect(p.size == 8 << 20)
        #expect(p.problem?.contains("past the end") == true)
        let out = try rescueAudit(["devices", image])
        #expect(out.stdout.contains("ext4"), "\(out.stdout)")
        #expect(out.stdout.contains("size 8.0 MiB") && !out.stdout.contains("size -"), "truncated, never negative: \(out.stdout)")
        let target = try TargetOpener.open(image)
        #expect(target.description.osName == "Debian GNU/Linux 12 (bookworm)")
        target.close()
        try expectNothingLeft(w.path)
    }

    @Test(.enabled(if: discoveryLoopTestsEnabled, discoverySkipReason))
    func aGPTEntryThatEndsBeforeItStartsIsIgnoredAsLinuxDoes() throws {
        let w = try Workdir()
        let image = "\(w.path)/gpt.img"
        try makeGPTImage(image, parts: [PartSpec(sizeMiB: 4, name: "odd", content: .swap)])
        // Entry 1's ending LBA set before its starting LBA, with both CRCs of the primary header fixed up.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: image)))
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) } }
        func u64(_ at: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) } }
        func put32(_ v: UInt32, _ at: Int) { for i in 0..<4 { bytes[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) } }
        func put64(_ v: UInt64, _ at: Int) { for i in 0..<8 { bytes[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }
        func crc32(_ range: Range<Int>) -> UInt32 {
            var c: UInt32 = 0xFFFF_FFFF
            for b in bytes[range] {
                c ^= UInt32(b)
                for _ in 0..<8 { c = c & 1 == 1 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
            }
            return ~c
        }
        let header = 512
        let entries = Int(u64(header + 72)) * 512
        let tableSize = Int(u32(header + 80)) * Int(u32(header + 84))
        let start = u64(entries + 32)
        put64(start - 47, entries + 40)
        put32(crc32(entries..<(entries + tableSize)), header + 88)
        put32(0, header + 16)
        put32(crc32(header..<(header + Int(u32(header + 12)))), header + 16)
        try Data(bytes).write(to: URL(fileURLWithPath: image))
        let devices = try DeviceProber.probe(paths: [image])
        let p = try #require(devices.first?.partitions.first, "libblkid lists the entry: \(devices)")
        #expect(p.size == 0)
        #expect(p.problem?.contains("ends before it starts") == true)
        let out = try rescueAudit(["devices", image])
        #expect(!out.stdout.contains("size -"), "\(out.stdout)")
        #expect(out.stdout.contains("ends before it starts"), "\(out.stdout)")
    }

    @Test(.enabled(if: discoveryLoopTestsEnabled, discoverySkipReason))
    func clonedRootsGetSelectorsThatNameOneEach() throws {
        let w = try Workdir()
        try makeRootTree("\(w.path)/a")
        let image = "\(w.path)/clones.img"
        let uuid = "3d9e7d3c-6f4e-4b8a-9a0e-5c1f00c10e01"
        try makeGPTImage(image, parts: [
            PartSpec(sizeMiB: 16, name: "a", content: .ext4(tree: "\(w.path)/a", uuid: uuid)),
            PartSpec(sizeMiB: 16, name: "b", content: .ext4(tree: "\(w.path)/a", uuid: uuid)),
        ])
        do {
            _ = try TargetOpener.open(image)
            Issue.record("two cloned roots must not be opened without --root")
        } catch {
            guard case .severalRoots(_, let selectors) = error else {
                Issue.record("expected severalRoots, got \(error)")
                return
            }
            #expect(Set(selectors).count == 2, "unique selectors: \(selectors)")
            #expect(!selectors.contains("UUID=\(uuid)"), "\(selectors)")
            for s in selectors {
                let t = try TargetOpener.open(image, root: s)
                #expect(selectors.firstIndex(of: s).map { $0 + 1 } == t.description.partition, "\(s) opens its own partition")
                t.close()
            }
        }
        do {
            _ = try TargetOpener.open(image, root: "UUID=\(uuid)")
            Issue.record("an ambiguous --root must not pick the first")
        } catch {
            guard case .rootAmbiguous = error else {
                Issue.record("expected rootAmbiguous, got \(error)")
                return
            }
        }
        let out = try rescueAudit(["devices", image])
        #expect(!out.stdout.contains("--root UUID=\(uuid)"), "\(out.stdout)")
        try expectNothingLeft(w.path)
    }
}

extension CLIImageTests {
    // MARK: - Nothing left behind

    /// 100 SIGKILLs at random moments of image audits: no scratch directory,
    /// no loop device and no mount may outlive the process.
    @Test(.enabled(if: discoveryLoopTestsEnabled, discoverySkipReason))
    func sigkillAtRandomMomentsLeavesNothingBehind() throws {
        let w = try Workdir()
        let (image, _) = try exampleImage(w)
        let before = try sha256(image)
        let tmp = "\(w.path)/tmp"
        try sh("mkdir -p '\(tmp)'")
        var env = ProcessInfo.processInfo.environment
        env["TMPDIR"] = tmp
        let hostTmpBefore = Set(try FileManager.default.contentsOfDirectory(atPath: "/tmp").filter { $0.hasPrefix("rescue-audit.") })
        var rng = SystemRandomNumberGenerator()
        for i in 0..<100 {
            let p = Process()
            p.executableURL = Repo.binary
            p.arguments = ["audit", image, "--format", "json"]
            p.environment = env
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(UInt32.random(in: 0..<150_000, using: &rng))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            // Loop devices detach asynchronously once their last user is gone.
            var loops = ""
            for _ in 0..<50 {
                loops = try sh("losetup -a || true")
                if !loops.contains(image) { break }
                usleep(20_000)
            }
            #expect(!loops.contains(image), "loop device left after kill \(i): \(loops)")
            #expect(ScratchMounts(try sh("cat /proc/self/mountinfo")).isEmpty, "mount left after kill \(i)")
        }
        #expect(try sh("ls -A '\(tmp)'").isEmpty, "nothing in TMPDIR")
        let hostTmpAfter = Set(try FileManager.default.contentsOfDirectory(atPath: "/tmp").filter { $0.hasPrefix("rescue-audit.") })
        #expect(hostTmpAfter.subtracting(hostTmpBefore).isEmpty, "no /tmp/rescue-audit.*: \(hostTmpAfter)")
        #expect(try sha256(image) == before)
    }
}
