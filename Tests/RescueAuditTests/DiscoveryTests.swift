import Foundation
import Testing
@testable import Discovery
import Parsers
import RescueSys
import TargetAccess

@Suite("Discovery on real images", .serialized, .enabled(if: discoveryLoopTestsEnabled, discoverySkipReason))
struct DiscoveryImageTests {
    static let rootUUID = "8f6a2b1e-1111-4c2d-9e0f-0123456789ab"
    static let varUUID = "8f6a2b1e-2222-4c2d-9e0f-0123456789ab"

    @Test func gptRootWithSeparateVarByUUID() throws {
        let w = try Workdir()
        try makeRootTree("\(w.path)/root", fstab: "UUID=\(Self.varUUID) /var ext4 defaults 0 2")
        try sh("mkdir -p '\(w.path)/var/lib/marker' && echo from-var > '\(w.path)/var/lib/marker/file'")
        let image = "\(w.path)/disk.img"
        try makeGPTImage(image, parts: [
            PartSpec(sizeMiB: 16, name: "root", content: .ext4(tree: "\(w.path)/root", uuid: Self.rootUUID)),
            PartSpec(sizeMiB: 16, name: "var", content: .ext4(tree: "\(w.path)/var", uuid: Self.varUUID)),
            PartSpec(sizeMiB: 4, name: "swap", content: .swap),
        ])
        let before = try sha256(image)

        let target = try TargetOpener.open(image)
        do {
            #expect(target.description.kind == .image)
            #expect(target.description.uuid == Self.rootUUID)
            #expect(target.description.partition == 1)
            #expect(target.description.fsType == "ext4")
            #expect(target.description.osName == "Debian GNU/Linux 12 (bookworm)")
            #expect(target.description.osVersion == "12")
            #expect(target.description.submounts.map(\.mountPoint) == ["/var"])
            #expect(target.notes.contains { $0.contains("swap") }, "\(target.notes)")
            let partitions = target.probed.first?.partitions ?? []
            #expect(partitions.count == 3)
            #expect(partitions.first?.partLabel == "root")
            #expect(partitions.last?.filesystem?.type == "swap")
            // While open, the mounts exist in the private namespace only, on
            // read-only auto-clearing loop devices; so the checks after close mean something.
            let inside = try sh("cat \(try PrivateMountNamespace.shared().mountInfoPath)")
            #expect(ScratchMounts(inside).under.filter { $0.contains(" ro,") }.count >= 2, "\(inside)")
            #expect(ScratchMounts(try sh("cat /proc/self/mountinfo")).isEmpty)
            let loops = try sh("losetup --list --noheadings --output NAME,RO,AUTOCLEAR,BACK-FILE")
            let ours = loops.components(separatedBy: "\n").filter { $0.contains(image) }
            #expect(ours.count == 2, "\(loops)")
            #expect(ours.allSatisfy { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().prefix(2) == ["1", "1"] }, "\(ours)")
            let root = try target.openRoot()
            #expect(root.bytes("/var/lib/marker/file") == Array("from-var\n".utf8))
            #expect(root.isRegularFile("/etc/os-release"))
        }
        target.close()
        try expectNothingLeft(w.path)
        #expect(try sha256(image) == before)

        let text = renderDevicesText(try TargetOpener.devices([image]))
        #expect(text.contains("gpt partition table"))
        #expect(text.contains("UUID=\(Self.rootUUID)"))
        #expect(text.contains("Root filesystem candidates"))
        try expectNothingLeft(w.path)
    }

    @Test func dirtyExt4JournalLeavesTheImageUnwritten() throws {
        let w = try Workdir()
        try makeRootTree("\(w.path)/root")
        let live = "\(w.path)/live.img"
        let image = "\(w.path)/dirty.img"
        // Copy the image while it is mounted read-write: the copy carries
        // needs_recovery and a journal with transactions in it.
        try sh("""
        truncate -s 32M '\(live)'
        mkfs.ext4 -q -F -d '\(w.path)/root' '\(live)'
        mkdir -p '\(w.path)/mnt'
        mount -o loop,rw '\(live)' '\(w.path)/mnt'
        for i in $(seq 1 50); do echo "line $i" > '\(w.path)/mnt/etc/file'$i; done
        sync -f '\(w.path)/mnt/etc/os-release'
        for i in $(seq 51 80); do echo "line $i" > '\(w.path)/mnt/etc/file'$i; done
        cp --sparse=always '\(live)' '\(image)'
        umount '\(w.path)/mnt'
        """)
        let header = try sh("dumpe2fs -h '\(image)' 2>/dev/null")
        #expect(header.contains("needs_recovery"), "the fixture must need journal recovery")
        try openReadClose(image, workdir: w) { target in
            #expect(target.description.fsType == "ext4")
            #expect(target.description.osName == "Debian GNU/Linux 12 (bookworm)")
        }
        #expect(try sh("dumpe2fs -h '\(image)' 2>/dev/null").contains("needs_recovery"))
    }

