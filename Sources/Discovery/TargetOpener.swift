import Glibc
import Parsers
import RescueSys
import Synchronization
import TargetAccess

/// An audit target, ready to read: a root directory, the root filesystem of a
/// device or image mounted read-only, with its separate /usr, /var, /boot.
public struct AuditTarget: Sendable {
    /// Host path of the root directory. For a mount in the private namespace
    /// this is a `/proc/<pid>/task/<tid>/root/…` path, which reaches the
    /// namespace from any thread of this process; for messages, prefer
    /// `description`.
    public let rootPath: String
    public let description: TargetDescription
    /// What was probed to find it; empty for a directory target.
    public let probed: [ProbedDevice]
    /// What did not go as planned but did not stop the audit (unresolved fstab lines, …).
    public internal(set) var notes: [String]
    /// With `--keep-mounted`: the commands that undo the mounts, to print.
    public let keepMountedCommands: [String]
    let session: MountSession?
    /// The root and its separate filesystems, with their superblocks' health; empty for a directory.
    public var filesystems: [TargetFilesystem] = []
    /// Every device the target's fstab could name here: for a device or
    /// discovery, all block devices of this machine; for an image, the image.
    /// Nil for a directory target, where nothing was probed.
    public var fstabDevices: [ProbedDevice]? = nil

    /// Where a directory target sits: whether the running kernel and hardware
    /// are the target's own.
    public enum Placement: Sendable, Equatable {
        /// "/" of the running system: its kernel and hardware are the target's.
        case runningSystem
        /// "/" of a chroot: the target, seen from the rescue system that runs
        /// the kernel and owns the hardware.
        case chrootOfTarget
        /// Any other directory, a device or an image.
        case elsewhere
    }

    public internal(set) var placement: Placement = .elsewhere

    /// The report's note for an audit run inside a chroot of the target.
    public static let chrootNote = "audited from inside a chroot: the running kernel and hardware are the rescue system's"

    /// Opens the confined reader on the root. Close it (let it go) before
    /// `close()`, or the unmount has to be lazy. Files on other mounts under
    /// the root (a live /proc, /sys or /run in a chroot) are not read: only
    /// the root's own filesystem and those its fstab mounts under it (and
    /// the ones this audit mounted there) are the target's.
    public func openRoot() throws(TargetAccessError) -> TargetRoot {
        let root = try TargetRoot(directory: rootPath)
        var mountPoints = description.submounts.map(\.mountPoint)
        if let bytes = root.bytes("/etc/fstab") {
            let pseudo: Set<String> = ["proc", "sysfs", "tmpfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "debugfs",
                                       "tracefs", "securityfs", "mqueue", "bpf", "pstore", "efivarfs", "configfs",
                                       "hugetlbfs", "binfmt_misc", "autofs", "fusectl", "swap", "none", "ramfs"]
            for entry in FstabEntry.parse(bytes) where !pseudo.contains(entry.fsType) {
                mountPoints.append(TargetRoot.normalize(entry.mountPoint))
            }
        }
        root.admitFilesystems(at: mountPoints)
        return root
    }

    /// Unmounts everything this target mounted (not with `--keep-mounted`)
    /// and lets its loop devices detach. Safe to call twice.
    public func close() { session?.close() }
}

/// The mounts behind one AuditTarget.
final class MountSession: Sendable {
    private let namespace: PrivateMountNamespace?
    private let state: Mutex<Mounter?>
    private let scratch: String?

    init(namespace: PrivateMountNamespace?, mounter: Mounter, scratch: String?) {
        self.namespace = namespace
        self.state = Mutex(mounter)
        self.scratch = scratch
    }

    func close() {
        guard let mounter = state.withLock({ m -> Mounter? in let x = m; m = nil; return x }) else { return }
        guard let namespace else { return }  // --keep-mounted: the mounts stay by request
        let scratch = self.scratch
        namespace.run {
            mounter.unmountAll()
            if let scratch { Scratch.remove(scratch) }
        }
    }
}

/// Our own directories for mount points inside the private namespace. A
/// tiny tmpfs, the base, is mounted once, in the namespace only, over a
/// directory of the host that the audit does not read (its host contents
/// are only hidden from the namespace's thread, never changed); each scratch
/// directory is a fresh directory inside it. Nothing is created on the host,
/// so nothing is left behind whatever ends the process (SIGKILL included):
/// the namespace dies with it, with the tmpfs and every mount under it, and
/// the auto-clearing loop devices then detach.
enum Scratch {
    /// Directories that exist on nearly every system and that an audit never
    /// needs from inside the namespace, in order of preference.
    static let hideable = ["/run", "/mnt", "/media", "/srv", "/tmp", "/var/tmp", "/home", "/root", "/opt"]

