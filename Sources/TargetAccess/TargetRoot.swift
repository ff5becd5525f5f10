import Glibc
import RescueSys
import Synchronization

/// Why a file of the target was not read. Every skip is reported, never silent.
public enum SkipReason: Sendable, Equatable, CustomStringConvertible {
    /// The path names a FIFO, device, socket or directory: only regular files are read.
    case notRegular(FileKind)
    /// Larger than the cap; the file was not read at all.
    case tooLarge(size: Int64, cap: Int64)
    /// Symlinks nest too deeply or form a loop.
    case symlinkLoop
    /// On a filesystem mounted inside the target that is not the target's
    /// own (a live /proc, /sys or /run in a chroot, the host's files).
    case otherMount
    /// Any other error, with its errno text.
    case failed(String)

    public var description: String {
        switch self {
        case .notRegular(let kind): "it is \(kind.words), and only regular files are read"
        case .tooLarge(let size, let cap): "it is \(size) bytes, over the \(cap)-byte cap"
        case .symlinkLoop: "its symbolic links loop or nest too deeply"
        case .otherMount: "it is on another filesystem mounted inside the target, not one of the target's own, so it was not read"
        case .failed(let why): why
        }
    }
}

/// A regular file read from the target, with its target path.
public struct TargetFile: Sendable {
    public let path: String
    public let bytes: [UInt8]
    public let status: FileStatus

    /// SHA-256 of the bytes as audited, lowercase hex.
    public var sha256: String { sha256Hex(bytes) }
}

/// What reading one target path gave.
public enum ReadOutcome: Sendable {
    case file(TargetFile)
    case missing
    case skipped(SkipReason)

    public var file: TargetFile? {
        if case .file(let f) = self { return f }
        return nil
    }
}

/// A path that was looked at and not read, for the report.
public struct SkippedRead: Sendable, Hashable {
    public let path: String
    public let reason: String
}

/// What lstat says about a target path, and the link text when it is a symlink.
public struct PathInfo: Sendable {
    public let kind: FileKind
    public let status: FileStatus
    /// The symlink's text as stored, when `kind == .symlink`.
    public let linkTarget: String?
}

public enum TargetAccessError: Error, Sendable, CustomStringConvertible {
    case cannotOpenRoot(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotOpenRoot(let path, let reason):
            "Cannot open \(path) as a root directory (\(reason)); give the directory where the target's root is mounted."
        }
    }
}

/// The audited system's root, opened once. Every read of a target file goes
/// through here: paths are target paths (`/etc/network/interfaces`) resolved
/// inside the root with openat2(RESOLVE_IN_ROOT), or, where the kernel lacks
/// it, one component at a time with O_NOFOLLOW. Absolute symlinks point into
/// the target and `..` stops at its root. Reads are cached, so every layer
/// sees the same bytes and the same SHA-256; the cache is bounded
/// (`cacheBudget`): only files over 256 KiB are ever dropped and read again.
public final class TargetRoot: Sendable {
    /// What a caller asked of a target path, as told to an access observer.
    public enum Access: Sendable {
        /// read, readTail, readLarge, openReader (symlinks followed).
        case read
        /// stat (followed) or lstat (last component not followed).
        case stat, lstat
        /// list (last component not followed) or listFollowing.
        case list, listFollowing
    }

    /// The default cap on a file read: 16 MiB.
    public static let defaultCap: Int64 = 16 << 20
    /// How many symlinks one resolution may pass through, as in the kernel.
    static let maxSymlinks = 40

    /// The host path of the root, for messages only; never put in evidence.
    public let hostPath: String
    public let cap: Int64
    private let rootFD: Int32
    private let useOpenat2: Bool
    private let state = Mutex(State())
    /// A test seam: told every path asked for, before resolution, so the
    /// tests can list the fixture files an audit never touches.
    private let observer: (@Sendable (Access, String) -> Void)?
    /// True while a root opened with `overlaying` answers (it asks its base
    /// root for what the overlay does not change): an observer of the base
    /// can tell a model re-run over planned changes from a direct access.
    @TaskLocal public static var answeringOverlay = false
    /// Set while a model part that is loaded lazily (unit files parsed when
    /// asked for, the initramfs opened when a question needs it) reads: the
    /// part's name. Lets a test tell those reads from a rule's.
    @TaskLocal public static var lazyModel: String? = nil
    /// For a root opened with `overlaying`: the changes, and the root they lie over.
    private let layered: (overlay: TargetOverlay, base: TargetRoot)?

