import RescueSys
import TargetAccess

/// Decides which filesystems look like the root of an installed system.
enum RootScorer {
    /// Scores needed to count as a root: os-release alone, or init and fstab.
    static let threshold = 4

    /// btrfs subvolumes that commonly hold the root when the default does not.
    static let btrfsSubvolumes = ["@", "root", "@rootfs"]

    /// What a mounted filesystem looks like.
    struct Evaluation {
        var score = 0
        var evidence: [String] = []
        var osName: String?
        var osVersion: String?
    }

    /// Reads the root markers through the confined reader.
    static func evaluate(_ root: TargetRoot) -> Evaluation {
        var e = Evaluation()
        let osFile = root.read("/etc/os-release").file ?? root.read("/usr/lib/os-release").file
        if let osFile {
            let os = OSRelease(bytes: osFile.bytes)
            e.score += 4
            e.evidence.append(osFile.path)
            e.osName = os.name
            e.osVersion = os.versionID
        } else if root.exists("/etc/os-release") {
            // A dangling link into a separate /usr still says "root".
            e.score += 3
            e.evidence.append("/etc/os-release")
        }
        if root.exists("/etc/fstab") { e.score += 2; e.evidence.append("/etc/fstab") }
        if let initPath = ["/sbin/init", "/lib/systemd/systemd", "/usr/lib/systemd/systemd"].first(where: { root.exists($0) }) {
            e.score += 2
            e.evidence.append(initPath)
        }
        if root.isRegularFile("/etc/passwd") { e.score += 1; e.evidence.append("/etc/passwd") }
        return e
    }

    /// Mounts each Linux filesystem on a scratch directory, scores it and
    /// unmounts it again. btrfs: the default subvolume first, then the usual names.
    /// `failures` gets what mount said for each filesystem it refused, so that
    /// "no root found" can say why.
    static func candidates(_ volumes: [Volume], mounter: Mounter, scratch: String, notes: inout [String],
                           failures: inout [String]) -> [RootCandidate] {
        var out: [RootCandidate] = []
        for (index, volume) in volumes.enumerated() where volume.filesystem.isLinuxRootCapable {
            let dir = "\(scratch)/scan-\(index)"
            do {
                try sysMakeDirectory(dir)
            } catch {
                notes.append("Cannot create \(dir): \(error.description).")
                continue
            }
            defer { _ = try? sysRemoveDirectory(dir) }
            let subvolumes: [String?] = volume.filesystem.type == "btrfs" ? [nil] + btrfsSubvolumes : [nil]
            for subvolume in subvolumes {
                do {
                    try mounter.mount(volume, on: dir, subvolume: subvolume)
                } catch {
                    if subvolume == nil {
                        notes.append("\(volume.name) was not scored: \(error.description)")
                        failures.append(error.mountSaid)
                    }
                    continue
                }
                let e = evaluateMounted(dir)
                mounter.unmountLast()
                if let e, e.score >= threshold {
                    out.append(RootCandidate(volume: volume, subvolume: subvolume, score: e.score, evidence: e.evidence,
                                             osName: e.osName, osVersion: e.osVersion))
                    break
                }
            }
        }
        return out
    }

    /// Evaluates a mounted directory; the reader is gone before this returns,
    /// so the mount is not busy when it is unmounted.
    static func evaluateMounted(_ dir: String) -> Evaluation? {
        guard let root = try? TargetRoot(directory: dir) else { return nil }
        return evaluate(root)
    }
}
