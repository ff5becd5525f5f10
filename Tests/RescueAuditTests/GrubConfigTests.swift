import Foundation
import Parsers
import Testing

/// grub.cfg as update-grub (GRUB 2.06, Debian 12) writes it, and the default
/// entry as GRUB resolves `set default`: a number counts top-level items,
/// otherwise an id or a title, `>` descends into a submenu, `${saved_entry}`
/// comes from grubenv, and anything unresolvable boots the first entry.
@Suite struct GrubConfigTests {
    static func cfg(default value: String) -> String {
        """
        if [ -s $prefix/grubenv ]; then
          set have_grubenv=true
          load_env
        fi
        if [ "${next_entry}" ] ; then
           set default="${next_entry}"
           set next_entry=
           save_env next_entry
           set boot_once=true
        else
           set default="\(value)"
        fi
        function load_video {
          if [ x$feature_all_video_module = xy ]; then
            insmod all_video
          fi
        }
        menuentry 'Debian GNU/Linux' --class debian --class gnu-linux --class gnu --class os $menuentry_id_option 'gnulinux-simple-0b1c' {
        	load_video
        	linux	/boot/vmlinuz-6.1.0-18-amd64 root=UUID=0b1c ro  quiet
        	initrd	/boot/initrd.img-6.1.0-18-amd64
        }
        submenu 'Advanced options for Debian GNU/Linux' $menuentry_id_option 'gnulinux-advanced-0b1c' {
        	menuentry 'Debian GNU/Linux, with Linux 6.1.0-18-amd64' --class debian $menuentry_id_option 'gnulinux-6.1.0-18-amd64-advanced-0b1c' {
        		linux	/boot/vmlinuz-6.1.0-18-amd64 root=UUID=0b1c ro  quiet
        		initrd	/boot/initrd.img-6.1.0-18-amd64
        	}
        	menuentry 'Debian GNU/Linux, with Linux 5.10.0-28-amd64' --class debian $menuentry_id_option 'gnulinux-5.10.0-28-amd64-advanced-0b1c' {
        		linux	/boot/vmlinuz-5.10.0-28-amd64 root=UUID=0b1c ro  net.ifnames=0 "quoted arg" quiet
        		initrd	/boot/intel-ucode.img /boot/initrd.img-5.10.0-28-amd64
        	}
        }
        menuentry 'Windows Boot Manager' --id windows {
        	chainloader /EFI/Microsoft/Boot/bootmgfw.efi
        }
        if [ "$grub_platform" = "efi" ]; then
        	fwsetup --is-supported
        fi
        """
    }

    static func entry(_ value: String, grubenv: [String: String] = [:]) -> GrubMenuEntry? {
        GrubConfig.parse(Array(cfg(default: value).utf8), path: "/boot/grub/grub.cfg").defaultEntry(grubenv: grubenv)?.entry
    }

    @Test func menuStructure() {
        let c = GrubConfig.parse(Array(Self.cfg(default: "0").utf8), path: "/boot/grub/grub.cfg")
        #expect(c.diagnostics.isEmpty, "\(c.diagnostics)")
        #expect(c.items.count == 3)
        #expect(c.allEntries.map(\.title) == ["Debian GNU/Linux", "Debian GNU/Linux, with Linux 6.1.0-18-amd64",
                                              "Debian GNU/Linux, with Linux 5.10.0-28-amd64", "Windows Boot Manager"])
        #expect(c.defaultSettings.map(\.value) == ["${next_entry}", "0"])
        let old = c.allEntries[2]
        #expect(old.kernelPath == "/boot/vmlinuz-5.10.0-28-amd64")
        #expect(old.kernelArguments == ["root=UUID=0b1c", "ro", "net.ifnames=0", "quoted arg", "quiet"])
        #expect(old.initrdPaths == ["/boot/intel-ucode.img", "/boot/initrd.img-5.10.0-28-amd64"])
        #expect(old.linux?.location.line == 29)
        #expect(old.titlePath == ["Advanced options for Debian GNU/Linux", "Debian GNU/Linux, with Linux 5.10.0-28-amd64"])
    }

    @Test func defaultResolution() {
        #expect(Self.entry("0")?.title == "Debian GNU/Linux")
        #expect(Self.entry("1")?.title == "Debian GNU/Linux, with Linux 6.1.0-18-amd64", "a submenu's first entry")
        #expect(Self.entry("1>1")?.kernelPath == "/boot/vmlinuz-5.10.0-28-amd64")
        #expect(Self.entry("gnulinux-advanced-0b1c>gnulinux-5.10.0-28-amd64-advanced-0b1c")?.kernelPath == "/boot/vmlinuz-5.10.0-28-amd64")
        #expect(Self.entry("Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 5.10.0-28-amd64")?.kernelPath == "/boot/vmlinuz-5.10.0-28-amd64")
        #expect(Self.entry("windows")?.title == "Windows Boot Manager")
        #expect(Self.entry("7")?.title == "Debian GNU/Linux", "out of range: the first entry")
        #expect(Self.entry("no such entry")?.title == "Debian GNU/Linux")
        #expect(Self.entry("${saved_entry}", grubenv: ["saved_entry": "gnulinux-advanced-0b1c>gnulinux-5.10.0-28-amd64-advanced-0b1c"])?.kernelPath == "/boot/vmlinuz-5.10.0-28-amd64")
        #expect(Self.entry("${saved_entry}")?.title == "Debian GNU/Linux", "no saved entry: the first")
    }

    @Test func grubenvAndCommandLine() {
        var env = Array("# GRUB Environment Block\nsaved_entry=1>1\nnext_entry=\n".utf8)
        env += [UInt8](repeating: UInt8(ascii: "#"), count: 1024 - env.count)
        #expect(GrubEnv.parse(env) == ["saved_entry": "1>1", "next_entry": ""])
        let line = SourceLine(path: "/boot/grub/grub.cfg", line: 1, text: "")
        #expect(KernelCommandLine(words: ["ro", "net.ifnames=0"], source: line).disablesPredictableNames)
        #expect(!KernelCommandLine(words: ["net.ifnames=0", "net.ifnames=1"], source: line).disablesPredictableNames, "the last one wins")
        #expect(!KernelCommandLine(words: ["biosdevname=0"], source: line).disablesPredictableNames)
        #expect(GrubWords.split("linux\t/vmlinuz root=x 'a b' c\\ d # comment") == ["linux", "/vmlinuz", "root=x", "a b", "c d"])
    }

    @Test func brokenFilesAreDiagnosedNotFatal() {
        let c = GrubConfig.parse(Array("menuentry 'x' {\n linux /vmlinuz\n".utf8), path: "/boot/grub/grub.cfg")
        #expect(!c.diagnostics.isEmpty)
        let d = GrubConfig.parse(Array("}\n}\nmenuentry 'y' {\n}\n".utf8) + [0xFF, 0xFE], path: "/boot/grub/grub.cfg")
        #expect(d.allEntries.map(\.title) == ["y"])
        #expect(d.defaultEntry()?.entry.title == "y")
    }
}
