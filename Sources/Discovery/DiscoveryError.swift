/// Why a target could not be found, probed or mounted. Each case names the
/// path or device, and its description says what to do next.
public enum DiscoveryError: Error, Sendable, CustomStringConvertible {
    /// The named target does not exist or cannot be examined.
    case notFound(path: String, reason: String)
    /// The named target is neither a directory, a block device nor a regular file.
    case unsupportedTarget(path: String, kind: String)
    /// libblkid could not read the device or image.
    case probeFailed(path: String, reason: String)
    /// Nothing that was probed looks like a Linux root filesystem.
    /// `mountErrors` says what mount said for each filesystem it refused.
    case noRoot(probed: [ProbedDevice], mountErrors: [String] = [])
    /// More than one filesystem looks like a root; the user has to choose.
    /// `selectors` holds, for each candidate, a `--root` value that names it alone.
    case severalRoots([RootCandidate], selectors: [String])
    /// `--root` names more than one filesystem (cloned disks share UUIDs).
    case rootAmbiguous(requested: String, selectors: [String])
    /// `--root` named something that is not among the probed filesystems.
    case rootNotFound(requested: String, probed: [ProbedDevice])
    /// The private mount namespace could not be created for another reason.
    case namespaceFailed(reason: String)
    /// unshare(CLONE_NEWNS) was refused: no CAP_SYS_ADMIN (not root, a
    /// container, or `capsh --drop=cap_sys_admin`).
    case mountPrivilegeMissing
    /// The new namespace's "/" could not be made private because "/" is not
    /// a mount point: the process runs inside a chroot.
    case chrootRefusesNamespace
    /// The namespace works but /proc is not mounted, and the mounts are
    /// reached through /proc/<pid>/task/<tid>/root.
    case procMissing
    /// A directory target that does not look like the root of a Linux system.
    case notALinuxRoot(path: String)
    /// No read-only loop device could be set up over the source.
    case loopFailed(path: String, reason: String)
    /// The kernel refused every read-only, no-journal-replay mount we tried.
    case mountFailed(device: String, fsType: String, reason: String)
    /// The `--keep-mounted` directory cannot be used.
    case keepMountedDirectory(path: String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let path, let reason):
            return "Cannot examine \(path) (\(reason)); give an existing root directory, block device or disk image."
        case .unsupportedTarget(let path, let kind):
            return "\(path) is \(kind); give a root directory, a block device or a disk image file."
        case .probeFailed(let path, let reason):
            return "libblkid could not read \(path) (\(reason)); check that the device is readable and run as root."
        case .noRoot(let probed, let mountErrors):
            let names = probed.map(\.path)
            let what = names.isEmpty ? "no block devices" : names.joined(separator: ", ")
            if !mountErrors.isEmpty {
                return "No Linux root filesystem found on \(what), because mounting failed: \(mountErrors.joined(separator: "; ")); check `dmesg`, or mount the root yourself read-only and pass the directory."
            }
            return "No Linux root filesystem found on \(what); run `rescue-audit devices` to see what was probed, unlock LVM, LUKS or RAID with the commands it names, and try again."
        case .severalRoots(let candidates, let selectors):
            let list = zip(candidates, selectors).map { c, selector in
                "\(selector) (\(c.volume.filesystem.type)\(c.osName.map { ", " + $0 } ?? "")\(c.osVersion.map { " " + $0 } ?? ""))"
            }.joined(separator: "; ")
            return "Several root filesystems found: \(list); choose one with --root DEVICE (a device, UUID=… or partition number)."
        case .rootAmbiguous(let requested, let selectors):
            return "--root \(requested) names \(selectors.count) filesystems (cloned disks share UUIDs); choose one with --root \(selectors.joined(separator: " or --root "))."
        case .rootNotFound(let requested, _):
            return "--root \(requested) matches no probed filesystem; run `rescue-audit devices` and pass one of the devices, UUID=… or partition numbers it lists."
        case .namespaceFailed(let reason):
            return "Cannot create a private mount namespace (\(reason)); run rescue-audit as root outside any chroot, or pass the mounted root as a directory."
        case .mountPrivilegeMissing:
            return "mounting needs CAP_SYS_ADMIN: run as root outside the container, or pass the mounted root as a directory"
        case .chrootRefusesNamespace:
            return "inside a chroot the kernel refuses a new mount namespace: audit the device from outside the chroot, or pass the directory"
        case .procMissing:
            return "mounting needs /proc: mount it (mount -t proc proc /proc), or pass the mounted root as a directory"
        case .notALinuxRoot(let path):
            return "\(path) is not a Linux root (no /etc, /usr or init found in it); give the directory where the target's root filesystem is mounted."
        case .loopFailed(let path, let reason):
            return "Cannot attach \(path) to a read-only loop device (\(reason)); run as root and check that /dev/loop-control exists (modprobe loop)."
        case .mountFailed(let device, let fsType, let reason):
            return "Cannot mount \(device) (\(fsType)) read-only without journal replay (\(reason)); check `dmesg`, or mount it yourself read-only and pass the directory."
        case .keepMountedDirectory(let path, let reason):
            return "Cannot mount into \(path) (\(reason)); give an existing empty directory to --keep-mounted."
        }
    }
}

extension DiscoveryError {
    /// What the kernel said when a mount (or the loop device under it) was
    /// refused, named by device, for a message that lists several.
    var mountSaid: String {
        switch self {
        case .mountFailed(let device, let fsType, let reason): "\(device) (\(fsType)): \(reason)"
        case .loopFailed(let path, let reason): "\(path): \(reason)"
        default: description
        }
    }
}
