import CSyscalls
import Glibc

/// A read-only, auto-clearing loop device over a window of a file or block
/// device. The kernel detaches it by itself when the last opener goes away
/// (LO_FLAGS_AUTOCLEAR): once a mount holds it, closing our descriptor is all
/// the cleanup there is, and a process that dies leaves nothing behind.
public final class LoopDevice: @unchecked Sendable {
    /// `/dev/loopN`.
    public let path: String
    /// The backing file or device, as given.
    public let backing: String
    public let offset: UInt64
    public let sizeLimit: UInt64
    private var fd: Int32

    private init(path: String, backing: String, offset: UInt64, sizeLimit: UInt64, fd: Int32) {
        self.path = path
        self.backing = backing
        self.offset = offset
        self.sizeLimit = sizeLimit
        self.fd = fd
    }

    deinit { release() }

    /// Closes our descriptor. With nothing else holding the device (no mount),
    /// AUTOCLEAR detaches it right here; with a mount, at its unmount.
    public func release() {
        if fd >= 0 {
            _ = Glibc.close(fd)
            fd = -1
        }
    }

    /// Detaches the device now (LOOP_CLR_FD), for error paths that cannot wait
    /// for AUTOCLEAR. Harmless when it is already gone.
    public func detach() {
        if fd >= 0 { _ = ra_loop_clear(fd) }
        release()
    }

    /// The flags the kernel reports for the device (LOOP_GET_STATUS64), for tests.
    public func kernelFlags() -> (readOnly: Bool, autoclear: Bool, offset: UInt64, sizeLimit: UInt64)? {
        var flags: UInt32 = 0, off: UInt64 = 0, limit: UInt64 = 0
        guard fd >= 0, ra_loop_get_status(fd, &flags, &off, &limit) == 0 else { return nil }
        return (flags & RA_LO_FLAGS_READ_ONLY != 0, flags & RA_LO_FLAGS_AUTOCLEAR != 0, off, limit)
    }

    /// Attaches `backing` (opened O_RDONLY, so no write can reach it through
    /// us) from `offset` for `sizeLimit` bytes (0: to the end) to a free loop
    /// device: LOOP_CTL_GET_FREE, then LOOP_CONFIGURE, or LOOP_SET_FD +
    /// LOOP_SET_STATUS64 on kernels before 5.8. Another process may grab the
    /// same free device between the two calls (EBUSY); then it asks again.
    public static func attach(_ backing: String, offset: UInt64 = 0, sizeLimit: UInt64 = 0) throws(SysError) -> LoopDevice {
        let file = retryingEINTR { Glibc.open(backing, O_RDONLY | RA_O_CLOEXEC) }
        guard file >= 0 else { throw SysError("open \(backing)") }
        defer { _ = Glibc.close(file) }
        let control = retryingEINTR { Glibc.open("/dev/loop-control", O_RDWR | RA_O_CLOEXEC) }
        guard control >= 0 else { throw SysError("open /dev/loop-control") }
        defer { _ = Glibc.close(control) }

        var useConfigure = true
        for _ in 0..<32 {
            let number = ra_loop_ctl_get_free(control)
            guard number >= 0 else { throw SysError("ioctl LOOP_CTL_GET_FREE") }
            let path = "/dev/loop\(number)"
            // Read-only open: the kernel also marks the device read-only for it.
            let loopFD = retryingEINTR { Glibc.open(path, O_RDONLY | RA_O_CLOEXEC) }
            guard loopFD >= 0 else {
                if errno == ENOENT || errno == EBUSY { continue }
                throw SysError("open \(path)")
            }
            var rc: Int32
            if useConfigure {
                rc = ra_loop_configure(loopFD, file, offset, sizeLimit, backing)
                if rc != 0 && (errno == EINVAL || errno == ENOTTY) {
                    useConfigure = false
                    rc = ra_loop_set_fd_status(loopFD, file, offset, sizeLimit, backing)
                }
            } else {
                rc = ra_loop_set_fd_status(loopFD, file, offset, sizeLimit, backing)
            }
            if rc == 0 {
                return LoopDevice(path: path, backing: backing, offset: offset, sizeLimit: sizeLimit, fd: loopFD)
            }
            let e = errno
            _ = Glibc.close(loopFD)
            if e == EBUSY { continue }
            throw SysError("ioctl LOOP_CONFIGURE \(path)", errno: e)
        }
        throw SysError("ioctl LOOP_CONFIGURE", errno: EBUSY)
    }
}
