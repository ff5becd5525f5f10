import CSyscalls
import Glibc

/// mount(2) read-only, nosuid, nodev, noexec, with the filesystem type given
/// explicitly (never guessed by the kernel) and `options` as its data string.
public func sysMountReadOnly(source: String, target: String, fsType: String, options: String) throws(SysError) {
    guard ra_mount_readonly(source, target, fsType, options) == 0 else {
        throw SysError("mount \(source) on \(target)")
    }
}

/// mount(2) of a tiny private tmpfs, to hold our own mount points.
public func sysMountTmpfs(_ target: String) throws(SysError) {
    guard ra_mount_tmpfs(target) == 0 else { throw SysError("mount tmpfs on \(target)") }
}

/// umount2(2); `lazy` adds MNT_DETACH.
public func sysUnmount(_ target: String, lazy: Bool = false) throws(SysError) {
    guard retryingEINTR({ ra_umount(target, lazy ? 1 : 0) }) == 0 else { throw SysError("umount \(target)") }
}

/// mkdir(2); an existing directory is fine.
public func sysMakeDirectory(_ path: String, mode: mode_t = 0o700) throws(SysError) {
    guard mkdir(path, mode) == 0 || errno == EEXIST else { throw SysError("mkdir \(path)") }
}

/// rmdir(2).
public func sysRemoveDirectory(_ path: String) throws(SysError) {
    guard rmdir(path) == 0 else { throw SysError("rmdir \(path)") }
}

/// gettid(2).
public func sysThreadID() -> Int32 { ra_gettid() }

/// A private mount namespace, owned by one dedicated thread.
///
/// unshare(CLONE_NEWNS) moves only the calling thread when a process has
/// several (it implies CLONE_FS, which the kernel copies per thread), and
/// Swift may run callers on any thread. So one thread is created for the
/// purpose: it unshares, makes every mount private (MS_REC|MS_PRIVATE, so
/// nothing propagates back out), and then runs every mount, unmount and
/// path lookup that must happen inside. Descriptors it opens work from any
/// thread; paths inside are reachable from any thread of this process through
/// `/proc/<pid>/task/<tid>/root`. When the process ends, for whatever reason
/// (SIGINT, SIGTERM, SIGKILL), the namespace dies with it and takes its
/// mounts along; auto-clearing loop devices then detach by themselves.
public final class PrivateMountNamespace: @unchecked Sendable {
    /// The namespace of this process, created on first use.
    public static func shared() throws(SysError) -> PrivateMountNamespace {
        try sharedResult.get()
    }

    private static let sharedResult: Result<PrivateMountNamespace, SysError> = {
        let ns = PrivateMountNamespace()
        if let failure = ns.startError { return .failure(failure) }
        return .success(ns)
    }()

    /// The call named in `SysError` when unshare(2) itself was refused
    /// (EPERM: no CAP_SYS_ADMIN in this user namespace).
    public static let unshareCall = "unshare(CLONE_NEWNS)"
    /// The call named when the new namespace's mounts could not be made
    /// private (EINVAL: "/" is not a mount point, as inside a chroot).
    public static let makePrivateCall = "mount(MS_REC|MS_PRIVATE) of /"

    /// The thread that lives in the namespace.
    public private(set) var threadID: Int32 = 0
    private var startError: SysError?
    private var job: (() -> Void)?
    private let jobReady = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
    private let jobDone = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
    /// A binary semaphore: one caller at a time hands the thread a job.
    private let callers = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)

    private init() {
        sem_init(jobReady, 0, 0)
        sem_init(jobDone, 0, 0)
        sem_init(callers, 0, 1)
        let box = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { arg in
            guard let arg else { return nil }
            let ns = Unmanaged<PrivateMountNamespace>.fromOpaque(arg).takeRetainedValue()
            ns.threadMain()
            return nil
        }, box)
        if rc != 0 {
            Unmanaged<PrivateMountNamespace>.fromOpaque(box).release()
            startError = SysError("pthread_create", errno: rc)
            return
        }
        pthread_detach(thread)
        // Wait for the thread to report whether unshare worked.
        Self.wait(jobDone)
    }

    private func threadMain() {
        // Signals are for the main thread; this one only serves mounts.
        var set = sigset_t()
        sigfillset(&set)
        pthread_sigmask(SIG_BLOCK, &set, nil)
        threadID = ra_gettid()
        switch ra_unshare_private_mounts() {
        case 0: break
        case -1:
            startError = SysError(Self.unshareCall)
            sem_post(jobDone)
            return
        default:
            startError = SysError(Self.makePrivateCall)
            sem_post(jobDone)
            return
        }
        sem_post(jobDone)
        while true {
            Self.wait(jobReady)
            job?()
            job = nil
            sem_post(jobDone)
        }
    }

    private static func wait(_ sem: UnsafeMutablePointer<sem_t>) {
        while sem_wait(sem) != 0 && errno == EINTR {}
    }

    /// Runs `body` on the namespace's thread and returns its result. Calls
    /// from several threads are served one at a time.
    public func run<R>(_ body: () -> R) -> R {
        Self.wait(callers)
        defer { sem_post(callers) }
        return withoutActuallyEscaping(body) { body in
            var result: R?
            job = { result = body() }
            sem_post(jobReady)
            Self.wait(jobDone)
            // The semaphore orders the worker's write before this read.
            guard let result else { preconditionFailure("namespace job produced no result") }
            return result
        }
    }

    /// A host path under which `path` of this namespace can be reached from
    /// any thread of the process (the thread's root, seen by the kernel).
    public func reachable(_ path: String) -> String {
        "/proc/\(getpid())/task/\(threadID)/root" + (path.hasPrefix("/") ? path : "/" + path)
    }

    /// The mountinfo of the namespace, as /proc shows it, for tests and diagnostics.
    public var mountInfoPath: String { "/proc/\(getpid())/task/\(threadID)/mountinfo" }
}
