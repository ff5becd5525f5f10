import CSyscalls
import Glibc
import Parsers
import RescueSys

/// What became of a filesystem's unreplayed journal.
public enum JournalReplayOutcome: Codable, Sendable, Equatable {
    /// Replayed in memory: the audit read the filesystem as the next mount will see it.
    case replayed(blocks: Int, transactions: Int)
    /// Not replayed, and why: the audit read the filesystem as it was before those writes.
    case notReplayed(String)
}

/// An ext3/4 journal replayed into an in-memory overlay, never onto the
/// disk: the journal is walked here (`ExtJournalReplay`), and the blocks it
/// would write are served, in place of the disk's, from one read-only file
/// of a FUSE filesystem this process serves. The filesystem is then mounted
/// from a read-only loop device over that file, `noload` as always, so the
/// kernel reads what the next boot's replay will have written while the
/// image or device is only ever read. No device-mapper, no copy.
enum JournalOverlay {
    /// A read-only file to mount `volume` from instead of its source, with
    /// its size, when its superblock says `needs_recovery`; nil and no
    /// outcome when it does not. `directory`: a fresh empty directory in the
    /// namespace's own tmpfs, where the overlay is mounted.
    static func prepare(_ volume: Volume, directory: String) -> (path: String, size: UInt64, server: pid_t, outcome: JournalReplayOutcome)? {
        guard ["ext3", "ext4"].contains(volume.filesystem.type) else { return nil }
        let raw = Glibc.open(volume.source, O_RDONLY | O_CLOEXEC)
        guard raw >= 0 else { return nil }
        defer { _ = Glibc.close(raw) }
        guard let sb = try? sysPread(raw, count: 1024, at: volume.offset + 1024), let ext = ExtSuperblock.decode(sb), ext.needsRecovery else {
            return nil
        }
        func refused(_ why: String) -> (String, UInt64, pid_t, JournalReplayOutcome) { ("", 0, 0, .notReplayed(why)) }
        let replay: ExtJournalReplay
        let blockSize: Int
        do throws(ExtJournalReplay.Refusal) {
            let read = { (block: UInt64) -> [UInt8]? in
                guard let bs = blockSizeOf(sb), case (let at, false) = block.multipliedReportingOverflow(by: UInt64(bs)),
                      at < UInt64(Int64.max - volume.offset), volume.size <= 0 || at < UInt64(volume.size) else { return nil }
                return try? sysPread(raw, count: bs, at: volume.offset + Int64(at))
            }
            let inode = try ExtJournalInode.locate(superblock: sb, read: read)
            blockSize = inode.blockSize
            replay = try ExtJournalReplay.walk(blockSize: inode.blockSize, physical: { inode.physical($0, read: read) }, read: read)
        } catch {
            return refused(error.description)
        }
        var size = UInt64(max(0, volume.size))
        if size == 0 {
            let end = Int64(lseek(raw, 0, SEEK_END))
            guard end > volume.offset else { return refused("the size of \(volume.name) could not be read") }
            size = UInt64(end - volume.offset)
        }
        let targets = replay.blocks.map(\.target)
        let sources = replay.blocks.map { $0.source | ($0.escaped ? 1 << 63 : 0) }
        do throws(SysError) {
            try sysMakeDirectory(directory)
        } catch {
            return refused(error.description)
        }
        let server = targets.withUnsafeBufferPointer { t in
            sources.withUnsafeBufferPointer { s in
                ra_overlay_serve(directory, raw, UInt64(volume.offset), size, UInt32(blockSize), t.baseAddress, s.baseAddress, t.count)
            }
        }
        guard server > 0 else {
            let why = SysError("serve the replayed journal over FUSE at \(directory)").description
            _ = try? sysRemoveDirectory(directory)
            return refused(why)
        }
        return (directory + "/image", size, server, .replayed(blocks: replay.blocks.count, transactions: replay.transactions))
    }

    static func blockSizeOf(_ sb: [UInt8]) -> Int? {
        guard sb.count >= 0x1C else { return nil }
        let log = UInt32(sb[0x18]) | UInt32(sb[0x19]) << 8 | UInt32(sb[0x1A]) << 16 | UInt32(sb[0x1B]) << 24
        return log <= 6 ? 1024 << Int(log) : nil
    }
}
