import CSyscalls
import Glibc

/// An errno value with the call that produced it.
public struct SysError: Error, Sendable, Equatable, CustomStringConvertible {
    public let call: String
    public let errno: Int32

    public init(_ call: String, errno: Int32 = Glibc.errno) {
        self.call = call
        self.errno = errno
    }

    public var description: String { "\(call): \(reason)" }
    /// strerror(3) of the errno alone ("No such file or directory").
    public var reason: String { String(cString: strerror(errno)) }
}

/// Retries a libc call while it fails with EINTR; every wrapper here goes through it.
@inline(__always)
func retryingEINTR<T: FixedWidthInteger>(_ body: () -> T) -> T {
    while true {
        let result = body()
        if result == -1 && errno == EINTR { continue }
        return result
    }
}

/// Open flags, named as in open(2).
public struct OpenFlags: OptionSet, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let readOnly = OpenFlags(rawValue: O_RDONLY)
    public static let path = OpenFlags(rawValue: RA_O_PATH)
    public static let noFollow = OpenFlags(rawValue: RA_O_NOFOLLOW)
    public static let directory = OpenFlags(rawValue: RA_O_DIRECTORY)
    public static let closeOnExec = OpenFlags(rawValue: RA_O_CLOEXEC)
    public static let nonBlocking = OpenFlags(rawValue: RA_O_NONBLOCK)
    public static let noControllingTTY = OpenFlags(rawValue: RA_O_NOCTTY)
}

/// The kind of a filesystem object, from `st_mode`.
public enum FileKind: String, Sendable, Codable {
    case regular, directory, symlink, fifo, socket, characterDevice, blockDevice, unknown

    public init(mode: mode_t) {
        switch mode & S_IFMT {
        case S_IFREG: self = .regular
        case S_IFDIR: self = .directory
        case S_IFLNK: self = .symlink
        case S_IFIFO: self = .fifo
        case S_IFSOCK: self = .socket
        case S_IFCHR: self = .characterDevice
        case S_IFBLK: self = .blockDevice
        default: self = .unknown
        }
    }

    /// How an administrator would name it in a sentence.
    public var words: String {
        switch self {
        case .regular: "a regular file"
        case .directory: "a directory"
        case .symlink: "a symbolic link"
        case .fifo: "a FIFO"
        case .socket: "a socket"
        case .characterDevice: "a character device"
        case .blockDevice: "a block device"
        case .unknown: "an object of unknown type"
        }
    }
}

/// What fstat(2) says about an object.
public struct FileStatus: Sendable {
    public let kind: FileKind
    public let size: Int64
    public private(set) var mode: UInt32
    public let device: UInt64
    public let inode: UInt64
    public private(set) var userID: UInt32
    public private(set) var groupID: UInt32
    public let modificationTime: Int64
    /// The device a block or character device node stands for (st_rdev).
    public let deviceNumber: UInt64

    /// A status made up rather than read: a file as a repair plan would
    /// leave it (the verdict after repair is judged on such files).
    public init(kind: FileKind, size: Int64, permissions: UInt32, userID: UInt32, groupID: UInt32) {
        self.kind = kind
        self.size = size
        let type: UInt32
        switch kind {
        case .regular: type = UInt32(S_IFREG)
        case .directory: type = UInt32(S_IFDIR)
        case .symlink: type = UInt32(S_IFLNK)
        default: type = 0
        }
        mode = type | (permissions & 0o7777)
        device = 0
        inode = 0
        self.userID = userID
        self.groupID = groupID
        modificationTime = 0
        deviceNumber = 0
    }

    /// The same status with other permission bits and owner.
    public func with(permissions: UInt32, userID: UInt32, groupID: UInt32) -> FileStatus {
        var copy = self
        copy.mode = (mode & ~UInt32(0o7777)) | (permissions & 0o7777)
        copy.userID = userID
        copy.groupID = groupID
        return copy
    }

    init(_ st: stat) {
        kind = FileKind(mode: st.st_mode)
        size = Int64(st.st_size)
        mode = UInt32(st.st_mode)
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        userID = st.st_uid
        groupID = st.st_gid
        modificationTime = Int64(st.st_mtim.tv_sec)
        deviceNumber = UInt64(st.st_rdev)
    }

    /// `MAJOR:MINOR` of `deviceNumber`, as /sys/dev/block and /proc/self/mountinfo
    /// name it (glibc's major() and minor() are macros Swift cannot import).
    public var deviceMajorMinor: String {
        let major = ((deviceNumber >> 8) & 0xfff) | ((deviceNumber >> 32) & ~UInt64(0xfff))
        let minor = (deviceNumber & 0xff) | ((deviceNumber >> 12) & ~UInt64(0xff))
        return "\(major):\(minor)"
    }