    /// Bytes of file contents the read cache keeps at most. Small files
    /// (configuration, up to `alwaysKept`) stay for the whole audit; larger
    /// ones are dropped oldest first past this, and read again when asked.
    public static let cacheBudget = 64 << 20
    static let alwaysKept = 256 << 10

    private struct State {
        var cache: [String: ReadOutcome] = [:]
        /// Bytes of the files in `cache`, and the large ones in the order they came.
        var cachedBytes = 0
        var large: [String] = []
        var skipped: [String: SkippedRead] = [:]
        /// Every path `read` was asked for (the cache may drop large ones).
        var readKeys: Set<String> = []
        /// The filesystems whose files are the target's: the root's own,
        /// and those `admitFilesystems` added (by mount id, else st_dev).
        var admitted: Set<UInt64> = []
    }

    /// Opens `directory` as the target root. `forceWalk` disables openat2 so
    /// tests can prove the fallback resolver confines paths too.
    public init(directory: String, cap: Int64 = TargetRoot.defaultCap, forceWalk: Bool = false,
                observer: (@Sendable (Access, String) -> Void)? = nil) throws(TargetAccessError) {
        self.observer = observer
        layered = nil
        let fd: Descriptor
        do {
            fd = try sysOpen(directory, [.path, .directory, .closeOnExec])
        } catch {
            throw .cannotOpenRoot(path: directory, reason: error.description)
        }
        hostPath = directory
        self.cap = cap
        // Keep the raw fd for the object's lifetime; `Descriptor` would close it at scope end.
        do {
            rootFD = try sysDuplicate(fd.raw)
        } catch {
            throw .cannotOpenRoot(path: directory, reason: error.description)
        }
        if forceWalk {
            useOpenat2 = false
        } else {
            let probe = ra_probe(rootFD)
            useOpenat2 = probe
        }
        if let key = Self.filesystemKey(fd) { state.withLock { _ = $0.admitted.insert(key) } }
    }

    private init(base: TargetRoot, overlay: TargetOverlay) {
        observer = nil
        hostPath = base.hostPath
        cap = base.cap
        // Every access goes to `base`, which holds the root open.
        rootFD = -1
        useOpenat2 = base.useOpenat2
        layered = (overlay, base)
    }

    /// The target as it would be with `overlay`'s changes made: every read,
    /// stat and listing answers from the overlay first, then from this root.
    /// Nothing is written.
    public func overlaying(_ overlay: TargetOverlay) -> TargetRoot {
        Self.$answeringOverlay.withValue(true) { overlayingBase(overlay) }
    }

    private func overlayingBase(_ overlay: TargetOverlay) -> TargetRoot {
        let base = layered?.base ?? self
        var merged = layered?.overlay ?? TargetOverlay()
        // Each change lies where the path leads once the directory symlinks
        // on the way are followed (a plan writes /etc/network/interfaces
        // when /etc/network links to /etc/network-real), shallow paths first.
        let depth = { (p: String) in Self.components(p).count }
        for key in overlay.entries.keys.sorted(by: { depth($0) != depth($1) ? depth($0) < depth($1) : $0 < $1 }) {
            guard let e = overlay.entries[key] else { continue }
            let placed = resolveLayered(key, merged, base: base, followLast: false) ?? key
            merged.set(placed, e)
        }
        return TargetRoot(base: base, overlay: merged)
    }

    /// The overlay this root answers from first, when it was opened over one.
    public var overlay: TargetOverlay? { layered?.overlay }

    /// Also reads files on the filesystems mounted at these target paths
    /// (the separate /usr, /var, /boot the target's fstab names). Every other
    /// mount under the root is refused and each refusal recorded as a skip.
    public func admitFilesystems(at targetPaths: [String]) {
        if let (_, base) = layered { return base.admitFilesystems(at: targetPaths) }
        for path in targetPaths {
            guard let fd = try? openFinal(Self.normalize(path), follow: true, flags: [.path, .directory, .closeOnExec]),
                  let key = Self.filesystemKey(fd) else { continue }
            state.withLock { _ = $0.admitted.insert(key) }
        }
    }