    /// The last edit of /etc/network/interfaces is only in the journal
    /// (scripts/make-dirty-journal.sh checks that with debugfs and e2fsck):
    /// the audit reads the edited file, as the next boot will, and the
    /// image stays byte for byte what it was, needs_recovery included.
    @Test func dirtyExt4JournalIsReplayedInMemory() throws {
        let w = try Workdir()
        try makeRootTree("\(w.path)/root")
        let old = "auto lo\niface lo inet loopback\n"
        let new = old + "auto ens3\niface ens3 inet static\n    address 192.0.2.77/24\n"
        try FileManager.default.createDirectory(atPath: "\(w.path)/root/etc/network", withIntermediateDirectories: true)
        try old.write(toFile: "\(w.path)/root/etc/network/interfaces", atomically: true, encoding: .utf8)
        try new.write(toFile: "\(w.path)/new", atomically: true, encoding: .utf8)
        let image = "\(w.path)/dirty.img"
        try sh("sh '\(Repo.root.path)/scripts/make-dirty-journal.sh' '\(w.path)/root' '\(image)' /etc/network/interfaces '\(w.path)/new'")
        try openReadClose(image, workdir: w) { target in
            guard case .replayed(let blocks, let transactions) = target.filesystems.first?.journal else {
                Issue.record("the journal was not replayed: \(String(describing: target.filesystems.first?.journal))")
                return
            }
            #expect(blocks > 0 && transactions > 0)
            #expect(target.notes.contains { $0.contains("replayed in memory, read-only") })
            let root = try target.openRoot()
            #expect(root.bytes("/etc/network/interfaces") == Array(new.utf8), "the audit reads what the journal replay writes")
        }
        #expect(try sh("dumpe2fs -h '\(image)' 2>/dev/null").contains("needs_recovery"))
    }

    @Test func xfsRootOnWholeImage() throws {
        let w = try Workdir()
        try makeRootTree("\(w.path)/root", name: "Rocky Linux 9.4 (Blue Onyx)", version: "9.4")
        let image = "\(w.path)/xfs.img"
        try sh("""
        truncate -s 320M '\(image)'
        mkfs.xfs -q -f '\(image)'
        mkdir -p '\(w.path)/mnt'
        mount -o loop '\(image)' '\(w.path)/mnt'
        cp -a '\(w.path)/root/.' '\(w.path)/mnt/'
        umount '\(w.path)/mnt'
        """)
        try openReadClose(image, workdir: w) { target in
            #expect(target.description.fsType == "xfs")
            #expect(target.description.osName == "Rocky Linux 9.4 (Blue Onyx)")
            #expect(target.description.osVersion == "9.4")
        }
    }

    @Test func btrfsRootInSubvolumeAt() throws {
        let w = try Workdir()
        try makeRootTree("\(w.path)/root", name: "openSUSE Tumbleweed", version: "20240101")
        let image = "\(w.path)/btrfs.img"
        // The default subvolume (top level) holds only subvolumes; the root is in @.
        try sh("""
        truncate -s 160M '\(image)'
        mkfs.btrfs -q -f '\(image)'
        mkdir -p '\(w.path)/mnt'
        mount -o loop '\(image)' '\(w.path)/mnt'
        btrfs -q subvolume create '\(w.path)/mnt/@' >/dev/null
        cp -a '\(w.path)/root/.' '\(w.path)/mnt/@/'
        umount '\(w.path)/mnt'
        """)
        try openReadClose(image, workdir: w) { target in
            #expect(target.description.fsType == "btrfs")
            #expect(target.description.subvolume == "@")
            #expect(target.description.osName == "openSUSE Tumbleweed")
        }
    }

    @Test func twoRootsNeedAChoice() throws {
        let w = try Workdir()
        try makeRootTree("\(w.path)/a", name: "Debian GNU/Linux 12 (bookworm)")
        try makeRootTree("\(w.path)/b", name: "Ubuntu 24.04 LTS", version: "24.04")
        let image = "\(w.path)/two.img"
        try makeGPTImage(image, parts: [
            PartSpec(sizeMiB: 16, name: "a", content: .ext4(tree: "\(w.path)/a", uuid: Self.rootUUID)),
            PartSpec(sizeMiB: 16, name: "b", content: .ext4(tree: "\(w.path)/b", uuid: Self.varUUID)),
        ])
        do {
            _ = try TargetOpener.open(image)
            Issue.record("two roots must not be opened without --root")
        } catch {
            guard case .severalRoots(let candidates, _) = error else {
                Issue.record("expected severalRoots, got \(error)")
                return
            }
            #expect(candidates.count == 2)
            #expect(error.description.contains("--root"))
            #expect(error.description.contains("UUID=\(Self.varUUID)"))
        }
        try expectNothingLeft(w.path)

        let chosen = try TargetOpener.open(image, root: "UUID=\(Self.varUUID)")
        #expect(chosen.description.osName == "Ubuntu 24.04 LTS")
        chosen.close()
        let byNumber = try TargetOpener.open(image, root: "1")
        #expect(byNumber.description.osName == "Debian GNU/Linux 12 (bookworm)")
        byNumber.close()
        try expectNothingLeft(w.path)
    }

