import Foundation
import Parsers
@testable import SystemModel
import TargetAccess
import Testing

/// Which entry GRUB or a BLS loader boots, and where its files are. The
/// grub.cfg fixtures follow what Debian 12's grub-mkconfig writes (00_header's
/// next_entry/saved_entry logic, 10_linux's submenu and ids).
@Suite struct BootConfigTests {
    func scenario(_ name: String) throws -> SystemSnapshot {
        let url = Repo.rules.appendingPathComponent("kernel-missing/tests/\(name)")
        return SystemSnapshot.load(root: try TargetRoot(directory: url.path))
    }

    @Test func grubMenuStructure() throws {
        let path = Repo.rules.appendingPathComponent("kernel-missing/tests/missing-initrd.fail/boot/grub/grub.cfg")
        let cfg = GrubConfigParser.parse([UInt8](try Data(contentsOf: path)), path: "/boot/grub/grub.cfg")
        #expect(cfg.menu.map(\.title) == ["Debian GNU/Linux", "Advanced options for Debian GNU/Linux", "UEFI Firmware Settings"])
        guard case .submenu(_, let id, _, let inner) = cfg.menu[1] else {
            Issue.record("the second item is the submenu")
            return
        }
        #expect(id == "gnulinux-advanced-5a1e0000-1111-4c2d-9e0f-0123456789ab")
        #expect(inner.count == 4)
        guard case .entry(let first) = cfg.menu[0] else {
            Issue.record("the first item is an entry: \(cfg.menu[0])")
            return
        }
        #expect(first.kernel?.value == "/boot/vmlinuz-6.1.0-18-amd64")
        #expect(first.kernel?.source.location.line == first.initrds.first.map { $0.source.location.line - 2 })
        #expect(first.initrds.map(\.value) == ["/boot/initrd.img-6.1.0-18-amd64"])
        #expect(first.searchUUID == "5a1e0000-1111-4c2d-9e0f-0123456789ab")
        #expect(first.options == "root=UUID=5a1e0000-1111-4c2d-9e0f-0123456789ab ro quiet")
        // Both branches of 00_header's if/else are recorded; the loader picks.
        #expect(cfg.defaults.map(\.value) == ["${next_entry}", "0"])
    }

    @Test func grubLexer() {
        let text = """
        # comment { not a block
        set default="Debian GNU/Linux, with Linux 6.1.0-18-amd64" ; set timeout=5
        menuentry 'It'\\''s "quoted"' --id=odd {
            linux (hd0,gpt2)/vmlinuz-x root=/dev/sda2 \\
                  quiet
            initrd /intel-ucode.img /initrd.img-x
        }
        """
        let cfg = GrubConfigParser.parse(Array(text.utf8), path: "/boot/grub/grub.cfg")
        #expect(cfg.defaults.map(\.value) == ["Debian GNU/Linux, with Linux 6.1.0-18-amd64"])
        guard case .entry(let e)? = cfg.menu.first else {
            Issue.record("one entry")
            return
        }
        #expect(e.title == "It's \"quoted\"" && e.id == "odd")
        #expect(e.kernel?.value == "(hd0,gpt2)/vmlinuz-x" && e.options == "root=/dev/sda2 quiet")
        #expect(e.initrds.map(\.value) == ["/intel-ucode.img", "/initrd.img-x"])
    }

    @Test func defaultSelection() throws {
        let path = Repo.rules.appendingPathComponent("kernel-missing/tests/missing-initrd.fail/boot/grub/grub.cfg")
        let menu = GrubConfigParser.parse([UInt8](try Data(contentsOf: path)), path: "/boot/grub/grub.cfg").menu
        let root = "5a1e0000-1111-4c2d-9e0f-0123456789ab"
        func pick(_ v: String) -> String? { BootConfiguration.select(v, in: menu).0?.id }
        #expect(pick("0") == "gnulinux-simple-\(root)")
        #expect(pick("") == "gnulinux-simple-\(root)")
        #expect(pick("1>2") == "gnulinux-6.1.0-17-amd64-advanced-\(root)")
        #expect(pick("gnulinux-advanced-\(root)>gnulinux-6.1.0-17-amd64-recovery-\(root)") == "gnulinux-6.1.0-17-amd64-recovery-\(root)")
        #expect(pick("Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-17-amd64") == "gnulinux-6.1.0-17-amd64-advanced-\(root)")
        #expect(pick("1") == "gnulinux-6.1.0-18-amd64-advanced-\(root)", "a submenu opens at its first entry")
        #expect(pick("Debian GNU/Linux") == "gnulinux-simple-\(root)")
        let (fallback, note) = BootConfiguration.select("7", in: menu)
        #expect(fallback?.id == "gnulinux-simple-\(root)" && note != nil)
        #expect(pick("2") == "uefi-firmware")
        #expect(BootConfiguration.select("2", in: menu).0?.kernel == nil, "UEFI Firmware Settings has no kernel to check")
    }