    /// The mount an open file is on: its mount id (statx, Linux 5.8), else its
    /// st_dev with the top bit set so the two kinds never collide.
    private static func filesystemKey(_ fd: borrowing Descriptor) -> UInt64? {
        if let id = fd.mountID() { return id }
        guard let st = try? fd.status() else { return nil }
        return st.device | (1 << 63)
    }

    /// Whether an open file lies on one of the target's own filesystems.
    private func isAdmitted(_ fd: borrowing Descriptor) -> Bool {
        guard let key = Self.filesystemKey(fd) else { return false }
        return state.withLock { $0.admitted.contains(key) }
    }

    /// Directories the next boot mounts afresh (the kernel's API filesystems
    /// and tmpfs): what another mount shows there now (a live /proc or /run
    /// in a chroot, the running system's) is not the target's and will not
    /// be there at boot, so it counts as absent rather than as a skip.
    static let mountedAtBoot = ["/proc", "/sys", "/dev", "/run", "/tmp"]

    /// The outcome for a path whose file lies on another mount: absent under
    /// a directory the boot mounts afresh, else a skip that is reported.
    private func otherMount(_ key: String) -> ReadOutcome {
        if Self.mountedAtBoot.contains(where: { key == $0 || key.hasPrefix($0 + "/") }) { return .missing }
        return .skipped(.otherMount)
    }

    deinit { if rootFD >= 0 { sysClose(rootFD) } }

    /// Whether paths are resolved by openat2 (true) or by the component walk.
    public var resolvesWithOpenat2: Bool { useOpenat2 }

    // MARK: - Reading files

    /// Reads a regular file, following symlinks inside the target. Cached.
    public func read(_ path: String) -> ReadOutcome {
        if let (o, base) = layered { return Self.$answeringOverlay.withValue(true) { layeredRead(path, o, base) { base.read($0) } } }
        let key = Self.normalize(path)
        observer?(.read, key)
        if let hit = state.withLock({ $0.cache[key] }) { return hit }
        let outcome = readUncached(key)
        state.withLock { s in
            let isNew = s.cache[key] == nil
            s.cache[key] = outcome
            s.readKeys.insert(key)
            if isNew, let n = outcome.file?.bytes.count {
                s.cachedBytes += n
                if n > Self.alwaysKept { s.large.append(key) }
                var drop = 0
                while s.cachedBytes > Self.cacheBudget, drop < s.large.count {
                    let old = s.large[drop]
                    drop += 1
                    s.cachedBytes -= s.cache.removeValue(forKey: old)?.file?.bytes.count ?? 0
                }
                s.large.removeFirst(drop)
            }
            if case .skipped(let reason) = outcome {
                s.skipped[key] = SkippedRead(path: key, reason: reason.description)
            }
        }
        return outcome
    }

    /// What an earlier `read` of `path` gave, from the cache: no I/O and no
    /// observer call, so the snapshot can answer "the audited bytes" after
    /// loading without touching the target. Nil when the path was not read
    /// (or its large file was dropped), and for a root opened over an overlay.
    public func cachedRead(_ path: String) -> ReadOutcome? {
        guard layered == nil else { return nil }
        let key = Self.normalize(path)
        return state.withLock { $0.cache[key] }
    }

    /// Every path `read` was asked for so far (normalized), sorted.
    public var readPaths: [String] {
        if let (_, base) = layered { return base.readPaths }
        return state.withLock { Array($0.readKeys) }.sorted()
    }

    /// Bytes of file contents the read cache holds now (at most `cacheBudget` plus one small file).
    public var cachedByteCount: Int { layered?.base.cachedByteCount ?? state.withLock { $0.cachedBytes } }

    private func layeredRead(_ path: String, _ o: TargetOverlay, _ base: TargetRoot, _ fromDisk: (String) -> ReadOutcome) -> ReadOutcome {
        guard let r = resolveLayered(path, o, base: base, followLast: true) else { return .missing }
        switch o.entry(r) {
        case .file(let bytes, let mode, let uid, let gid)?:
            return .file(TargetFile(path: r, bytes: bytes,
                                    status: FileStatus(kind: .regular, size: Int64(bytes.count), permissions: mode, userID: uid, groupID: gid)))
        case .absent?: return .missing
        case .symlink?: return .skipped(.symlinkLoop)
        case .ownership?, nil: return fromDisk(r)
        }
    }

