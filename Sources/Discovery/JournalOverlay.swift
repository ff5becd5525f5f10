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
/// of a FUSE filesystem that a child process serves (`OverlayServer`). The
/// filesystem is then mounted from a read-only loop device over that file,
/// `noload` as always, so the kernel reads what the next boot's replay
/// will have written while the image or device is only ever read. No
/// device-mapper, no copy.
enum JournalOverlay {
    /// The server to mount `volume` from instead of its source, with the
    /// served size, when its superblock says `needs_recovery`; nil when it
    /// does not. `directory`: a fresh path in the namespace's own tmpfs,
    /// where the overlay is mounted.
    static func prepare(_ volume: Volume, directory: String) -> (server: OverlayServer?, size: UInt64, outcome: JournalReplayOutcome)? {
        do {
            let fd = try sysOpen(volume.source, [.readOnly, .closeOnExec])
            return prepare(volume, fd, directory: directory)
        } catch {
            return nil
        }
    }

    private static func prepare(_ volume: Volume, _ fd: borrowing Descriptor, directory: String)
        -> (server: OverlayServer?, size: UInt64, outcome: JournalReplayOutcome)? {
        guard let sb = try? fd.read(count: 1024, at: volume.offset + 1024), let ext = ExtSuperblock.decode(sb), ext.needsRecovery,
              ["ext3", "ext4"].contains(volume.filesystem.type) else {
            return nil
        }
        func refused(_ why: String) -> (OverlayServer?, UInt64, JournalReplayOutcome) { (nil, 0, .notReplayed(why)) }
        let raw = fd.raw
        let region = volume.size > 0 ? UInt64(volume.size) : UInt64.max
        let replay: ExtJournalReplay
        let blockSize: Int
        do throws(ExtJournalReplay.Refusal) {
            let read = { (block: UInt64) -> [UInt8]? in
                // Only blocks inside the filesystem's own region, at offsets that fit.
                guard let bs = ExtSuperblock.blockSize(sb), case (let at, false) = block.multipliedReportingOverflow(by: UInt64(bs)),
                      at < region, at < UInt64(Int64.max - volume.offset) else { return nil }
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
            guard let end = sysSize(fd), end > volume.offset else { return refused("the size of \(volume.name) could not be read") }
            size = UInt64(end - volume.offset)
        }
        do throws(SysError) {
            try sysMakeDirectory(directory)
            do throws(SysError) {
                let server = try OverlayServer.serve(
                    at: directory, source: fd, offset: UInt64(volume.offset), size: size, blockSize: UInt32(blockSize),
                    blocks: replay.blocks.map(\.target), replacements: replay.blocks.map { $0.source | ($0.escaped ? 1 << 63 : 0) })
                return (server, size, .replayed(blocks: replay.blocks.count, transactions: replay.transactions))
            } catch {
                _ = try? sysRemoveDirectory(directory)
                throw error
            }
        } catch {
            return refused(error.description)
        }
    }
}
