import Foundation
import Parsers
import Rules
import SystemModel
import TargetAccess
import Testing

/// The naming model on the rule's example roots: which layer renames a card,
/// in which order, and what pins a name.
@Suite struct InterfaceNamingTests {
    static func naming(_ scenario: String) throws -> InterfaceNaming {
        let url = Repo.rules.appendingPathComponent("interface-name-mismatch/tests/\(scenario)")
        let root = try TargetRoot(directory: url.path)
        let system = SystemSnapshot.load(root: root)
        return InterfaceNaming.load(root, networkd: system.networkd, boot: system.boot)
    }

    static let virtio = HardwareNIC(currentName: "eth0", mac: "52:54:00:12:34:56", devicePath: "/devices/pci0000:00/0000:00:03.0/virtio0/net/eth0",
                                    driver: "virtio_net", type: 1, macIsPermanent: true, pciAddress: "0000:00:03.0",
                                    nameSlot: "ens3", namePath: "enp0s3", nameMAC: "enx525400123456")

    @Test func staleInitramfsRenamesBeforeTheRootsMasks() throws {
        let n = try Self.naming("masks-missing-from-initramfs.fail")
        guard case .read(let path, let layer, let segments, _) = n.initramfs else {
            Issue.record("the initramfs is read: \(n.initramfs)")
            return
        }
        #expect(path == "/boot/initrd.img-6.1.0-18-amd64")
        #expect(segments.map(\.format) == ["cpio", "gzip"])
        #expect(layer.setupLink == .active(path: "/usr/lib/udev/rules.d/80-net-setup-link.rules in the initramfs"))
        #expect(layer.hasNetworkDrivers)
        #expect(n.commandLine.explanation.contains("\"Debian GNU/Linux\""), "\(n.commandLine.explanation)")
        #expect(n.commandLine.initrdPaths == ["/boot/initrd.img-6.1.0-18-amd64"])
        if case .masked = n.root.setupLink {} else { Issue.record("the root masks 80-net-setup-link.rules: \(n.root.setupLink)") }
        #expect(n.root.defaultLinkMasked)
        #expect(n.genericRenames.count == 1 && n.genericRenames[0].why.hasPrefix("the initramfs"))

        // The driver loads in the initramfs: renamed there to the slot name, and the root keeps it.
        let r = n.finalName(of: Self.virtio, kernelName: "eth0")
        #expect(r.name == "ens3")
        #expect(r.steps.count == 1 && r.steps[0].why.hasPrefix("the initramfs"))
        // A driver the initramfs does not carry: only the root names it, and the root keeps eth0.
        var e1000e = Self.virtio
        e1000e.driver = "e1000e"
        #expect(n.finalName(of: e1000e, kernelName: "eth0").name == "eth0")
    }

    @Test func maskedEverywhereOrNetIfnamesZeroKeepsKernelNames() throws {
        let masked = try Self.naming("masked-root-and-initramfs.pass")
        #expect(masked.initramfs.layer?.defaultLinkMasked == true)
        if case .masked = masked.initramfs.layer?.setupLink {} else { Issue.record("empty 80-net-setup-link.rules masks it in the initramfs") }
        #expect(masked.genericRenames.isEmpty)
        #expect(masked.finalName(of: Self.virtio, kernelName: "eth0").name == "eth0")

        let off = try Self.naming("net-ifnames-0-on-grub.pass")
        #expect(off.commandLine.disablesPredictableNames)
        #expect(off.initramfs.layer != nil, "the xz initramfs is read")
        #expect(off.genericRenames.isEmpty)
        #expect(off.finalName(of: Self.virtio, kernelName: "eth0").name == "eth0")
    }

    @Test func persistentNetRulesPinByMAC() throws {
        let n = try Self.naming("persistent-net-rules.pass")
        let pin = try #require(n.pin(for: "eth0"))
        #expect(pin.mac == "52:54:00:12:34:56")
        #expect(pin.source.location.path == "/etc/udev/rules.d/70-persistent-net.rules")
        #expect(n.finalName(of: Self.virtio, kernelName: "eth1").name == "eth0", "the rule names the card by its MAC")
        var other = Self.virtio
        other.mac = "52:54:00:ff:ff:ff"
        #expect(n.finalName(of: other, kernelName: "eth1").name == "ens3", "another card gets its predictable name")
    }

    @Test func rootOnlyPolicyOrder() throws {
        let n = try Self.naming("seed-003-eth0-renamed.fail")
        if case .notFound = n.initramfs {} else { Issue.record("no initramfs in this root: \(n.initramfs)") }
        #expect(n.finalName(of: Self.virtio, kernelName: "eth0").name == "ens3", "slot comes before path")
        var onboard = Self.virtio
        onboard.nameOnboard = "eno1"
        #expect(n.finalName(of: onboard, kernelName: "eth0").name == "eno1", "onboard comes first")
        var pathOnly = Self.virtio
        pathOnly.nameSlot = nil
        #expect(n.finalName(of: pathOnly, kernelName: "eth0").name == "enp0s3")
    }