    /// The bytes of a regular file, or nil when it is missing or was skipped.
    public func bytes(_ path: String) -> [UInt8]? { read(path).file?.bytes }

    /// Reads at most the last `maxBytes` of a regular file (logs). Not cached, no cap.
    public func readTail(_ path: String, maxBytes: Int64) -> ReadOutcome {
        if let (o, base) = layered { return Self.$answeringOverlay.withValue(true) { layeredRead(path, o, base) { base.readTail($0, maxBytes: maxBytes) } } }
        let key = Self.normalize(path)
        observer?(.read, key)
        do throws(SysError) {
            let probe = try openFinal(key, follow: true)
            guard try probe.status().kind == .regular else { return .skipped(.notRegular(try probe.status().kind)) }
            guard isAdmitted(probe) else {
                let refused = otherMount(key)
                if case .skipped(let reason) = refused { recordSkip(key, reason) }
                return refused
            }
            let fd = try openFinal(key, follow: true, flags: [.readOnly, .nonBlocking, .noControllingTTY, .closeOnExec])
            let st = try fd.status()
            guard st.kind == .regular else { return .skipped(.notRegular(st.kind)) }
            let start = max(0, st.size - maxBytes)
            let bytes = try fd.read(count: Int(st.size - start), at: start)
            return .file(TargetFile(path: key, bytes: bytes, status: st))
        } catch {
            return outcome(for: error)
        }
    }

    /// Reads a regular file of up to `cap` bytes, not cached: for the few
    /// large files an audit needs whole (an initramfs is often 30-100 MiB).
    public func readLarge(_ path: String, cap: Int64) -> ReadOutcome {
        if let (o, base) = layered { return Self.$answeringOverlay.withValue(true) { layeredRead(path, o, base) { base.readLarge($0, cap: cap) } } }
        let key = Self.normalize(path)
        observer?(.read, key)
        return readUncached(key, cap: cap)
    }

    /// Opens a regular file for reads at any offset (logs, journal files),
    /// resolved inside the target like every read. Not cached, no cap: the
    /// caller decides how much to read. A skip is recorded like a read's.
    public func openReader(_ path: String) -> Result<TargetFileReader, ReadFailure> {
        if let (o, base) = layered {
            return Self.$answeringOverlay.withValue(true) {
                // Logs, journals and initramfs images: a plan never writes them, only removes some.
                guard let r = resolveLayered(path, o, base: base, followLast: true) else { return .failure(.missing) }
                switch o.entry(r) {
                case .absent?: return .failure(.missing)
                case .file?, .symlink?: return .failure(.skipped(.failed("it is a file the repair plan writes")))
                case .ownership?, nil: return base.openReader(r)
                }
            }
        }
        let key = Self.normalize(path)
        observer?(.read, key)
        do throws(SysError) {
            let probe = try openFinal(key, follow: true)
            let kind = try probe.status().kind
            guard kind == .regular else {
                recordSkip(key, .notRegular(kind))
                return .failure(.skipped(.notRegular(kind)))
            }
            guard isAdmitted(probe) else {
                guard case .skipped(let reason) = otherMount(key) else { return .failure(.missing) }
                recordSkip(key, reason)
                return .failure(.skipped(reason))
            }
            let fd = try openFinal(key, follow: true, flags: [.readOnly, .nonBlocking, .noControllingTTY, .closeOnExec])
            let st = try fd.status()
            guard st.kind == .regular else {
                recordSkip(key, .notRegular(st.kind))
                return .failure(.skipped(.notRegular(st.kind)))
            }
            return .success(TargetFileReader(path: key, descriptor: fd, status: st))
        } catch {
            switch outcome(for: error) {
            case .missing: return .failure(.missing)
            case .skipped(let reason):
                recordSkip(key, reason)
                return .failure(.skipped(reason))
            case .file: return .failure(.missing)
            }
        }
    }