    /// The bases mounted so far, and a counter for unique names. Touched only
    /// on the namespace thread; the mutex is for the compiler's sake.
    private static let state = Mutex<(bases: [String], next: Int)>(([], 0))

    /// A fresh, empty directory in a base that hides none of `sources` (the
    /// images and devices the namespace thread opens). Runs on the namespace thread.
    static func make(avoiding sources: [String]) throws(DiscoveryError) -> String {
        let needed = (sources.map { sysRealPath($0) ?? $0 } + ["/dev", "/proc", "/sys"]).map { $0.hasSuffix("/") ? $0 : $0 + "/" }
        func hidesNothing(_ d: String) -> Bool { !needed.contains { $0.hasPrefix(d + "/") } }
        let (known, n) = state.withLock { s -> ([String], Int) in
            s.next += 1
            return (s.bases, s.next)
        }
        var base = known.first(where: hidesNothing)
        if base == nil {
            guard let dir = hideable.first(where: { d in
                // A real directory, not a symlink to somewhere an image may live.
                guard sysLstat(d)?.kind == .directory else { return false }
                return hidesNothing(d) && !known.contains(d)
            }) else {
                throw .namespaceFailed(reason: "no directory to hold mount points: every one of \(hideable.joined(separator: ", ")) is missing or holds the target")
            }
            do throws(SysError) {
                try sysMountTmpfs(dir)
            } catch {
                throw .namespaceFailed(reason: error.description)
            }
            state.withLock { $0.bases.append(dir) }
            base = dir
        }
        let scratch = "\(base ?? "/run")/rescue-audit-\(n)"
        do throws(SysError) {
            try sysMakeDirectory(scratch)
        } catch {
            throw .namespaceFailed(reason: error.description)
        }
        return scratch
    }

    /// Removes a scratch directory and the mount point directories made in
    /// it, once their mounts are gone.
    static func remove(_ dir: String) {
        if let fd = try? sysOpen(dir, [.readOnly, .directory, .closeOnExec]), let entries = try? sysListDirectory(fd) {
            for e in entries where e.kind == .directory {
                Mounter.unmount(dir + "/" + e.name)
                _ = try? sysRemoveDirectory(dir + "/" + e.name)
            }
        }
        _ = try? sysRemoveDirectory(dir)
    }
}