    /// A copy of a scenario whose grub.cfg `initrd` line is rewritten.
    static func withInitrdLine(_ scenario: String, _ words: String) throws -> URL {
        let work = try makeTempDir("initrd-line")
        let root = work.appendingPathComponent("root")
        try copyTree(Repo.rules.appendingPathComponent("interface-name-mismatch/tests/\(scenario)"), to: root)
        let cfg = root.appendingPathComponent("boot/grub/grub.cfg")
        let text = try String(contentsOf: cfg, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            line.trimmingCharacters(in: .whitespaces).hasPrefix("initrd") ? "\tinitrd\t\(words)" : String(line)
        }
        try lines.joined(separator: "\n").write(to: cfg, atomically: true, encoding: .utf8)
        return root
    }

    /// Issue 20: a GRUB `initrd` line naming the same file 1,000 times. The
    /// file is read once (by inode), and named again it changes nothing.
    @Test func theSameInitramfsNamedOneThousandTimesIsReadOnce() throws {
        let path = "/boot/initrd.img-6.1.0-18-amd64"
        let root = try Self.withInitrdLine("masks-missing-from-initramfs.fail", Array(repeating: path, count: 1000).joined(separator: " "))
        defer { try? FileManager.default.removeItem(at: root.deletingLastPathComponent()) }
        // Another name for the same inode counts as the same file.
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("boot/again.img").path, withDestinationPath: "initrd.img-6.1.0-18-amd64")
        let once = try Self.naming("masks-missing-from-initramfs.fail")
        let system = SystemSnapshot.load(root: try TargetRoot(directory: root.path))
        #expect(system.naming.commandLine.initrdPaths.count == 1000)
        guard case .read(_, let layer, let segments, _) = system.naming.initramfs,
              case .read(_, let layerOnce, let segmentsOnce, _) = once.initramfs else {
            Issue.record("both are read: \(system.naming.initramfs)")
            return
        }
        #expect(segments == segmentsOnce, "each file's segments once, not 1,000 times")
        #expect(layer.linkFiles.map(\.path) == layerOnce.linkFiles.map(\.path))
        #expect(layer.modules == layerOnce.modules)
    }

    /// Different files share one decompression budget: over it, the
    /// initramfs is reported unread with the reason.
    @Test func differentInitramfsFilesShareOneBudget() throws {
        let root = try Self.withInitrdLine("masks-missing-from-initramfs.fail", "/boot/a.img /boot/b.img")
        defer { try? FileManager.default.removeItem(at: root.deletingLastPathComponent()) }
        // Two distinct files (copies, not links) that each give 300 MiB of zeros inside a cpio member.
        let make = "mkdir -p big && head -c 314572800 /dev/zero > big/zeros && (cd big && echo zeros | cpio -o -H newc --quiet | gzip -1) > boot/a.img && rm -r big && cp boot/a.img boot/b.img"
        let r = try run("/bin/sh", ["-c", make], environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], cwd: root)
        guard r.status == 0 else {
            #expect(!mustRunPrivileged, "cpio and gzip must be installed: \(r.stderr)")
            return
        }
        let system = SystemSnapshot.load(root: try TargetRoot(directory: root.path))
        guard case .unreadable(let path, let why) = system.naming.initramfs else {
            Issue.record("over the budget: \(system.naming.initramfs)")
            return
        }
        #expect(path == "/boot/b.img")
        #expect(why.contains("all initramfs files together"), "\(why)")
    }

    /// The initramfs is read only when a question needs it: not when the
    /// configuration uses predictable names that the root's udev gives anyway.
    /// The model starts the read in the background when it already sees that
    /// a question will need it (a kernel name such as eth0), and only then.
    @Test func theInitramfsIsReadOnlyWhenAQuestionNeedsIt() throws {
        let healthy = Repo.fixtures.appendingPathComponent("healthy/debian12-ifupdown")
        let renamed = Repo.rules.appendingPathComponent("interface-name-mismatch/tests/masks-missing-from-initramfs.fail")
        for (url, needed) in [(healthy, false), (renamed, true)] {
            let scenario = url.lastPathComponent
            let system = SystemSnapshot.load(root: try TargetRoot(directory: url.path))
            #expect(system.naming.initramfsPrefetched == needed, "\(scenario)")
            if !needed { #expect(!system.naming.initramfsWasRead, "the model does not read it on its own") }
            _ = AuditResult.run(system)
            system.naming.settle()
            #expect(system.naming.initramfsWasRead == needed, "\(scenario)")
        }
    }
}