    private func recordSkip(_ key: String, _ reason: SkipReason) {
        state.withLock { $0.skipped[key] = SkippedRead(path: key, reason: reason.description) }
    }

    /// Everything that was looked at and not read, sorted by path.
    public var skippedReads: [SkippedRead] {
        if let (_, base) = layered { return base.skippedReads }
        return state.withLock { Array($0.skipped.values) }.sorted { $0.path < $1.path }
    }

    private func readUncached(_ path: String, cap: Int64? = nil) -> ReadOutcome {
        let cap = cap ?? self.cap
        do throws(SysError) {
            // First an O_PATH open, which has no side effects on FIFOs or devices;
            // only a regular file is opened for reading, then checked to be the same inode.
            let probe = try openFinal(path, follow: true)
            let st = try probe.status()
            guard st.kind == .regular else { return .skipped(.notRegular(st.kind)) }
            guard isAdmitted(probe) else { return otherMount(path) }
            guard st.size <= cap else { return .skipped(.tooLarge(size: st.size, cap: cap)) }
            let fd = try openFinal(path, follow: true, flags: [.readOnly, .nonBlocking, .noControllingTTY, .closeOnExec])
            let st2 = try fd.status()
            guard st2.kind == .regular, st2.inode == st.inode, st2.device == st.device else {
                return .skipped(.failed("it changed while being read"))
            }
            let bytes = try fd.readAll(limit: Int(cap) + 1)
            guard bytes.count <= Int(cap) else { return .skipped(.tooLarge(size: Int64(bytes.count), cap: cap)) }
            return .file(TargetFile(path: path, bytes: bytes, status: st2))
        } catch {
            return outcome(for: error)
        }
    }

    private func outcome(for e: SysError) -> ReadOutcome {
        switch e.errno {
        case ENOENT, ENOTDIR: .missing
        case ELOOP: .skipped(.symlinkLoop)
        default: .skipped(.failed(e.description))
        }
    }

    // MARK: - Metadata

    /// lstat of a target path: the last component is not followed.
    public func lstat(_ path: String) -> PathInfo? {
        if let (o, base) = layered {
            return Self.$answeringOverlay.withValue(true) {
                guard let r = resolveLayered(path, o, base: base, followLast: false) else { return nil }
                switch o.entry(r) {
                case .file(let bytes, let mode, let uid, let gid)?:
                    return PathInfo(kind: .regular, status: FileStatus(kind: .regular, size: Int64(bytes.count), permissions: mode, userID: uid, groupID: gid), linkTarget: nil)
                case .symlink(let t)?:
                    return Self.status(of: .symlink(t)).map { PathInfo(kind: .symlink, status: $0, linkTarget: t) }
                case .absent?: return nil
                case .ownership(let mode, let uid, let gid)?:
                    return base.lstat(r).map { PathInfo(kind: $0.kind, status: $0.status.with(permissions: mode, userID: uid, groupID: gid), linkTarget: $0.linkTarget) }
                case nil:
                    if let info = base.lstat(r) { return info }
                    return o.impliesDirectory(r) ? PathInfo(kind: .directory, status: Self.directoryStatus, linkTarget: nil) : nil
                }
            }
        }
        let key = Self.normalize(path)
        observer?(.lstat, key)
        guard key != "/" else {
            let status = statusOf(rootFD)
            return status.map { PathInfo(kind: $0.kind, status: $0, linkTarget: nil) }
        }
        do {
            let (parent, name) = split(key)
            let dir = try openFinal(parent, follow: true, flags: [.path, .directory, .closeOnExec])
            let st = try sysLstatAt(dir, name)
            var link: String? = nil
            if st.kind == .symlink {
                link = String(decoding: try sysReadlinkAt(dir, name), as: UTF8.self)
            }
            return PathInfo(kind: st.kind, status: st, linkTarget: link)
        } catch {
            return nil
        }
    }