/// Turns what the user named into an AuditTarget.
public enum TargetOpener {
    /// Opens `target`: nil discovers every block device; a directory is used
    /// as it is; a block device or image file is probed and its root mounted.
    /// `root` picks among several roots (a device, `UUID=…`, `PARTUUID=…`,
    /// `LABEL=…` or a partition number). `keepMounted` mounts into the
    /// caller's namespace at that directory and leaves it mounted.
    public static func open(_ target: String?, root: String? = nil, keepMounted: String? = nil) throws(DiscoveryError) -> AuditTarget {
        if let target {
            let st: FileStatus
            do {
                st = try sysStatus(target)
            } catch {
                throw .notFound(path: target, reason: error.reason)
            }
            if st.kind == .directory {
                guard looksLikeLinuxRoot(target) else { throw .notALinuxRoot(path: target) }
                var target1 = AuditTarget(
                    rootPath: target,
                    description: TargetDescription(kind: .directory, source: target, device: nil, partition: nil, uuid: nil,
                                                   fsType: nil, subvolume: nil, osName: nil, osVersion: nil, submounts: []),
                    probed: [], notes: [], keepMountedCommands: [], session: nil)
                target1.placement = placement(of: target)
                if target1.placement == .chrootOfTarget { target1.notes.append(AuditTarget.chrootNote) }
                return target1
            }
        }
        let devices = try target.map { t throws(DiscoveryError) in try DeviceProber.probe(paths: [t]) } ?? DeviceProber.probeAll()
        let volumes = DeviceProber.volumes(devices)
        let sources = volumes.map(\.source)
        let namespace = try sharedNamespace()
        let kind: TargetDescription.Kind = target == nil ? .discovered : devices.first?.kind == .image ? .image : .device

        let chosen = try namespace.run { () -> Result<(RootCandidate, [String]), DiscoveryError> in
            Result { () throws(DiscoveryError) in
                try choose(volumes: volumes, devices: devices, root: root, hostMounted: target == nil, sources: sources)
            }
        }.get()
        var notes = chosen.1
        let candidate = chosen.0

        if let keepMounted {
            let mounter = Mounter()
            do {
                try sysMakeDirectory(keepMounted, mode: 0o755)
            } catch {
                throw .keepMountedDirectory(path: keepMounted, reason: error.description)
            }
            let (desc, more) = try mountTree(candidate, volumes: volumes, mounter: mounter, at: keepMounted, kind: kind, source: target)
            notes += more + mounter.notes
            var commands = ["umount -R \(shellWord(keepMounted))"]
            // The loops detach by themselves at unmount (AUTOCLEAR); the
            // losetup lines are for when something else keeps one open.
            commands += mounter.mounted.map { "losetup -d \($0.loopDevice) 2>/dev/null || true" }
            mounter.forget()
            let health = filesystems(candidate, desc, volumes)
            return AuditTarget(rootPath: keepMounted, description: desc, probed: devices, notes: notes + healthNotes(health),
                               keepMountedCommands: commands, session: MountSession(namespace: nil, mounter: mounter, scratch: nil),
                               filesystems: health, fstabDevices: fstabDevices(devices, kind: kind))
        }

        let mounted = namespace.run { () -> Result<(TargetDescription, [String], String, Mounter), DiscoveryError> in
            Result { () throws(DiscoveryError) in
                let scratch = try Scratch.make(avoiding: sources)
                let mounter = Mounter()
                let rootDir = scratch + "/root"
                do {
                    try sysMakeDirectory(rootDir)
                    let (desc, more) = try mountTree(candidate, volumes: volumes, mounter: mounter, at: rootDir, kind: kind, source: target)
                    return (desc, more + mounter.notes, scratch, mounter)
                } catch let error as DiscoveryError {
                    mounter.unmountAll()
                    Scratch.remove(scratch)
                    throw error
                } catch {
                    mounter.unmountAll()
                    Scratch.remove(scratch)
                    throw DiscoveryError.namespaceFailed(reason: "\(error)")
                }
            }
        }
        let (desc, more, scratch, mounter) = try mounted.get()
        notes += more
        let health = filesystems(candidate, desc, volumes)
        return AuditTarget(rootPath: namespace.reachable(scratch + "/root"), description: desc, probed: devices, notes: notes + healthNotes(health),
                           keepMountedCommands: [], session: MountSession(namespace: namespace, mounter: mounter, scratch: scratch),
                           filesystems: health, fstabDevices: fstabDevices(devices, kind: kind))
    }

    /// The root and each separate filesystem that was mounted under it, with
    /// their superblocks read from the device or image.
    static func filesystems(_ candidate: RootCandidate, _ desc: TargetDescription, _ volumes: [Volume]) -> [TargetFilesystem] {
        var out = [TargetFilesystem.read(candidate.volume, mountPoint: "/")]
        for sub in desc.submounts {
            guard let v = volumes.first(where: { $0.name == sub.device }) else { continue }
            out.append(TargetFilesystem.read(v, mountPoint: sub.mountPoint))
        }
        return out
    }

    /// Filesystems whose health could not be read, said so.
    static func healthNotes(_ filesystems: [TargetFilesystem]) -> [String] {
        filesystems.compactMap { fs in
            fs.unreadable.map { "The health of \(fs.mountPoint) (\(fs.volume.filesystem.type) on \(fs.volume.name)) was not checked: \($0)." }
        }
    }

    /// What the target's fstab can find at boot: a named device boots with
    /// the machine's other disks, so they are all listed; an image stands alone.
    static func fstabDevices(_ probed: [ProbedDevice], kind: TargetDescription.Kind) -> [ProbedDevice] {
        guard kind == .device else { return probed }
        var all = probed
        for d in DeviceProber.probeAll() where !all.contains(where: { $0.path == d.path }) { all.append(d) }
        return all
    }

