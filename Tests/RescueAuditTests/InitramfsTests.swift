import CCompress
import Foundation
@testable import Parsers
import Testing

/// The initramfs reader, checked against archives made by the real tools:
/// GNU cpio (newc) and gzip, zstd, xz and lz4 (legacy format, as the kernel
/// reads it), with an uncompressed early-microcode archive in front as
/// Debian's mkinitramfs writes it. `cpio -t` on the same bytes is the oracle
/// for which members exist.
@Suite struct InitramfsTests {
    static let compressors: [(name: String, command: String)] = [
        ("gzip", "gzip -n -9"), ("zstd", "zstd -q -19"), ("xz", "xz --check=crc32 -9"), ("lz4", "lz4 -l -9 -q"),
    ]

    /// Builds a tree, archives it (microcode cpio + compressed cpio), and returns the bytes.
    static func build(_ compressor: String, microcode: Bool = true, extra: (URL) throws -> Void = { _ in }) throws -> (bytes: [UInt8], listing: [String]) {
        let work = try makeTempDir("initramfs")
        defer { try? FileManager.default.removeItem(at: work) }
        let early = work.appendingPathComponent("early"), main = work.appendingPathComponent("main")
        try write("microcode\n", to: early.appendingPathComponent("kernel/x86/microcode/GenuineIntel.bin"))
        try write("SUBSYSTEM!=\"net\", GOTO=\"end\"\nIMPORT{builtin}=\"net_setup_link\"\n", to: main.appendingPathComponent("usr/lib/udev/rules.d/80-net-setup-link.rules"))
        try write("[Match]\nOriginalName=*\n\n[Link]\nNamePolicy=keep kernel database onboard slot path\n", to: main.appendingPathComponent("usr/lib/systemd/network/99-default.link"))
        try write("", to: main.appendingPathComponent("etc/systemd/network/99-default.link"))
        try write("module\n", to: main.appendingPathComponent("usr/lib/modules/6.1.0-18-amd64/kernel/drivers/net/virtio_net.ko"))
        try write("module\n", to: main.appendingPathComponent("usr/lib/modules/6.1.0-18-amd64/kernel/fs/ext4/ext4.ko.xz"))
        try FileManager.default.createSymbolicLink(atPath: main.appendingPathComponent("lib").path, withDestinationPath: "usr/lib")
        // Bulk, so the compressed stream spans many buffers.
        var blob = ""
        for i in 0..<40_000 { blob += "line \(i) of some filler text\n" }
        try write(blob, to: main.appendingPathComponent("usr/share/filler.txt"))
        try extra(main)
        let out = work.appendingPathComponent("initrd.img")
        var script = ""
        if microcode { script += "(cd early && find . | LC_ALL=C sort | cpio -o -H newc --quiet) > initrd.img\n" }
        script += "(cd main && find . | LC_ALL=C sort | cpio -o -H newc --quiet | \(compressor)) >> initrd.img\n"
        let r = try run("/bin/sh", ["-c", script], environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], cwd: work)
        #expect(r.status == 0, "\(r.stderr)")
        // The oracle: GNU cpio lists the main archive.
        let t = try run("/bin/sh", ["-c", "(cd main && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | cpio -t --quiet"],
                        environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], cwd: work)
        return ([UInt8](try Data(contentsOf: out)), t.stdout.split(separator: "\n").map(String.init))
    }

    static var toolsPresent: Bool { ["cpio", "gzip", "zstd", "xz", "lz4"].allSatisfy { which($0) != nil } }

    @Test(arguments: compressors.map(\.name))
    func readsEveryCompression(_ name: String) throws {
        guard Self.toolsPresent else {
            #expect(!mustRunPrivileged, "cpio, gzip, zstd, xz and lz4 must be installed (.ci/packages)")
            return
        }
        let command = try #require(Self.compressors.first { $0.name == name }?.command)
        let (bytes, listing) = try Self.build(command)
        var seen: [String] = []
        let c = Initramfs.read(bytes) { path in seen.append(path); return path.hasSuffix(".rules") || path.hasSuffix(".link") }
        #expect(c.error == nil, "\(c.error ?? "")")
        #expect(c.segments.map(\.format) == ["cpio", name])
        // Every member cpio lists was seen, in the same order, after the microcode archive's.
        let main = listing.map { $0 == "." ? "" : String($0.drop { $0 == "." || $0 == "/" }) }
        #expect(Array(seen.suffix(main.count)) == main, "members differ from cpio -t")
        #expect(c.member("lib/udev/rules.d/80-net-setup-link.rules")?.data == Array("SUBSYSTEM!=\"net\", GOTO=\"end\"\nIMPORT{builtin}=\"net_setup_link\"\n".utf8),
                "the lib -> usr/lib symlink is followed")
        #expect(c.member("etc/systemd/network/99-default.link")?.data == [], "an empty file is kept as empty")
        #expect(c.members(in: "lib/systemd/network").map(\.path) == ["usr/lib/systemd/network/99-default.link"])
        #expect(c.modules == ["virtio_net", "ext4"])
        #expect(c.networkModules == ["virtio_net"])
        #expect(c.topLevelLinks["lib"] == "usr/lib")
    }

    @Test func uncompressedAloneAndConcatenatedCompressedSegments() throws {
        guard Self.toolsPresent else { #expect(!mustRunPrivileged); return }
        let (plain, _) = try Self.build("cat", microcode: false)
        let a = Initramfs.read(plain) { $0.hasSuffix(".rules") }
        #expect(a.error == nil && a.segments.map(\.format) == ["cpio"])
        #expect(a.member("usr/lib/udev/rules.d/80-net-setup-link.rules") != nil)

        // Two compressed segments with padding between them: a later member replaces an earlier one.
        let (first, _) = try Self.build("gzip -n")
        let (second, _) = try Self.build("zstd -q", microcode: false) { main in
            try write("NAME=\"lan0\"\n", to: main.appendingPathComponent("usr/lib/udev/rules.d/80-net-setup-link.rules"))
        }
        let both = first + [UInt8](repeating: 0, count: 512) + second
        let b = Initramfs.read(both) { $0.hasSuffix(".rules") }
        #expect(b.error == nil, "\(b.error ?? "")")
        #expect(b.segments.map(\.format) == ["cpio", "gzip", "zstd"])
        #expect(b.member("usr/lib/udev/rules.d/80-net-setup-link.rules")?.data == Array("NAME=\"lan0\"\n".utf8))
    }

    /// gzip goes through ISA-L when libisal.so.2 is present (CI installs it):
    /// the same bytes as zlib, and the stream ends at the same offset, so
    /// what follows it (padding, another segment) is found.
    @Test func isalAndZlibInflateAlike() throws {
        guard Self.toolsPresent else { #expect(!mustRunPrivileged); return }
        let (gz, _) = try Self.build("gzip -n", microcode: false)
        let bytes = gz + [0, 0, 0, 0] + Array("07070".utf8)
        let source: Initramfs.ByteSource = { offset, count in
            offset >= bytes.count ? [] : Array(bytes[offset..<min(bytes.count, offset + count)])
        }
        let segment = Initramfs.Segment(start: 0, size: bytes.count, source: source)
        var viaZlib: [UInt8] = [], viaISAL: [UInt8] = []
        let z = Initramfs.gunzipZlib(segment) { viaZlib += $0; return true }
        guard let isal = ra_isal_gzip_new() else {
            #expect(!mustRunPrivileged, "libisal2 must be installed (.ci/packages: libisal-dev)")
            return
        }
        defer { ra_isal_gzip_free(isal) }
        let i = Initramfs.gunzipISAL(isal, segment) { viaISAL += $0; return true }
        #expect(try z.get() == gz.count)
        #expect(try i.get() == gz.count)
        #expect(viaISAL == viaZlib && viaZlib.count > 1_000_000)
        // Truncated and corrupted, ISA-L reports it too.
        let cut = Array(gz.prefix(gz.count - 100))
        let cutSegment = Initramfs.Segment(start: 0, size: cut.count, source: { o, n in o >= cut.count ? [] : Array(cut[o..<min(cut.count, o + n)]) })
        guard let again = ra_isal_gzip_new() else { return }
        defer { ra_isal_gzip_free(again) }
        if case .success = Initramfs.gunzipISAL(again, cutSegment, { _ in true }) { Issue.record("a truncated gzip stream is an error") }
    }

    @Test func corruptTruncatedAndHostileInputGiveAnErrorNotACrash() throws {
        guard Self.toolsPresent else { #expect(!mustRunPrivileged); return }
        for (name, command) in Self.compressors {
            let (bytes, _) = try Self.build(command)
            // Truncated in the middle of the compressed stream.
            let cut = Initramfs.read(Array(bytes.prefix(bytes.count - 200))) { _ in true }
            #expect(cut.error != nil, "\(name): a truncated stream is reported")
            // A byte flipped in the compressed data.
            var flipped = bytes
            let at = bytes.count - bytes.count / 3
            flipped[at] ^= 0xFF
            flipped[at + 1] ^= 0x5A
            let bad = Initramfs.read(flipped) { _ in true }
            #expect(bad.error != nil || bad.segments.count == 2, "\(name): corruption is reported or the checksum-free format decodes something")
        }
        // Garbage, a header with non-hex fields, an absurd name length, nothing at all.
        #expect(Initramfs.read(Array("hello world".utf8)) { _ in true }.error != nil)
        #expect(Initramfs.read(Array(("070701" + String(repeating: "Z", count: 104)).utf8)) { _ in true }.error != nil)
        let header = "070701" + String(repeating: "0", count: 8 * 11) + "FFFFFFFF" + String(repeating: "0", count: 8)
        #expect(Initramfs.read(Array(header.utf8)) { _ in true }.error != nil)
        #expect(Initramfs.read([]) { _ in true }.error != nil)
        #expect(Initramfs.read([UInt8](repeating: 0, count: 4096)) { _ in true }.error != nil)
    }

    @Test func decompressedSizeAndEntryCountAreBounded() throws {
        guard Self.toolsPresent else { #expect(!mustRunPrivileged); return }
        let (bytes, _) = try Self.build("zstd -q")
        var limits = Initramfs.Limits()
        limits.maxDecompressed = 100_000
        let big = Initramfs.read(bytes, limits: limits) { _ in true }
        #expect(big.error?.contains("MiB when decompressed") == true, "\(big.error ?? "")")
        limits = Initramfs.Limits()
        limits.maxEntries = 5
        let many = Initramfs.read(bytes, limits: limits) { _ in true }
        #expect(many.error?.contains("entries") == true, "\(many.error ?? "")")
        limits = Initramfs.Limits()
        limits.maxMemberSize = 10
        let small = Initramfs.read(bytes, limits: limits) { _ in true }
        #expect(small.error == nil && small.member("usr/share/filler.txt") == nil, "a member over the size cap is not kept")
    }

    /// Streamed a few bytes at a time (every header, every compressed block
    /// split across reads), the reader finds what it finds in one buffer, and
    /// never asks for more than a chunk at once: the file is never held whole.
    @Test(arguments: compressors.map(\.name))
    func streamedInSmallReadsGivesTheSameContents(_ name: String) throws {
        guard Self.toolsPresent else { #expect(!mustRunPrivileged); return }
        let command = try #require(Self.compressors.first { $0.name == name }?.command)
        let (bytes, _) = try Self.build(command)
        let whole = Initramfs.read(bytes) { $0.hasSuffix(".rules") || $0.hasSuffix(".link") }
        var largest = 0
        let streamed = Initramfs.read(size: bytes.count, source: { offset, count in
            largest = max(largest, count)
            let n = min(count, 7 + offset % 5)
            guard offset < bytes.count else { return [] }
            return Array(bytes[offset..<min(bytes.count, offset + n)])
        }) { $0.hasSuffix(".rules") || $0.hasSuffix(".link") }
        #expect(streamed.error == nil, "\(streamed.error ?? "")")
        #expect(streamed.members == whole.members)
        #expect(streamed.segments == whole.segments)
        #expect(streamed.modules == whole.modules && streamed.networkModules == whole.networkModules)
        #expect(streamed.decompressedBytes == whole.decompressedBytes && whole.decompressedBytes > 1_000_000)
        #expect(largest <= 8 << 20, "asked for \(largest) bytes at once")
        // A read error ends the read with a reason, not a crash.
        let failing = Initramfs.read(size: bytes.count, source: { offset, count in
            offset + count > bytes.count / 2 ? nil : Array(bytes[offset..<min(bytes.count, offset + count)])
        }) { _ in true }
        #expect(failing.error != nil)
    }
}