    /// stat of a target path, following symlinks inside the target.
    public func stat(_ path: String) -> FileStatus? {
        if let (o, base) = layered {
            return Self.$answeringOverlay.withValue(true) {
                guard let r = resolveLayered(path, o, base: base, followLast: true) else { return nil }
                switch o.entry(r) {
                case .file?: return o.entry(r).flatMap(Self.status(of:))
                case .symlink?, .absent?: return nil
                case .ownership(let mode, let uid, let gid)?: return base.stat(r)?.with(permissions: mode, userID: uid, groupID: gid)
                case nil: return base.stat(r) ?? (o.impliesDirectory(r) ? Self.directoryStatus : nil)
                }
            }
        }
        let key = Self.normalize(path)
        observer?(.stat, key)
        guard let fd = try? openFinal(key, follow: true) else { return nil }
        return try? fd.status()
    }

    /// Where a symlink at `path` leads inside the target, following the last
    /// component through every link (40 at most, as the kernel), with `..`
    /// stopping at the root: the target path of the file a write through the
    /// link would change. Nil when `path` is not a symlink or the chain
    /// dangles or loops.
    public func symlinkDestination(_ path: String) -> String? {
        var current = Self.normalize(path)
        var hops = 0
        while let link = lstat(current)?.linkTarget {
            hops += 1
            guard hops <= 40 else { return nil }
            let base = link.hasPrefix("/") ? "" : split(current).0
            var parts: [String] = []
            for c in Self.components(base + "/" + link) where c != "." {
                if c == ".." { _ = parts.popLast() } else { parts.append(c) }
            }
            current = "/" + parts.joined(separator: "/")
        }
        return hops == 0 || !exists(current) ? nil : current
    }

    /// readlink of a target path (the last component is not followed).
    public func readlink(_ path: String) -> String? { lstat(path)?.linkTarget }

    /// Whether anything exists at the path (a dangling symlink counts).
    public func exists(_ path: String) -> Bool { lstat(path) != nil }

    /// Whether the path resolves (following symlinks inside the target) to a regular file.
    public func isRegularFile(_ path: String) -> Bool { stat(path)?.kind == .regular }

    /// The entries of a target directory, sorted by name bytes. Intermediate
    /// symlinks are followed inside the target; the last component is not, so
    /// a symlink named like a directory lists nothing. Nil when not a directory.
    public func list(_ path: String) -> [DirectoryEntry]? {
        if let (o, base) = layered {
            return Self.$answeringOverlay.withValue(true) {
                guard let r = resolveLayered(path, o, base: base, followLast: false) else { return nil }
                switch o.entry(r) {
                case .file?, .symlink?, .absent?: return nil
                case .ownership?, nil: return mergedListing(base.list(r), at: r, o)
                }
            }
        }
        let key = Self.normalize(path)
        observer?(.list, key)
        do {
            let dir = try openFinal(key, follow: false, flags: [.readOnly, .directory, .closeOnExec])
            guard isAdmitted(dir) else {
                if case .skipped(let reason) = otherMount(key) { recordSkip(key, reason) }
                return nil
            }
            return try sysListDirectory(dir)
        } catch {
            return nil
        }
    }

    /// Like `list`, but follows a final symlink inside the target (for
    /// directories that are symlinks on merged-/usr systems, such as /lib).
    public func listFollowing(_ path: String) -> [DirectoryEntry]? {
        if let (o, base) = layered {
            return Self.$answeringOverlay.withValue(true) {
                guard let r = resolveLayered(path, o, base: base, followLast: true) else { return nil }
                switch o.entry(r) {
                case .file?, .symlink?, .absent?: return nil
                case .ownership?, nil: return mergedListing(base.listFollowing(r), at: r, o)
                }
            }
        }
        let key = Self.normalize(path)
        observer?(.listFollowing, key)
        do {
            let dir = try openFinal(key, follow: true, flags: [.readOnly, .directory, .closeOnExec])
            guard isAdmitted(dir) else {
                if case .skipped(let reason) = otherMount(key) { recordSkip(key, reason) }
                return nil
            }
            return try sysListDirectory(dir)
        } catch {
            return nil
        }
    }

    // MARK: - Resolution

    private func statusOf(_ fd: Int32) -> FileStatus? {
        guard let dup = try? sysDuplicate(fd) else { return nil }
        let d = Descriptor(adopting: dup)
        return try? d.status()
    }