    @Test func noRootNamesWhatWasProbed() throws {
        let w = try Workdir()
        let image = "\(w.path)/data.img"
        try makeGPTImage(image, parts: [
            PartSpec(sizeMiB: 16, name: "data", content: .ext4(tree: nil, uuid: Self.rootUUID)),
            PartSpec(sizeMiB: 4, name: "swap", content: .swap),
        ])
        do {
            _ = try TargetOpener.open(image)
            Issue.record("an image without a root must not open")
        } catch {
            guard case .noRoot(let probed, _) = error else {
                Issue.record("expected noRoot, got \(error)")
                return
            }
            #expect(probed.map(\.path) == [image])
            #expect(error.description.contains(image))
        }
        try expectNothingLeft(w.path)
    }

    @Test func failedMountLeavesNothing() throws {
        let w = try Workdir()
        try makeRootTree("\(w.path)/root")
        let image = "\(w.path)/disk.img"
        try makeGPTImage(image, parts: [
            PartSpec(sizeMiB: 16, name: "root", content: .ext4(tree: "\(w.path)/root", uuid: Self.rootUUID)),
            PartSpec(sizeMiB: 4, name: "swap", content: .swap),
        ])
        // --root on the swap partition: the kernel refuses the mount.
        do {
            _ = try TargetOpener.open(image, root: "2")
            Issue.record("swap must not mount")
        } catch {
            guard case .mountFailed = error else { Issue.record("expected mountFailed, got \(error)"); return }
        }
        try expectNothingLeft(w.path)
        #expect(throws: DiscoveryError.self) { try TargetOpener.open(image, root: "UUID=nothing-like-it") }
        try expectNothingLeft(w.path)
    }

    @Test func unresolvableFstabLineIsANote() throws {
        let w = try Workdir()
        try makeRootTree("\(w.path)/root", fstab: "UUID=00000000-dead-beef-0000-000000000000 /usr ext4 defaults 0 2")
        let image = "\(w.path)/disk.img"
        try makeGPTImage(image, parts: [PartSpec(sizeMiB: 16, name: "root", content: .ext4(tree: "\(w.path)/root", uuid: Self.rootUUID))])
        let target = try TargetOpener.open(image)
        #expect(target.notes.contains { $0.contains("/etc/fstab line 1") && $0.contains("/usr") }, "\(target.notes)")
        #expect(target.description.submounts.isEmpty)
        target.close()
        try expectNothingLeft(w.path)
    }

    @Test func keepMountedLeavesMountsAndSaysHowToUndo() throws {
        let w = try Workdir()
        try makeRootTree("\(w.path)/root")
        let image = "\(w.path)/disk.img"
        try makeGPTImage(image, parts: [PartSpec(sizeMiB: 16, name: "root", content: .ext4(tree: "\(w.path)/root", uuid: Self.rootUUID))])
        let dir = "\(w.path)/kept"
        let target = try TargetOpener.open(image, keepMounted: dir)
        target.close()
        #expect(target.rootPath == dir)
        #expect(FileManager.default.fileExists(atPath: "\(dir)/etc/os-release"))
        #expect(target.keepMountedCommands.first == "umount -R \(dir)")
        let mountinfo = try sh("cat /proc/self/mountinfo")
        #expect(mountinfo.contains(" ro,"))
        for command in target.keepMountedCommands { try sh(command) }
        try expectNothingLeft(w.path)
    }

