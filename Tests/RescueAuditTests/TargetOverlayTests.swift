import Foundation
import RescueSys
import TargetAccess
import Testing

/// The in-memory overlay the verdict after repair is judged on: a root
/// opened over it answers as the target would look after the plan, through
/// the disk's symlinks and its own, and the disk is never touched.
@Suite struct TargetOverlayTests {
    @Test func readsStatsAndListsThroughTheOverlay() throws {
        let dir = try makeTempDir("overlay")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fm = FileManager.default
        try write("old\n", to: dir.appendingPathComponent("etc/a"))
        try write("gone\n", to: dir.appendingPathComponent("etc/gone"))
        try write("own\n", to: dir.appendingPathComponent("etc/own"))
        try write("real\n", to: dir.appendingPathComponent("real/f"))
        try fm.setAttributes([.posixPermissions: 0o664], ofItemAtPath: dir.appendingPathComponent("etc/own").path)
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("etc/link").path, withDestinationPath: "a")
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("dirlink").path, withDestinationPath: "/real")
        let before = try manifest(dir, excluding: [])

        let base = try TargetRoot(directory: dir.path)
        var o = TargetOverlay()
        o.set("/etc/a", .file(bytes: Array("new\n".utf8), mode: 0o600, uid: 0, gid: 0))
        o.set("/etc/b", .symlink("/etc/a"))
        o.set("/etc/gone", .absent)
        o.set("/etc/own", .ownership(mode: 0o644, uid: 7, gid: 8))
        o.set("/etc/new/deep/x", .file(bytes: [1, 2], mode: 0o644, uid: 0, gid: 0))
        o.set("/dirlink/f", .file(bytes: Array("through\n".utf8), mode: 0o644, uid: 0, gid: 0))
        let after = base.overlaying(o)

        #expect(after.bytes("/etc/a") == Array("new\n".utf8))
        #expect(after.bytes("/etc/link") == Array("new\n".utf8), "a disk symlink to a changed file reads the change")
        #expect(after.bytes("/etc/b") == Array("new\n".utf8))
        #expect(after.readlink("/etc/b") == "/etc/a")
        #expect(after.bytes("/etc/gone") == nil && !after.exists("/etc/gone"))
        #expect(after.stat("/etc/a")?.permissions == 0o600)
        let own = try #require(after.stat("/etc/own"))
        #expect(own.permissions == 0o644 && own.userID == 7 && own.groupID == 8)
        #expect(after.bytes("/etc/own") == Array("own\n".utf8))
        #expect(after.stat("/etc/new")?.kind == .directory)
        #expect(after.list("/etc/new/deep")?.map(\.name) == ["x"])
        let names = try #require(after.list("/etc")).map(\.name)
        #expect(names == ["a", "b", "link", "new", "own"], "\(names)")
        // A change written through a directory symlink lies where the link leads.
        #expect(after.bytes("/real/f") == Array("through\n".utf8))
        #expect(after.bytes("/dirlink/f") == Array("through\n".utf8))

        // The root it lies over, and the disk, are unchanged.
        #expect(base.bytes("/etc/a") == Array("old\n".utf8))
        #expect(base.exists("/etc/gone") && !base.exists("/etc/b"))
        #expect(try manifest(dir, excluding: []) == before)
    }
}