    /// Opens a target path. With `follow` false the last component is not
    /// followed (O_NOFOLLOW): a final symlink opens as the link with O_PATH, or
    /// fails with ELOOP for any other open.
    func openFinal(_ path: String, follow: Bool, flags: OpenFlags = [.path, .closeOnExec]) throws(SysError) -> Descriptor {
        let root = Descriptor(adopting: try sysDuplicate(rootFD))
        let flags = follow ? flags : flags.union(.noFollow)
        if useOpenat2 {
            let relative = String(path.drop(while: { $0 == "/" }))
            return try sysOpenInRoot(root, relative.isEmpty ? "." : relative, flags)
        }
        return try walk(root, path, follow: follow, flags: flags)
    }

    /// The fallback resolver: one component at a time with O_NOFOLLOW, symlinks
    /// read and re-resolved against the target root, `..` never above it.
    private func walk(_ root: borrowing Descriptor, _ path: String, follow: Bool, flags: OpenFlags) throws(SysError) -> Descriptor {
        var pending = Self.components(path)
        // `stack` holds raw fds of the directories from the root down; index 0 is the root.
        var stack: [Int32] = [try sysDuplicate(root.raw)]
        defer { for fd in stack { sysClose(fd) } }
        var symlinks = 0
        while !pending.isEmpty {
            let name = pending.removeFirst()
            if name == "." { continue }
            if name == ".." {
                if stack.count > 1 { sysClose(stack.removeLast()) }
                continue
            }
            let current = stack[stack.count - 1]
            let kind = try sysLstatAt(current, name).kind
            let isLast = pending.isEmpty
            if kind == .symlink && (!isLast || follow) {
                symlinks += 1
                guard symlinks <= Self.maxSymlinks else { throw SysError("resolve", errno: ELOOP) }
                let currentDesc = Descriptor(adopting: try sysDuplicate(current))
                let text = String(decoding: try sysReadlinkAt(currentDesc, name), as: UTF8.self)
                if text.hasPrefix("/") {
                    while stack.count > 1 { sysClose(stack.removeLast()) }
                }
                pending = Self.components(text) + pending
                continue
            }
            if isLast {
                return try sysOpenAt(current, name, flags.union(.noFollow))
            }
            guard kind == .directory else { throw SysError("resolve", errno: ENOTDIR) }
            stack.append(try sysOpenAt(current, name, [.path, .directory, .noFollow, .closeOnExec]).release())
        }
        // The path resolved to a directory already on the stack (for example "/" or "a/..").
        return try sysOpenAt(stack[stack.count - 1], ".", flags.subtracting(.noFollow))
    }

    private func split(_ path: String) -> (String, String) {
        var parts = Self.components(path)
        let name = parts.popLast() ?? "."
        return ("/" + parts.joined(separator: "/"), name)
    }

    static func components(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    /// A target path in canonical form: absolute, no empty or "." components.
    /// ".." is kept; the resolver handles it inside the root.
    public static func normalize(_ path: String) -> String {
        "/" + components(path).filter { $0 != "." }.joined(separator: "/")
    }
}

/// Whether openat2 works here (kernel ≥ 5.6 and not filtered by seccomp).
private func ra_probe(_ rootFD: Int32) -> Bool {
    guard let dup = try? sysDuplicate(rootFD) else { return false }
    let root = Descriptor(adopting: dup)
    do {
        _ = try sysOpenInRoot(root, ".", [.path, .closeOnExec])
        return true
    } catch {
        return false
    }
}

/// Why a file could not be opened for reading.
public enum ReadFailure: Error, Sendable {
    case missing
    case skipped(SkipReason)
}

/// A regular file of the target opened for reads at any offset. The size is
/// the one seen at open; reads past it return what is there.
public final class TargetFileReader: @unchecked Sendable {
    public let path: String
    public let status: FileStatus
    private let fd: Int32

    init(path: String, descriptor: consuming Descriptor, status: FileStatus) {
        self.path = path
        self.status = status
        fd = descriptor.release()
    }

    deinit { sysClose(fd) }

    public var size: Int64 { status.size }

    /// pread(2) of up to `count` bytes at `offset`; nil on an error.
    public func read(at offset: Int64, count: Int) -> [UInt8]? {
        guard offset >= 0, count >= 0 else { return nil }
        return try? sysPread(fd, count: count, at: offset)
    }
}
