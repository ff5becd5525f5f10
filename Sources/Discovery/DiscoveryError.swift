import Parsers

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
    case noRoot(probed: [ProbedDevice])
    /// More than one filesystem looks like a root; the user has to choose.
    case severalRoots([RootCandidate])
    /// `--root` named something that is not among the probed filesystems.
    case rootNotFound(requested: String, probed: [ProbedDevice])
    /// The private mount namespace could not be created (not root, or no CAP_SYS_ADMIN).
    case namespaceFailed(reason: String)
    /// No read-only loop device could be set up over the source.
    case loopFailed(path: String, reason: String)
    /// The kernel refused every read-only, no-journal-replay mount we tried.
    case mountFailed(device: String, fsType: String, reason: String)
    /// The `--keep-mounted` directory cannot be used.
    case keepMountedDirectory(path: String, reason: String)

    /// One line for the terminal: OS names, labels and paths come from the
    /// target or the command line, so control and bidi characters are escaped.
    public var description: String { printable(sentence) }

    var sentence: String {
        switch self {
        case .notFound(let path, let reason):
            return "Cannot examine \(path) (\(reason)); give an existing root directory, block device or disk image."
        case .unsupportedTarget(let path, let kind):
            return "\(path) is \(kind); give a root directory, a block device or a disk image file."
        case .probeFailed(let path, let reason):
            return "libblkid could not read \(path) (\(reason)); check that the device is readable and run as root."
        case .noRoot(let probed):
            let names = probed.map(\.path)
            let what = names.isEmpty ? "no block devices" : names.joined(separator: ", ")
            return "No Linux root filesystem found on \(what); run `rescue-audit devices` to see what was probed, unlock LVM, LUKS or RAID with the commands it names, and try again."
        case .severalRoots(let candidates):
            let list = candidates.map { c in
                "\(c.volume.selector) (\(c.volume.filesystem.type)\(c.osName.map { ", " + $0 } ?? "")\(c.osVersion.map { " " + $0 } ?? ""))"
            }.joined(separator: "; ")
            return "Several root filesystems found: \(list); choose one with --root DEVICE (a device, UUID=… or partition number)."
        case .rootNotFound(let requested, _):
            return "--root \(requested) matches no probed filesystem; run `rescue-audit devices` and pass one of the devices, UUID=… or partition numbers it lists."
        case .namespaceFailed(let reason):
            return "Cannot create a private mount namespace (\(reason)); run rescue-audit as root, or pass a mounted root directory instead."
        case .loopFailed(let path, let reason):
            return "Cannot attach \(path) to a read-only loop device (\(reason)); run as root and check that /dev/loop-control exists (modprobe loop)."
        case .mountFailed(let device, let fsType, let reason):
            return "Cannot mount \(device) (\(fsType)) read-only without journal replay (\(reason)); check `dmesg`, or mount it yourself read-only and pass the directory."
        case .keepMountedDirectory(let path, let reason):
            return "Cannot mount into \(path) (\(reason)); give an existing empty directory to --keep-mounted."
        }
    }
}
