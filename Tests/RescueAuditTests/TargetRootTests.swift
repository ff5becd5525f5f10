import Foundation
import RescueSys
import TargetAccess
import Testing

/// Hostile trees: every case ends in a finding-worthy skip or a confined
/// read within a second, never a hang and never a byte from outside the target.
@Suite struct TargetRootTests {
    /// Builds a hostile root; returns it and a marker only the host side holds.
    static func hostileRoot() throws -> (URL, String) {
        let dir = try makeTempDir("hostile")
        let fm = FileManager.default
        let etc = dir.appendingPathComponent("etc")
        try fm.createDirectory(at: etc.appendingPathComponent("network"), withIntermediateDirectories: true)
        try write("target-shadow\n", to: etc.appendingPathComponent("shadow"))
        try write("target-hosts\n", to: etc.appendingPathComponent("hosts"))
        // An absolute symlink to /etc/shadow must mean the target's shadow.
        try fm.createSymbolicLink(atPath: etc.appendingPathComponent("absolute-shadow").path, withDestinationPath: "/etc/shadow")
        // A ../ chain far above the root.
        try fm.createSymbolicLink(atPath: etc.appendingPathComponent("dotdot").path,
                                  withDestinationPath: "../../../../../../../../../../etc/hosts")
        // A directory symlink to / : /up/etc/hosts is the target's /etc/hosts.
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("up").path, withDestinationPath: "/")
        // Loops.
        try fm.createSymbolicLink(atPath: etc.appendingPathComponent("loop-a").path, withDestinationPath: "loop-b")
        try fm.createSymbolicLink(atPath: etc.appendingPathComponent("loop-b").path, withDestinationPath: "loop-a")
        try fm.createSymbolicLink(atPath: etc.appendingPathComponent("self").path, withDestinationPath: "self")
        // A FIFO where the network configuration should be.
        #expect(mkfifo(etc.appendingPathComponent("network/interfaces").path, 0o644) == 0)
        // A 2 GiB sparse file.
        let big = etc.appendingPathComponent("big.conf").path
        #expect(fm.createFile(atPath: big, contents: nil))
        #expect(truncate(big, 2 << 30) == 0)
        // A device node (needs root).
        if isRoot {
            #expect(mknod(etc.appendingPathComponent("null-device").path, S_IFCHR | 0o644, makedev(1, 3)) == 0)
        }
        // A symlink pointing at a directory: listing must not follow it.
        try fm.createSymbolicLink(atPath: etc.appendingPathComponent("netlink").path, withDestinationPath: "network")
        return (dir, "target-")
    }

    static func makedev(_ major: UInt32, _ minor: UInt32) -> dev_t {
        dev_t((major & 0xfff) << 8 | (minor & 0xff) | ((minor & ~0xff) << 12))
    }

    static let modes: [Bool] = [false, true]

    /// A hostile read (symlink loops, FIFOs, a 2 GiB sparse file) ends: the
    /// guard fails the test on a hang only. Speed: benchmarks/hostile-inputs.sh.
    func ends<T>(_ body: @escaping () throws -> T, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> T {
        try finishes("a read in the hostile root", sourceLocation: sourceLocation, body)
    }

    @Test(arguments: modes)
    func absoluteSymlinkStaysInTarget(forceWalk: Bool) throws {
        let (dir, _) = try Self.hostileRoot()
        defer { try? FileManager.default.removeItem(at: dir) }
        let root = try TargetRoot(directory: dir.path, forceWalk: forceWalk)
        #expect(root.resolvesWithOpenat2 == !forceWalk)
        let text = try ends { root.bytes("/etc/absolute-shadow").map { String(decoding: $0, as: UTF8.self) } }
        #expect(text == "target-shadow\n")
        #expect(try ends { root.bytes("/etc/dotdot") }.map { String(decoding: $0, as: UTF8.self) } == "target-hosts\n")
        #expect(try ends { root.bytes("/up/up/etc/hosts") }.map { String(decoding: $0, as: UTF8.self) } == "target-hosts\n")
        #expect(try ends { root.bytes("/../../../../etc/hosts") }.map { String(decoding: $0, as: UTF8.self) } == "target-hosts\n")
        // A host-only file never shows through.
        if case .file = root.read("/etc/passwd") { Issue.record("read the host's /etc/passwd through the target") }
        if case .file = root.read("/../../../../etc/os-release") { Issue.record("escaped with ..") }
    }

    @Test(arguments: modes)
    func loopsFIFOsDevicesAndHugeFilesAreSkipped(forceWalk: Bool) throws {
        let (dir, _) = try Self.hostileRoot()
        defer { try? FileManager.default.removeItem(at: dir) }
        let root = try TargetRoot(directory: dir.path, forceWalk: forceWalk)
        guard case .skipped(.symlinkLoop) = try ends({ root.read("/etc/loop-a") }) else {
            Issue.record("loop not reported: \(root.read("/etc/loop-a"))"); return
        }
        guard case .skipped(.symlinkLoop) = try ends({ root.read("/etc/self") }) else {
            Issue.record("self loop not reported"); return
        }
        guard case .skipped(.notRegular(.fifo)) = try ends({ root.read("/etc/network/interfaces") }) else {
            Issue.record("FIFO not skipped: \(root.read("/etc/network/interfaces"))"); return
        }
        guard case .skipped(.tooLarge(let size, _)) = try ends({ root.read("/etc/big.conf") }) else {
            Issue.record("2 GiB file not skipped"); return
        }
        #expect(size == 2 << 30)
        if isRoot {
            guard case .skipped(.notRegular(.characterDevice)) = try ends({ root.read("/etc/null-device") }) else {
                Issue.record("device node not skipped"); return
            }
        } else if mustRunPrivileged {
            Issue.record("the device-node case needs root and CI runs as root")
        }
        guard case .skipped(.notRegular(.directory)) = root.read("/etc") else { Issue.record("directory read"); return }
        guard case .missing = root.read("/etc/nothing-here") else { Issue.record("missing file"); return }
        // Every skip is remembered for the report.
        let skipped = Set(root.skippedReads.map(\.path))
        #expect(skipped.isSuperset(of: ["/etc/loop-a", "/etc/network/interfaces", "/etc/big.conf"]))
    }

    @Test(arguments: modes)
    func metadataDoesNotFollowTheLastComponent(forceWalk: Bool) throws {
        let (dir, _) = try Self.hostileRoot()
        defer { try? FileManager.default.removeItem(at: dir) }
        let root = try TargetRoot(directory: dir.path, forceWalk: forceWalk)
        let info = try #require(root.lstat("/etc/absolute-shadow"))
        #expect(info.kind == .symlink)
        #expect(info.linkTarget == "/etc/shadow")
        #expect(root.readlink("/etc/loop-a") == "loop-b")
        #expect(root.lstat("/etc/network/interfaces")?.kind == .fifo)
        #expect(root.list("/etc/netlink") == nil, "listing a symlink must not follow it")
        #expect(root.listFollowing("/etc/netlink")?.map(\.name) == ["interfaces"])
        let names = try #require(root.list("/etc")).map(\.name)
        #expect(names == names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        #expect(names.contains("absolute-shadow"))
        #expect(root.stat("/etc/absolute-shadow")?.kind == .regular)
        #expect(root.exists("/etc/loop-a"))
    }

    @Test func readsAreCachedAndHashed() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        try write("abc", to: dir.appendingPathComponent("etc/x"))
        let root = try TargetRoot(directory: dir.path)
        let f = try #require(root.read("/etc/x").file)
        #expect(f.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        try write("changed", to: dir.appendingPathComponent("etc/x"))
        #expect(root.bytes("/etc/x") == Array("abc".utf8), "every layer sees the audited bytes")
    }

    @Test func tailReadsOnlyTheEnd() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        try write(String(repeating: "x", count: 1000) + "END", to: dir.appendingPathComponent("var/log/syslog"))
        let root = try TargetRoot(directory: dir.path)
        #expect(root.readTail("/var/log/syslog", maxBytes: 3).file?.bytes == Array("END".utf8))
    }
}