    /// What `rescue-audit devices` shows: every probed device and which
    /// filesystems look like a root. Mounts only inside the private namespace,
    /// and unmounts before returning.
    public static func devices(_ targets: [String]) throws(DiscoveryError) -> DeviceReport {
        let devices = targets.isEmpty ? DeviceProber.probeAll() : try DeviceProber.probe(paths: targets)
        let volumes = DeviceProber.volumes(devices)
        // Listing needs no privilege; only scoring roots mounts. Without a
        // namespace the devices are still shown, with the reason.
        guard volumes.contains(where: { $0.filesystem.isLinuxRootCapable }) else {
            return DeviceReport(devices: devices, rootCandidates: [], notes: containerNotes(devices))
        }
        let namespace: PrivateMountNamespace
        do {
            namespace = try sharedNamespace()
        } catch {
            return DeviceReport(devices: devices, rootCandidates: [],
                                notes: containerNotes(devices) + ["Root filesystems were not scored: \(error.description)."])
        }
        let sources = volumes.map(\.source)
        let (candidates, notes) = try namespace.run { () -> Result<([RootCandidate], [String]), DiscoveryError> in
            Result { () throws(DiscoveryError) in
                let scratch = try Scratch.make(avoiding: sources)
                defer { Scratch.remove(scratch) }
                var notes: [String] = []
                var failures: [String] = []
                let mounter = Mounter()
                let usable = targets.isEmpty ? excludingHostMounted(volumes, notes: &notes) : volumes
                let found = RootScorer.candidates(usable, mounter: mounter, scratch: scratch, notes: &notes, failures: &failures)
                mounter.unmountAll()
                return (found, notes + mounter.notes)
            }
        }.get()
        return DeviceReport(devices: devices, rootCandidates: candidates, notes: notes + containerNotes(devices))
    }

    /// The private mount namespace, created the first time something must
    /// be mounted; its refusals become the sentence that says what is missing.
    static func sharedNamespace() throws(DiscoveryError) -> PrivateMountNamespace {
        let namespace: PrivateMountNamespace
        do {
            namespace = try PrivateMountNamespace.shared()
        } catch {
            throw namespaceError(error)
        }
        // Its mounts are reached from the other threads through /proc.
        guard sysStat("/proc/self/task/\(namespace.threadID)/root") != nil else { throw .procMissing }
        return namespace
    }

    /// What a refused namespace means for the user.
    static func namespaceError(_ error: SysError) -> DiscoveryError {
        if error.call == PrivateMountNamespace.unshareCall && (error.errno == EPERM || error.errno == EACCES) {
            return .mountPrivilegeMissing
        }
        if error.call == PrivateMountNamespace.makePrivateCall && error.errno == EINVAL {
            return .chrootRefusesNamespace
        }
        return .namespaceFailed(reason: error.description)
    }

    /// Whether a directory has what every Linux root has: /etc, /usr or the
    /// old top-level program directories. An empty directory, or a mount
    /// point where nothing is mounted yet, has none of them.
    static func looksLikeLinuxRoot(_ dir: String) -> Bool {
        guard let root = try? TargetRoot(directory: dir) else { return true }  // openRoot says why later
        return ["/etc", "/usr", "/bin", "/sbin", "/lib"].contains { root.exists($0) }
    }

    /// Where a directory target sits relative to the running system.
    static func placement(of dir: String) -> AuditTarget.Placement {
        guard let target = sysStat(dir), let slash = sysStat("/"),
              target.device == slash.device, target.inode == slash.inode else { return .elsewhere }
        switch sysRootPlacement() {
        case .system: return .runningSystem
        case .chroot: return .chrootOfTarget
        case .unknown: return .elsewhere
        }
    }

    /// Runs on the namespace thread: scores the volumes and picks the root.
    static func choose(volumes: [Volume], devices: [ProbedDevice], root: String?, hostMounted: Bool, sources: [String]) throws(DiscoveryError) -> (RootCandidate, [String]) {
        var notes: [String] = containerNotes(devices)
        var failures: [String] = []
        let scratch = try Scratch.make(avoiding: sources)
        defer { Scratch.remove(scratch) }
        let mounter = Mounter()
        defer { mounter.unmountAll() }
        if let root {
            let matching = volumes.filter { matches($0, root) }
            guard let volume = matching.first else {
                throw .rootNotFound(requested: root, probed: devices)
            }
            guard matching.count == 1 else {
                throw .rootAmbiguous(requested: root, selectors: matching.map { $0.selector(among: volumes) })
            }
            let scored = RootScorer.candidates([volume], mounter: mounter, scratch: scratch, notes: &notes, failures: &failures)
            if let c = scored.first { return (c, notes + mounter.notes) }
            notes.append("\(volume.name) does not look like a root filesystem (no os-release, init or fstab); auditing it anyway, as --root asked.")
            return (RootCandidate(volume: volume, subvolume: nil, score: 0, evidence: [], osName: nil, osVersion: nil), notes + mounter.notes)
        }
        let usable = hostMounted ? excludingHostMounted(volumes, notes: &notes) : volumes
        let candidates = RootScorer.candidates(usable, mounter: mounter, scratch: scratch, notes: &notes, failures: &failures)
        switch candidates.count {
        case 0: throw .noRoot(probed: devices, mountErrors: failures)
        case 1: return (candidates[0], notes + mounter.notes)
        default: throw .severalRoots(candidates, selectors: candidates.map { $0.volume.selector(among: volumes) })
        }
    }