    /// Permission bits only (no file type).
    public var permissions: UInt32 { mode & 0o7777 }
    public var isExecutable: Bool { permissions & 0o111 != 0 }
}

/// A file descriptor that closes itself. Not copyable, so it is closed exactly once.
public struct Descriptor: ~Copyable, @unchecked Sendable {
    public let raw: Int32

    public init(adopting raw: Int32) { self.raw = raw }

    deinit { _ = Glibc.close(raw) }

    /// Gives up ownership without closing: the caller closes the returned descriptor.
    public consuming func release() -> Int32 {
        let fd = raw
        discard self
        return fd
    }

    /// fstat(2).
    public func status() throws(SysError) -> FileStatus {
        var st = stat()
        guard fstat(raw, &st) == 0 else { throw SysError("fstat") }
        return FileStatus(st)
    }

    /// read(2) until end of file or `limit` bytes. Retries EINTR; EAGAIN ends the read.
    public func readAll(limit: Int) throws(SysError) -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while out.count < limit {
            let want = min(chunk.count, limit - out.count)
            let n = chunk.withUnsafeMutableBytes { buf in
                retryingEINTR { Glibc.read(raw, buf.baseAddress, want) }
            }
            if n < 0 {
                if errno == EAGAIN { break }
                throw SysError("read")
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    /// statx(2) STATX_MNT_ID: the id of the mount this descriptor is on; nil
    /// where the kernel cannot say (before Linux 5.8).
    public func mountID() -> UInt64? {
        var id: UInt64 = 0
        return ra_mount_id(raw, &id) == 0 ? id : nil
    }

    /// pread(2) of `count` bytes at `offset`; shorter at end of file.
    public func read(count: Int, at offset: Int64) throws(SysError) -> [UInt8] {
        try sysPread(raw, count: count, at: offset)
    }
}

/// pread(2) on a raw descriptor the caller keeps open: `count` bytes at
/// `offset`, fewer at end of file. Retries EINTR and short reads.
public func sysPread(_ fd: Int32, count: Int, at offset: Int64) throws(SysError) -> [UInt8] {
    guard count > 0 else { return [] }
    var out = [UInt8](repeating: 0, count: count)
    var done = 0
    while done < count {
        let n = out.withUnsafeMutableBytes { buf in
            retryingEINTR { pread(fd, buf.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
        }
        if n < 0 { throw SysError("pread") }
        if n == 0 { break }
        done += n
    }
    out.removeLast(count - done)
    return out
}

/// open(2).
public func sysOpen(_ path: String, _ flags: OpenFlags) throws(SysError) -> Descriptor {
    let fd = retryingEINTR { Glibc.open(path, flags.rawValue) }
    guard fd >= 0 else { throw SysError("open \(path)") }
    return Descriptor(adopting: fd)
}

/// openat(2) relative to `dir`.
public func sysOpenAt(_ dir: borrowing Descriptor, _ path: String, _ flags: OpenFlags) throws(SysError) -> Descriptor {
    let fd = retryingEINTR { openat(dir.raw, path, flags.rawValue) }
    guard fd >= 0 else { throw SysError("openat") }
    return Descriptor(adopting: fd)
}

/// openat2(2) with RESOLVE_IN_ROOT: `path` is resolved as if `root` were `/`.
/// Throws ENOSYS where the kernel lacks openat2, so callers can fall back.
public func sysOpenInRoot(_ root: borrowing Descriptor, _ path: String, _ flags: OpenFlags,
                          noSymlinks: Bool = false) throws(SysError) -> Descriptor {
    let fd = retryingEINTR {
        ra_openat2_in_root(root.raw, path, UInt64(UInt32(bitPattern: flags.rawValue)), noSymlinks ? 1 : 0)
    }
    guard fd >= 0 else { throw SysError("openat2") }
    return Descriptor(adopting: fd)
}

/// fstatat(2) with AT_SYMLINK_NOFOLLOW: the entry `name` in `dir`, not what it points to.
public func sysLstatAt(_ dir: borrowing Descriptor, _ name: String) throws(SysError) -> FileStatus {
    var st = stat()
    guard fstatat(dir.raw, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { throw SysError("fstatat") }
    return FileStatus(st)
}

/// readlinkat(2): the text of the symlink `name` in `dir`, byte for byte.
public func sysReadlinkAt(_ dir: borrowing Descriptor, _ name: String) throws(SysError) -> [UInt8] {
    var buf = [UInt8](repeating: 0, count: 4096)
    let n = buf.withUnsafeMutableBufferPointer { p in
        p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: p.count) { readlinkat(dir.raw, name, $0, p.count) }
    }
    guard n >= 0 else { throw SysError("readlinkat") }
    return Array(buf[0..<n])
}

/// fcntl(2) F_DUPFD_CLOEXEC: a second descriptor, closed on exec, for the
/// open file behind `fd`; the caller owns it.
public func sysDuplicate(_ fd: Int32) throws(SysError) -> Int32 {
    let dup = retryingEINTR { fcntl(fd, F_DUPFD_CLOEXEC, 0) }
    guard dup >= 0 else { throw SysError("fcntl F_DUPFD_CLOEXEC") }
    return dup
}

/// close(2) of a raw descriptor the caller owns. Not retried on EINTR:
/// Linux has released the descriptor by then.
public func sysClose(_ fd: Int32) {
    _ = Glibc.close(fd)
}

/// fstatat(2) with AT_SYMLINK_NOFOLLOW on a raw directory descriptor the
/// caller keeps open.
public func sysLstatAt(_ dir: Int32, _ name: String) throws(SysError) -> FileStatus {
    var st = stat()
    guard fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { throw SysError("fstatat") }
    return FileStatus(st)
}

/// openat(2) relative to a raw directory descriptor the caller keeps open.
public func sysOpenAt(_ dir: Int32, _ path: String, _ flags: OpenFlags) throws(SysError) -> Descriptor {
    let fd = retryingEINTR { openat(dir, path, flags.rawValue) }
    guard fd >= 0 else { throw SysError("openat") }
    return Descriptor(adopting: fd)
}

/// readlink(2) of a host path (sysfs, /proc/self/fd); nil when it is not a
/// readable symlink.
public func sysReadlink(_ path: String) -> String? {
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink(path, &buf, buf.count - 1)
    guard n > 0 else { return nil }
    return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// One directory entry as getdents reports it (the kind is lstat's, never followed).
public struct DirectoryEntry: Sendable, Hashable {
    public let name: String
    public let kind: FileKind

    public init(name: String, kind: FileKind) {
        self.name = name
        self.kind = kind
    }
}

/// The entries of an open directory, without "." and "..", sorted by name bytes
/// (the C locale order that run-parts, glob and systemd use).
public func sysListDirectory(_ dir: borrowing Descriptor) throws(SysError) -> [DirectoryEntry] {
    // fdopendir takes ownership of its descriptor, so give it a duplicate.
    let dupFD = fcntl(dir.raw, F_DUPFD_CLOEXEC, 0)
    guard dupFD >= 0 else { throw SysError("fcntl") }
    guard let stream = fdopendir(dupFD) else {
        let e = errno
        _ = Glibc.close(dupFD)
        throw SysError("fdopendir", errno: e)
    }
    defer { closedir(stream) }
    var names: [String] = []
    while let ent = readdir(stream) {
        let name = withUnsafeBytes(of: ent.pointee.d_name) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        if name == "." || name == ".." { continue }
        names.append(name)
    }
    names.sort { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    var out: [DirectoryEntry] = []
    out.reserveCapacity(names.count)
    for name in names {
        let kind = (try? sysLstatAt(dir, name).kind) ?? .unknown
        out.append(DirectoryEntry(name: name, kind: kind))
    }
    return out
}

/// stat(2) of a host path (following symlinks), with the errno when it fails.
public func sysStatus(_ path: String) throws(SysError) -> FileStatus {
    var st = stat()
    guard stat(path, &st) == 0 else { throw SysError("stat") }
    return FileStatus(st)
}

/// lstat(2) of a host path (a final symlink is not followed); nil when it fails.
public func sysLstat(_ path: String) -> FileStatus? {
    var st = stat()
    guard lstat(path, &st) == 0 else { return nil }
    return FileStatus(st)
}

/// isatty(3) (an ioctl on the descriptor).
public func sysIsTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

/// time(2): seconds since the epoch.
public func sysNow() -> Int64 { Int64(time(nil)) }

/// stat(2) of a host path (following symlinks); nil when it does not exist.
public func sysStat(_ path: String) -> FileStatus? {
    var st = stat()
    guard stat(path, &st) == 0 else { return nil }
    return FileStatus(st)
}

/// write(2) of all of `text` to a descriptor (stdout, stderr), retrying short writes and EINTR.
public func sysWriteAll(_ fd: Int32, _ text: String) {
    var text = text
    text.withUTF8 { sysWriteAll(fd, $0) }
}

/// Writes all of `bytes` (a report of many MiB is written where it lies, not copied).
public func sysWriteAll(_ fd: Int32, _ bytes: [UInt8]) {
    bytes.withUnsafeBufferPointer { sysWriteAll(fd, $0) }
}

public func sysWriteAll(_ fd: Int32, _ bytes: UnsafeBufferPointer<UInt8>) {
    guard let base = bytes.baseAddress else { return }
    var done = 0
    while done < bytes.count {
        let n = retryingEINTR { Glibc.write(fd, base + done, bytes.count - done) }
        if n <= 0 { return }
        done += n
    }
}

/// Writes a host file (not the target: the target is never written) without
/// following a symlink at `path`: an existing symlink, even a dangling one,
/// is refused (ELOOP), so `-o` can never overwrite or chmod what a planted
/// link points to. A new file or an existing regular file is replaced
/// atomically: the text goes to a fresh name in the same directory, created
/// with open(2) O_CREAT|O_EXCL|O_NOFOLLOW (never someone else's file), gets
/// fchmod(2) `mode`, and is renamed over `path`. Anything else that exists
/// (a FIFO, /dev/null) is opened with O_NOFOLLOW and written in place, its
/// mode untouched.
public func sysWriteFile(_ path: String, _ text: String, mode: mode_t) throws(SysError) {
    var st = stat()
    if lstat(path, &st) == 0 {
        let kind = FileKind(mode: st.st_mode)
        if kind == .symlink { throw SysError("refusing the symbolic link \(path)", errno: ELOOP) }
        if kind == .directory { throw SysError("open \(path)", errno: EISDIR) }
        if kind != .regular {
            let fd = retryingEINTR { Glibc.open(path, RA_O_WRONLY | RA_O_NOFOLLOW | RA_O_CLOEXEC | RA_O_NOCTTY) }
            guard fd >= 0 else { throw SysError("open \(path)") }
            defer { _ = Glibc.close(fd) }
            try writeAll(fd, text, path: path)
            return
        }
    } else if errno != ENOENT {
        throw SysError("lstat \(path)")
    }
    let slash = path.lastIndex(of: "/")
    let dir = slash.map { String(path[...$0]) } ?? ""
    let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
    var attempt = 0
    while true {
        attempt += 1
        let temp = "\(dir).\(base).\(getpid()).\(attempt).tmp"
        let fd = retryingEINTR { Glibc.open(temp, RA_O_WRONLY | RA_O_CREAT | RA_O_EXCL | RA_O_NOFOLLOW | RA_O_CLOEXEC, 0o600) }
        if fd < 0 {
            if errno == EEXIST && attempt < 100 { continue }
            throw SysError("open \(temp)")
        }
        do throws(SysError) {
            defer { _ = Glibc.close(fd) }
            try writeAll(fd, text, path: path)
            guard fchmod(fd, mode) == 0 else { throw SysError("fchmod \(path)") }
            guard rename(temp, path) == 0 else { throw SysError("rename to \(path)") }
        } catch {
            _ = unlink(temp)
            throw error
        }
        return
    }
}

private func writeAll(_ fd: Int32, _ text: String, path: String) throws(SysError) {
    var bytes = Array(text.utf8)
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeMutableBytes { buf in
            retryingEINTR { Glibc.write(fd, buf.baseAddress! + done, buf.count - done) }
        }
        guard n > 0 else { throw SysError("write \(path)") }
        done += n
    }
}

/// realpath(3) of a host path, or nil when it cannot be resolved.
public func sysRealPath(_ path: String) -> String? {
    guard let p = realpath(path, nil) else { return nil }
    defer { free(p) }
    return String(cString: p)
}

/// Where this process's "/" sits, for a report that must say whether the
/// running kernel and hardware belong to the audited root.
public enum RootPlacement: Sendable, Equatable {
    /// "/" is the root of PID 1 of this PID namespace: the running system.
    case system
    /// "/" is not init's root: a chroot (often of the target, on a rescue system).
    case chroot
    /// Neither could be told (no /proc, no right to look at PID 1's root,
    /// and "/" is the root of a mount).
    case unknown
}

/// Compares "/" with /proc/1/root, as systemd's running_in_chroot() does;
/// without /proc or the right to look at PID 1, a "/" that is not the root
/// of any mount (statx STATX_ATTR_MOUNT_ROOT) is a chroot into a directory.
public func sysRootPlacement() -> RootPlacement {
    var mine = stat(), init1 = stat()
    if stat("/", &mine) == 0, stat("/proc/1/root/", &init1) == 0 {
        return mine.st_dev == init1.st_dev && mine.st_ino == init1.st_ino ? .system : .chroot
    }
    return ra_root_is_mount_root() == 0 ? .chroot : .unknown
}

/// Runs `body` once on a new detached POSIX thread; false when none could be
/// started (the caller then does the work itself, later). Not a Swift
/// concurrency task: its executor, Dispatch, traps (SIGILL) inside a bare
/// chroot without /proc and /sys, where a rescue-shell audit may run.
public func sysStartThread(_ body: @escaping @Sendable () -> Void) -> Bool {
    final class Box: @unchecked Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { arg in
        guard let arg else { return nil }
        Unmanaged<Box>.fromOpaque(arg).takeRetainedValue().body()
        return nil
    }, box)
    guard rc == 0 else {
        Unmanaged<Box>.fromOpaque(box).release()
        return false
    }
    pthread_detach(thread)
    return true
}