    @Test func everyBlockDeviceIsListed() throws {
        // Other suites attach and detach loop devices while this runs: only a
        // device that is there both before and after the probe must be listed.
        let before = Set(try sh("ls /sys/class/block").split(separator: "\n").map(String.init))
        let devices = DeviceProber.probeAll()
        let after = Set(try sh("ls /sys/class/block").split(separator: "\n").map(String.init))
        #expect(!before.isEmpty)
        // Empty devices (unbound loops) are skipped; all others must be there.
        for name in before.intersection(after).sorted() {
            let size = (try? String(contentsOfFile: "/sys/class/block/\(name)/size", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
            guard let size, size != "0" else { continue }
            let dmName = (try? String(contentsOfFile: "/sys/class/block/\(name)/dm/name", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let expected = dmName.map { "/dev/mapper/\($0)" } ?? "/dev/\(name)"
            #expect(devices.contains { $0.path == expected }, "\(expected) not listed")
        }
    }
}

@Suite("Discovery without devices")
struct DiscoveryParsingTests {
    @Test func directoryTargetIsUsedAsIs() throws {
        let w = try Workdir()
        try makeRootTree("\(w.path)/root")
        let target = try TargetOpener.open("\(w.path)/root")
        #expect(target.description.kind == .directory)
        #expect(target.rootPath == "\(w.path)/root")
        #expect(target.probed.isEmpty)
        target.close()
    }

    @Test func missingTargetSaysWhatToDo() {
        #expect(throws: DiscoveryError.self) { try TargetOpener.open("/nonexistent/disk.img") }
    }

    @Test func osReleaseQuotesAndFallbacks() {
        let os = OSRelease(bytes: Array("NAME=\"Fedora Linux\"\nVERSION_ID=40\n# comment\nPRETTY_NAME='Fedora Linux 40 (Server)'\n".utf8))
        #expect(os.name == "Fedora Linux 40 (Server)")
        #expect(os.versionID == "40")
        #expect(OSRelease(bytes: Array("NAME=Alpine\n".utf8)).name == "Alpine")
    }

    @Test func fstabEntriesAndEscapes() {
        let entries = FstabEntry.parse(Array("# x\nUUID=ab /  ext4 errors=remount-ro 0 1\nLABEL=my\\040data /var xfs defaults,noatime 0 2\n\nbroken\n".utf8))
        #expect(entries.count == 2)
        #expect(entries[1].spec == "LABEL=my data")
        #expect(entries[1].line == 3)
        #expect(entries[1].options == ["defaults", "noatime"])
    }

    @Test func fstabSpecsResolve() {
        func vol(_ uuid: String, part: Int, label: String? = nil) -> Volume {
            Volume(source: "/img", offset: Int64(part) << 20, size: 1 << 20, partition: part, disk: "/img",
                   partUUID: "pu-\(part)", partLabel: "pl-\(part)",
                   filesystem: FilesystemInfo(type: "ext4", uuid: uuid, label: label, version: nil, usage: "filesystem", unlockHint: nil))
        }
        let vols = [vol("AAA", part: 1), vol("bbb", part: 2, label: "var data"), vol("ccc", part: 3)]
        #expect(TargetOpener.resolve("UUID=aaa", volumes: vols, root: vols[0])?.0.partition == 1)
        #expect(TargetOpener.resolve("LABEL=var data", volumes: vols, root: vols[0])?.0.partition == 2)
        #expect(TargetOpener.resolve("/dev/disk/by-label/var\\x20data", volumes: vols, root: vols[0])?.0.partition == 2)
        #expect(TargetOpener.resolve("PARTUUID=PU-3", volumes: vols, root: vols[0])?.0.partition == 3)
        #expect(TargetOpener.resolve("PARTLABEL=pl-2", volumes: vols, root: vols[0])?.0.partition == 2)
        let bySdX = TargetOpener.resolve("/dev/sda3", volumes: vols, root: vols[0])
        #expect(bySdX?.0.partition == 3 && bySdX?.1 != nil)
        #expect(TargetOpener.resolve("/dev/nvme0n1p2", volumes: vols, root: vols[0])?.0.partition == 2)
        #expect(TargetOpener.resolve("UUID=none", volumes: vols, root: vols[0]) == nil)
    }

    @Test func containerHints() {
        let luks = DeviceProber.filesystemInfo(["TYPE": "crypto_LUKS", "UUID": "12345678-aaaa"], device: "/dev/sdb2", partition: nil, image: nil)
        #expect(luks?.unlockHint == "cryptsetup open --readonly /dev/sdb2 rescue-12345678")
        #expect(DeviceProber.filesystemInfo(["TYPE": "LVM2_member"], device: "/dev/sda3", partition: nil, image: nil)?.unlockHint == "vgchange -ay")
        #expect(DeviceProber.filesystemInfo(["TYPE": "linux_raid_member"], device: "/dev/sda1", partition: nil, image: nil)?.unlockHint == "mdadm --assemble --readonly --scan")
        let inImage = DeviceProber.filesystemInfo(["TYPE": "LVM2_member"], device: "/x.img", partition: BlkidPartition(number: 2, start: 1048576, size: 2097152, type: nil, partUUID: nil, partLabel: nil), image: "/x.img")
        #expect(inImage?.unlockHint?.contains("losetup --read-only --find --show --offset 1048576 --sizelimit 2097152 /x.img") == true)
        #expect(humanSize(512 << 20) == "512.0 MiB")
    }
}
