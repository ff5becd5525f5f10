import Glibc
import RescueSys

/// Mounts volumes read-only through read-only loop devices, never letting the
/// kernel replay a journal, and remembers what to undo. Used only from one
/// thread: the private namespace's, or the caller's for `--keep-mounted`;
/// it is handed between them only through the namespace's job hand-off,
/// which orders the accesses, hence the unchecked Sendable.
final class Mounter: @unchecked Sendable {
    /// One mount of ours.
    struct Mounted {
        /// Where it is mounted, as the mounting thread sees it.
        let mountPoint: String
        let loopDevice: String
        let fsType: String
        let options: String
    }

    private(set) var mounted: [Mounted] = []
    private(set) var notes: [String] = []

    /// Mount options to try, in order, for each filesystem type: every one of
    /// them keeps the journal or log untouched.
    static func optionSets(fsType: String, subvolume: String?) -> [String] {
        let sub = subvolume.map { ",subvol=\($0)" } ?? ""
        switch fsType {
        case "ext3", "ext4":
            return ["noload"]
        case "xfs":
            // nouuid only when an XFS with the same UUID is mounted already
            // (an image of the rescue host's own disk); mount says EINVAL then.
            return ["norecovery", "norecovery,nouuid"]
        case "btrfs":
            // rescue=nologreplay since 5.9; plain nologreplay before (and as an alias after).
            return ["rescue=nologreplay" + sub, "nologreplay" + sub]
        case "f2fs":
            return ["norecovery"]
        default:
            return [String(sub.dropFirst())]
        }
    }

    /// Attaches `volume` to a read-only, auto-clearing loop device (even a
    /// real block device: the loop is what guarantees no write reaches it)
    /// and mounts it read-only on `target`, the filesystem type given
    /// explicitly as blkid named it.
    @discardableResult
    func mount(_ volume: Volume, on target: String, subvolume: String? = nil) throws(DiscoveryError) -> Mounted {
        let loop: LoopDevice
        do {
            loop = try LoopDevice.attach(volume.source, offset: UInt64(volume.offset), sizeLimit: UInt64(volume.size))
        } catch {
            throw .loopFailed(path: volume.source, reason: error.description)
        }
        // On any failure below, detach at once rather than wait for AUTOCLEAR.
        var keep = false
        defer { if keep { loop.release() } else { loop.detach() } }

        var types = [volume.filesystem.type]
        // ext2/ext3 are served by the ext4 driver on most kernels.
        if volume.filesystem.type == "ext2" || volume.filesystem.type == "ext3" { types.append("ext4") }
        var lastError = SysError("mount", errno: EINVAL)
        for type in types {
            for options in Self.optionSets(fsType: type, subvolume: subvolume) {
                do {
                    try sysMountReadOnly(source: loop.path, target: target, fsType: type, options: options)
                    if options.contains("nouuid") {
                        notes.append("\(volume.name): XFS mounted with nouuid, because a filesystem with the same UUID is already mounted here.")
                    }
                    keep = true
                    let m = Mounted(mountPoint: target, loopDevice: loop.path, fsType: type, options: options)
                    mounted.append(m)
                    return m
                } catch {
                    lastError = error
                    // EINVAL: options this kernel does not know; ENODEV: no such type.
                    // ENOENT on btrfs: no such subvolume. Anything else is final.
                    if ![EINVAL, ENODEV, ENOENT].contains(error.errno) { break }
                }
            }
        }
        throw .mountFailed(device: volume.name, fsType: volume.filesystem.type, reason: lastError.description)
    }

    /// Mounts `volume` on the directory `targetPath` of the already mounted
    /// root at `root`. The directory is resolved inside the target with
    /// openat2(RESOLVE_IN_ROOT), so a symlink in the target cannot move a mount
    /// onto a host path; the mount goes through the resolved descriptor.
    func mountInside(_ volume: Volume, root: String, targetPath: String) throws(DiscoveryError) -> Mounted {
        let dirFD: Descriptor
        do {
            dirFD = try Self.openInside(root: root, targetPath: targetPath)
        } catch {
            throw .mountFailed(device: volume.name, fsType: volume.filesystem.type,
                               reason: "\(targetPath) is not a directory on the root filesystem: \(error.description)")
        }
        let realPath = sysReadlink("/proc/self/fd/\(dirFD.raw)") ?? root + targetPath
        let m = try mount(volume, on: "/proc/self/fd/\(dirFD.raw)")
        // Record the real path: the descriptor path cannot name the mount for umount.
        let fixed = Mounted(mountPoint: realPath, loopDevice: m.loopDevice, fsType: m.fsType, options: m.options)
        mounted[mounted.count - 1] = fixed
        return fixed
    }

    static func openInside(root: String, targetPath: String) throws(SysError) -> Descriptor {
        let rootFD = try sysOpen(root, [.path, .directory, .closeOnExec])
        let relative = String(targetPath.drop(while: { $0 == "/" }))
        return try sysOpenInRoot(rootFD, relative.isEmpty ? "." : relative, [.path, .directory, .closeOnExec])
    }

    /// Unmounts the latest mount (used after scoring a candidate).
    func unmountLast() {
        guard let last = mounted.popLast() else { return }
        Self.unmount(last.mountPoint)
    }

    /// Unmounts everything, newest first. A mount still busy (a descriptor
    /// open in it) is detached lazily; it and its loop device go away when
    /// the last descriptor closes.
    func unmountAll() {
        while let m = mounted.popLast() { Self.unmount(m.mountPoint) }
    }

    /// Forgets the mounts without unmounting them (`--keep-mounted`).
    func forget() { mounted.removeAll() }

    static func unmount(_ path: String) {
        do {
            try sysUnmount(path)
        } catch {
            _ = try? sysUnmount(path, lazy: true)
        }
    }
}
