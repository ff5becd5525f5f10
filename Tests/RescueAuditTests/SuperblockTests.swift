import Foundation
@testable import Discovery
import Parsers
import Testing

/// Superblock health read from real filesystems, checked against the tools
/// that own the formats: dumpe2fs for ext4 (fields set with debugfs), and
/// xfs_logprint for the XFS log's head and clean/dirty state.
@Suite(.serialized) struct SuperblockTests {
    func volume(_ path: String, type: String, offset: Int64 = 0, size: Int64 = 0) -> Volume {
        Volume(source: path, offset: offset, size: size, partition: offset == 0 ? nil : 1, disk: offset == 0 ? nil : path, partUUID: nil, partLabel: nil,
               filesystem: FilesystemInfo(type: type, uuid: nil, label: nil, version: nil, usage: "filesystem", unlockHint: nil))
    }

    /// `Key:   value` lines of `dumpe2fs -h`.
    func dumpe2fs(_ image: String) throws -> [String: String] {
        let r = try run("/sbin/dumpe2fs", ["-h", image], environment: ["TZ": "UTC", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"])
        var out: [String: String] = [:]
        for line in r.stdout.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            out[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return out
    }

    func ctime(_ seconds: Int64) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "EEE MMM d HH:mm:ss yyyy"
        let s = f.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
        // ctime pads the day of the month to two characters.
        let parts = s.split(separator: " ", omittingEmptySubsequences: false)
        return parts.count == 5 && parts[2].count == 1 ? "\(parts[0]) \(parts[1])  \(parts[2]) \(parts[3]) \(parts[4])" : s
    }

    @Test func extFieldsMatchDumpe2fs() throws {
        guard which("mkfs.ext4") != nil, which("debugfs") != nil else {
            #expect(!mustRunPrivileged, "e2fsprogs is not installed")
            return
        }
        let w = try Workdir()
        let image = "\(w.path)/ext4.img"
        try sh("truncate -s 8M '\(image)' && mkfs.ext4 -q -F -L data -U 5a1e0000-2222-4c2d-9e0f-0123456789ab '\(image)'")
        let clean = TargetFilesystem.read(volume(image, type: "ext4"), mountPoint: "/var")
        let fresh = try #require(clean.ext)
        #expect(fresh.isClean && fresh.errorCount == 0 && !fresh.mountCountExceeded && fresh.lastError == nil)
        #expect(fresh.uuid == "5a1e0000-2222-4c2d-9e0f-0123456789ab" && fresh.label == "data")

        for set in ["state 2", "error_count 3", "first_error_time 20240406005500", "first_error_func ext4_iget", "first_error_line 4969",
                    "last_error_time 20240406010317", "last_error_func ext4_lookup", "last_error_line 1855", "last_error_ino 12",
                    "mnt_count 31", "max_mnt_count 30"] {
            try sh("debugfs -w -R 'ssv \(set)' '\(image)' >/dev/null 2>&1")
        }
        let ext = try #require(TargetFilesystem.read(volume(image, type: "ext4"), mountPoint: "/var").ext)
        let d = try dumpe2fs(image)
        #expect(ext.stateWords == d["Filesystem state"], "\(ext.stateWords) vs \(d["Filesystem state"] ?? "")")
        #expect(String(ext.errorCount) == d["FS Error count"])
        #expect(String(ext.mountCount) == d["Mount count"])
        #expect(String(ext.maxMountCount) == d["Maximum mount count"])
        #expect(ext.lastError?.function == d["Last error function"])
        #expect(ext.lastError.map { String($0.line) } == d["Last error line #"])
        #expect(ext.lastError.map { String($0.inode) } == d["Last error inode #"])
        #expect(ext.lastError.map { ctime($0.time) } == d["Last error time"])
        #expect(ext.firstError?.function == d["First error function"])
        #expect(ext.firstError.map { ctime($0.time) } == d["First error time"])
        #expect(ext.uuid == d["Filesystem UUID"])
        #expect(!ext.isClean && ext.hasErrorsFlag && ext.mountCountExceeded)

        // Inside a disk image, at the partition's offset.
        let disk = "\(w.path)/disk.img"
        try makeGPTImage(disk, parts: [PartSpec(sizeMiB: 8, name: "var", content: .ext4(tree: nil, uuid: "5a1e0000-3333-4c2d-9e0f-0123456789ab"))])
        let inside = TargetFilesystem.read(volume(disk, type: "ext4", offset: 1 << 20, size: 8 << 20), mountPoint: "/var")
        #expect(inside.ext?.uuid == "5a1e0000-3333-4c2d-9e0f-0123456789ab")
        #expect(inside.checkCommands.first?.contains("--offset 1048576 --sizelimit 8388608") == true)
        #expect(inside.checkCommands.last == "e2fsck -f /dev/loopN")

        // Not ext at all: said, not guessed.
        try sh("truncate -s 1M '\(w.path)/zero.img'")
        #expect(TargetFilesystem.read(volume("\(w.path)/zero.img", type: "ext4"), mountPoint: "/").unreadable != nil)
    }

    /// "log tail: 2 head: 38 state: <DIRTY>" from `xfs_logprint -t`.
    func logprint(_ image: String) throws -> (head: Int64, state: String) {
        let r = try run("/usr/sbin/xfs_logprint", ["-t", image])
        let line = try #require(r.stdout.split(separator: "\n").first { $0.contains("log tail:") }, "\(r.stdout)\(r.stderr)")
        let words = line.split(separator: " ")
        let head = try #require(words.firstIndex(of: "head:").flatMap { Int64(words[$0 + 1]) })
        return (head, line.contains("<CLEAN>") ? "clean" : "dirty")
    }

    /// The loop device behind `mount -o loop` detaches (and its last writes
    /// reach the image file) after umount returns: wait for it, up to 10 s.
    static func waitForLoopDetach(_ image: String) -> String {
        "n=0; while [ -n \"$(losetup -j '\(image)')\" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done; sync"
    }

    @Test func xfsLogMatchesXfsLogprint() throws {
        guard which("mkfs.xfs") != nil, which("xfs_logprint") != nil else {
            #expect(!mustRunPrivileged, "xfsprogs is not installed")
            return
        }
        let w = try Workdir()
        let image = "\(w.path)/xfs.img"
        try sh("truncate -s 300M '\(image)' && mkfs.xfs -q -f '\(image)'")
        let clean = try #require(TargetFilesystem.read(volume(image, type: "xfs"), mountPoint: "/").xfsLog)
        let oracle = try logprint(image)
        #expect(clean.state.rawValue == oracle.state && clean.headBlock == oracle.head, "\(clean) vs \(oracle)")

        guard discoveryLoopTestsEnabled else { return }
        // Dirty: write, then shut the filesystem down without flushing the log, and unmount.
        let mnt = "\(w.path)/mnt"
        try sh("""
        mkdir -p '\(mnt)' && mount -o loop '\(image)' '\(mnt)'
        i=0; while [ $i -lt 40 ]; do echo $i > '\(mnt)'/f$i; mkdir '\(mnt)'/d$i; i=$((i + 1)); done
        sync; touch '\(mnt)'/after-sync
        xfs_io -x -c shutdown '\(mnt)'
        umount '\(mnt)'
        \(Self.waitForLoopDetach(image))
        """)
        let dirty = try #require(TargetFilesystem.read(volume(image, type: "xfs"), mountPoint: "/").xfsLog)
        let oracle2 = try logprint(image)
        #expect(oracle2.state == "dirty", "the oracle sees the dirty log")
        #expect(dirty.state.rawValue == oracle2.state && dirty.headBlock == oracle2.head, "\(dirty) vs \(oracle2)")

        // Mounting replays the log and unmounting writes an unmount record: clean again, at the new head.
        try sh("mount -o loop '\(image)' '\(mnt)' && umount '\(mnt)' && \(Self.waitForLoopDetach(image))")
        let replayed = try #require(TargetFilesystem.read(volume(image, type: "xfs"), mountPoint: "/").xfsLog)
        let oracle3 = try logprint(image)
        #expect(replayed.state.rawValue == oracle3.state && replayed.headBlock == oracle3.head && oracle3.state == "clean", "\(replayed) vs \(oracle3)")
    }
}
