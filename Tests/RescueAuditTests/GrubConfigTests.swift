import Foundation
import Parsers
import Testing

/// The kernel command line as udev reads it, and GRUB's word splitting. The
/// menu and the default entry are BootConfigTests' (one grub.cfg parser
/// serves kernel-missing and interface-name-mismatch).
@Suite struct GrubConfigTests {
    @Test func grubenvAndCommandLine() {
        var env = Array("# GRUB Environment Block\nsaved_entry=1>1\nnext_entry=\n".utf8)
        env += [UInt8](repeating: UInt8(ascii: "#"), count: 1024 - env.count)
        let parsed = GrubEnvParser.parse(env, path: "/boot/grub/grubenv")
        #expect(parsed["saved_entry"]?.value == "1>1" && parsed["next_entry"]?.value == "")
        let line = SourceLine(path: "/boot/grub/grub.cfg", line: 1, text: "")
        #expect(KernelCommandLine(words: ["ro", "net.ifnames=0"], source: line).disablesPredictableNames)
        #expect(!KernelCommandLine(words: ["net.ifnames=0", "net.ifnames=1"], source: line).disablesPredictableNames, "the last one wins")
        #expect(!KernelCommandLine(words: ["biosdevname=0"], source: line).disablesPredictableNames)
        #expect(GrubWords.split("linux\t/vmlinuz root=x 'a b' c\\ d # comment") == ["linux", "/vmlinuz", "root=x", "a b", "c d"])
    }
}