    @Test func savedEntryFromGrubenv() throws {
        let s = try scenario("saved-entry-removed-kernel.fail")
        #expect(s.boot.loader == .grub)
        #expect(s.boot.defaultEntry?.title == "Debian GNU/Linux, with Linux 6.1.0-15-amd64")
        #expect(s.boot.defaultEvidence.map(\.location.path) == ["/boot/grub/grub.cfg", "/boot/grub/grubenv", "/etc/default/grub"])
        #expect(s.boot.files?.kernel?.exists == false)
        #expect(s.boot.files?.kernel?.targetPath == "/boot/vmlinuz-6.1.0-15-amd64")
    }

    @Test func nextEntryWinsForOneBoot() throws {
        let s = try scenario("next-entry.pass")
        #expect(s.boot.defaultEntry?.title == "Debian GNU/Linux, with Linux 6.1.0-17-amd64")
        #expect(s.boot.defaultReason.contains("next_entry=1>2"))
    }

    @Test func separateBootPathsFollowTheSearchUUID() throws {
        let s = try scenario("separate-boot.pass")
        let files = try #require(s.boot.files)
        #expect(files.kernel?.written.value == "/vmlinuz-6.1.0-18-amd64")
        #expect(files.kernel?.targetPath == "/boot/vmlinuz-6.1.0-18-amd64" && files.kernel?.exists == true)
        #expect(files.initrds.allSatisfy { $0.exists })
        #expect(files.release == "6.1.0-18-amd64" && files.modulesExist == true)
        // Debian's /vmlinuz symlink dangles here, and does not matter.
        #expect(s.root.stat("/vmlinuz") == nil && s.root.readlink("/vmlinuz") != nil)
    }

    @Test func blsWithSavedEntry() throws {
        let s = try scenario("bls-saved-entry.fail")
        #expect(s.boot.loader == .bls)
        #expect(s.boot.defaultEntry?.id == "8c1e7f0a6b5d4c3b2a1908f7e6d5c4b3-6.5.6-300.fc39.x86_64")
        #expect(s.boot.files?.kernel?.targetPath == "/boot/vmlinuz-6.5.6-300.fc39.x86_64" && s.boot.files?.kernel?.exists == false)
        let newest = try scenario("bls-newest.pass")
        #expect(newest.boot.defaultEntry?.version == "6.7.5-200.fc39.x86_64", "without saved_entry, the newest entry")
        #expect(newest.boot.files?.initrds.allSatisfy { $0.exists } == true)
    }

    @Test func systemdBootDefaultGlob() {
        #expect(BootConfiguration.glob("arch*", "arch-lts.conf"))
        #expect(BootConfiguration.glob("*-6.1.?-*", "mid-6.1.0-18.conf"))
        #expect(!BootConfiguration.glob("arch", "arch-lts"))
    }

    /// The kernel release as `uname -r` prints it, from the x86 boot protocol's
    /// setup header (Documentation/arch/x86/boot.rst: "HdrS" at 0x202, the
    /// version string pointer at 0x20E, relative to 0x200).
    @Test func kernelReleaseFromTheSetupHeader() {
        var head = [UInt8](repeating: 0, count: 0x4000)
        head.replaceSubrange(0x202..<0x206, with: Array("HdrS".utf8))
        let version = Array("6.1.0-18-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1".utf8) + [0]
        let at = 0x3000
        head.replaceSubrange(at..<(at + version.count), with: version)
        head[0x20E] = UInt8((at - 0x200) & 0xFF)
        head[0x20F] = UInt8((at - 0x200) >> 8)
        #expect(KernelImage.release(head) == "6.1.0-18-amd64")
        #expect(KernelImage.release([UInt8](repeating: 0, count: 0x4000)) == nil)
        #expect(KernelImage.release(fileName: "vmlinuz-6.1.0-18-amd64") == "6.1.0-18-amd64")
        #expect(KernelImage.release(fileName: "vmlinuz-linux") == nil, "Arch names the image after the package")
    }
}

extension BootConfigTests {
    /// Hostile grub.cfg: submenus nested far deeper than any real one, and bytes that are not UTF-8.
    @Test func deepNestingAndBadBytesAreSafe() {
        let deep = String(repeating: "submenu 'x' {\n", count: 100_000) + "menuentry 'y' {\nlinux /vmlinuz\n}\n"
        let cfg = GrubConfigParser.parse(Array(deep.utf8) + [0xFF, 0xFE, 0x0A], path: "/boot/grub/grub.cfg")
        #expect(cfg.diagnostics.contains { $0.message.contains("deeper than 16") })
        #expect(BootConfiguration.select("0", in: cfg.menu).0 == nil)
    }
}
