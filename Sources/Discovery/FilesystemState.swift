import Parsers
import RescueSys

/// One of the target's own filesystems (its root, or a separate /var, /boot
/// mounted from its fstab), with what its superblock says about its health.
/// Read straight from the device or image at the partition's offset, never
/// through the mount, so it is what fsck would see at the next boot.
public struct TargetFilesystem: Codable, Sendable, Equatable {
    /// The target path it is mounted on.
    public let mountPoint: String
    public let volume: Volume
    /// ext2/3/4: the superblock's state, error and mount-count fields.
    public let ext: ExtSuperblock?
    /// XFS: whether the log is clean (found as log recovery finds it).
    public let xfsLog: XFSLogState?
    /// Why the state could not be read, when it could not.
    public let unreadable: String?
    /// When the journal needed recovery: whether it was replayed in memory for the audit.
    public var journal: JournalReplayOutcome? = nil

    /// The command that checks it, to run while it is unmounted; for a
    /// partition inside an image, after attaching it to a loop device.
    public var checkCommands: [String] {
        let fs = volume.filesystem.type
        var out: [String] = []
        var device = volume.source
        if volume.offset != 0 {
            out.append("losetup --find --show --offset \(volume.offset)\(volume.size > 0 ? " --sizelimit \(volume.size)" : "") \(shellWord(volume.source))   # prints /dev/loopN")
            device = "/dev/loopN"
        } else {
            device = shellWord(device)
        }
        switch fs {
        case "xfs":
            // xfs_repair refuses a dirty log: a mount replays it, then the check runs.
            out.append("mkdir -p /mnt/xfs-replay && mount \(device) /mnt/xfs-replay && umount /mnt/xfs-replay   # replays the log")
            out.append("xfs_repair \(device)")
        case "ext2", "ext3", "ext4":
            out.append("e2fsck -f \(device)")
        default:
            out.append("fsck -f \(device)")
        }
        return out
    }

    /// Reads the health fields of `volume`'s superblock (and, for XFS, its log).
    static func read(_ volume: Volume, mountPoint: String) -> TargetFilesystem {
        let type = volume.filesystem.type
        guard ["ext2", "ext3", "ext4", "xfs"].contains(type) else {
            return TargetFilesystem(mountPoint: mountPoint, volume: volume, ext: nil, xfsLog: nil, unreadable: nil)
        }
        do throws(SysError) {
            let fd = try sysOpen(volume.source, [.readOnly, .closeOnExec])
            if type == "xfs" {
                let sb = try fd.read(count: 512, at: volume.offset)
                guard let xfs = XFSSuperblock.decode(sb) else {
                    return TargetFilesystem(mountPoint: mountPoint, volume: volume, ext: nil, xfsLog: nil, unreadable: "no XFS superblock at the start of the filesystem")
                }
                guard xfs.hasInternalLog else {
                    return TargetFilesystem(mountPoint: mountPoint, volume: volume, ext: nil, xfsLog: nil, unreadable: "the XFS log is on an external device, which was not read")
                }
                guard let logOffset = xfs.logOffset, case (let base, false) = volume.offset.addingReportingOverflow(logOffset) else {
                    return TargetFilesystem(mountPoint: mountPoint, volume: volume, ext: nil, xfsLog: nil,
                                            unreadable: "the XFS superblock places its log outside any possible offset (sb_logstart \(xfs.logStart))")
                }
                let log = XFSLogState.find(length: xfs.logLength) { offset, count in
                    guard case (let at, false) = base.addingReportingOverflow(offset) else { return nil }
                    return try? fd.read(count: count, at: at)
                }
                return TargetFilesystem(mountPoint: mountPoint, volume: volume, ext: nil, xfsLog: log,
                                        unreadable: log == nil ? "the XFS log could not be read" : nil)
            }
            let sb = try fd.read(count: 1024, at: volume.offset + 1024)
            guard let ext = ExtSuperblock.decode(sb) else {
                return TargetFilesystem(mountPoint: mountPoint, volume: volume, ext: nil, xfsLog: nil, unreadable: "no ext superblock at offset 1024")
            }
            return TargetFilesystem(mountPoint: mountPoint, volume: volume, ext: ext, xfsLog: nil, unreadable: nil)
        } catch {
            return TargetFilesystem(mountPoint: mountPoint, volume: volume, ext: nil, xfsLog: nil, unreadable: error.description)
        }
    }
}