    /// Whether `selector` (from `--root`) names this volume.
    static func matches(_ v: Volume, _ selector: String) -> Bool {
        func eq(_ a: String?, _ b: String) -> Bool { a.map { $0.lowercased() == b.lowercased() } ?? false }
        if selector.hasPrefix("UUID=") { return eq(v.filesystem.uuid, String(selector.dropFirst(5))) }
        if selector.hasPrefix("PARTUUID=") { return eq(v.partUUID, String(selector.dropFirst(9))) }
        if selector.hasPrefix("LABEL=") { return v.filesystem.label == String(selector.dropFirst(6)) }
        if selector.hasPrefix("PARTLABEL=") { return v.partLabel == String(selector.dropFirst(10)) }
        if let n = Int(selector) { return v.partition == n }
        return v.source == selector && v.offset == 0 || eq(v.filesystem.uuid, selector)
    }

    /// Drops volumes the rescue system itself has mounted (its own root, say):
    /// they are not the broken system, and a second mount of them is pointless.
    /// /proc/self is the main thread, so this reads the host's mounts even
    /// when called on the namespace thread.
    static func excludingHostMounted(_ volumes: [Volume], notes: inout [String]) -> [Volume] {
        guard let fd = try? sysOpen("/proc/self/mountinfo", [.readOnly, .closeOnExec]),
              let bytes = try? fd.readAll(limit: 4 << 20) else { return volumes }
        var mountedDevices = Set<String>()
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count > 2 { mountedDevices.insert(String(fields[2])) }
        }
        return volumes.filter { v in
            guard v.offset == 0 else { return true }
            guard let st = sysStat(v.source), st.kind == .blockDevice else { return true }
            if mountedDevices.contains(st.deviceMajorMinor) {
                notes.append("\(v.source) is mounted by the rescue system itself; not considered as the target's root.")
                return false
            }
            return true
        }
    }

    /// Containers and swap, named so that nothing is silently skipped.
    static func containerNotes(_ devices: [ProbedDevice]) -> [String] {
        var out: [String] = []
        for d in devices {
            for p in d.partitions {
                if let problem = p.problem { out.append("\(p.device ?? "\(d.path) partition \(p.number)"): \(problem).") }
            }
            var found: [(String, FilesystemInfo)] = []
            if let fs = d.filesystem { found.append((d.path, fs)) }
            for p in d.partitions { if let fs = p.filesystem { found.append((p.device ?? "\(d.path) partition \(p.number)", fs)) } }
            for (name, fs) in found {
                switch fs.type {
                case "LVM2_member":
                    out.append("\(name) is an LVM physical volume; activate its volume groups with `\(fs.unlockHint ?? "vgchange -ay")` and run again.")
                case "crypto_LUKS":
                    out.append("\(name) is a LUKS container; open it with `\(fs.unlockHint ?? "cryptsetup open --readonly")` and run again.")
                case "linux_raid_member":
                    out.append("\(name) is a RAID member; assemble it with `\(fs.unlockHint ?? "mdadm --assemble --readonly --scan")` and run again.")
                case "swap":
                    out.append("\(name) is swap space; nothing to audit there.")
                default:
                    break
                }
            }
        }
        return out
    }

    /// Mounts the root at `dir`, then its separate /usr, /var, /boot from
    /// its own fstab. Unresolvable fstab lines become notes.
    static func mountTree(_ c: RootCandidate, volumes: [Volume], mounter: Mounter, at dir: String,
                          kind: TargetDescription.Kind, source: String?) throws(DiscoveryError) -> (TargetDescription, [String]) {
        try mounter.mount(c.volume, on: dir, subvolume: c.subvolume)
        var notes: [String] = []
        var submounts: [Submount] = []
        do {
            let entries: [FstabEntry]
            do {
                let root = try TargetRoot(directory: dir)
                entries = root.bytes("/etc/fstab").map(FstabEntry.parse) ?? []
            } catch {
                entries = []
                notes.append("Cannot read /etc/fstab of the root: \(error.description)")
            }
            let wanted = entries
                .filter { ["/usr", "/var", "/boot", "/boot/efi"].contains(TargetRoot.normalize($0.mountPoint)) }
                .filter { !$0.options.contains("bind") && $0.fsType != "swap" && $0.fsType != "none" }
                .sorted { $0.mountPoint.count < $1.mountPoint.count }
            for entry in wanted {
                let mountPoint = TargetRoot.normalize(entry.mountPoint)
                guard let (volume, assumption) = resolve(entry.spec, volumes: volumes, root: c.volume) else {
                    notes.append("/etc/fstab line \(entry.line): \(entry.spec) for \(mountPoint) matches no probed filesystem; \(mountPoint) is audited as it is on the root filesystem.")
                    continue
                }
                if let assumption { notes.append("/etc/fstab line \(entry.line): \(assumption)") }
                guard volume.filesystem.usage == nil || volume.filesystem.usage == "filesystem" else {
                    notes.append("/etc/fstab line \(entry.line): \(entry.spec) for \(mountPoint) is \(volume.filesystem.type), not a filesystem; not mounted.")
                    continue
                }
                do {
                    _ = try mounter.mountInside(volume, root: dir, targetPath: mountPoint)
                    submounts.append(Submount(mountPoint: mountPoint, spec: entry.spec, device: volume.name, fsType: volume.filesystem.type))
                } catch {
                    notes.append("/etc/fstab line \(entry.line): \(mountPoint) was not mounted: \(error.description)")
                }
            }
        }
        let v = c.volume
        let desc = TargetDescription(kind: kind, source: source, device: v.source, partition: v.partition, uuid: v.filesystem.uuid,
                                     fsType: v.filesystem.type, subvolume: c.subvolume, osName: c.osName, osVersion: c.osVersion,
                                     submounts: submounts)
        return (desc, notes)
    }

    /// Finds the filesystem an fstab spec names. Filesystems on the root's own
    /// disk win over look-alikes elsewhere (cloned disks share UUIDs).
    static func resolve(_ spec: String, volumes: [Volume], root: Volume) -> (Volume, String?)? {
        func lower(_ s: String?) -> String? { s?.lowercased() }
        let byTag: [(String, String, (Volume) -> String?)] = [
            ("UUID=", "/dev/disk/by-uuid/", { lower($0.filesystem.uuid) }),
            ("LABEL=", "/dev/disk/by-label/", { $0.filesystem.label }),
            ("PARTUUID=", "/dev/disk/by-partuuid/", { lower($0.partUUID) }),
            ("PARTLABEL=", "/dev/disk/by-partlabel/", { $0.partLabel }),
        ]
        let sameDiskFirst = volumes.filter { $0.disk != nil && $0.disk == root.disk } + volumes.filter { $0.disk == nil || $0.disk != root.disk }
        for (tag, dir, key) in byTag {
            var value: String?
            if spec.hasPrefix(tag) { value = String(spec.dropFirst(tag.count)) }
            if spec.hasPrefix(dir) { value = FstabParser.unescapeUdev(String(spec.dropFirst(dir.count))) }
            guard var value else { continue }
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            let want = tag.contains("UUID") ? value.lowercased() : value
            return sameDiskFirst.first(where: { key($0) == want }).map { ($0, nil) }
        }
        guard spec.hasPrefix("/dev/") else { return nil }
        if let v = volumes.first(where: { $0.source == spec && $0.offset == 0 }) { return (v, nil) }
        // Inside an image, /dev/sda3 can only mean partition 3 of the same disk.
        if root.offset != 0, let disk = root.disk, let n = trailingPartitionNumber(spec),
           let v = volumes.first(where: { $0.disk == disk && $0.partition == n }) {
            return (v, "\(spec) taken to be partition \(n) of \(disk), the disk the root is on.")
        }
        return nil
    }

    static func trailingPartitionNumber(_ spec: String) -> Int? {
        let name = spec.split(separator: "/").last.map(String.init) ?? ""
        let digits = name.reversed().prefix(while: { $0.isNumber })
        guard !digits.isEmpty, digits.count < name.count else { return nil }
        let stem = name.dropLast(digits.count)
        // sda3, vdb2, xvda1, hda1, nvme0n1p3, mmcblk0p2
        let ok = stem.hasSuffix("p") ? (stem.hasPrefix("nvme") || stem.hasPrefix("mmcblk") || stem.hasPrefix("loop"))
            : ["sd", "vd", "hd", "xvd"].contains(where: { stem.hasPrefix($0) })
        return ok ? Int(String(digits.reversed())) : nil
    }
}
