import CSyscalls
import Glibc

/// One read-only file served over FUSE by a child process
/// (`ra_overlay_serve`, overlay.c): a region of a source with some of its
/// blocks read from other blocks of the same region. Used to lay a
/// replayed ext3/4 journal over an image without writing it.
public struct OverlayServer: Sendable {
    /// The FUSE mount point (a directory in the private namespace's tmpfs).
    public let directory: String
    /// The served file, `directory/image`.
    public var file: String { directory + "/image" }
    /// The server process.
    public let pid: pid_t

    /// Mounts the overlay at `directory` and forks its server:
    /// `ra_overlay_serve`. Block `blocks[i]` reads as block
    /// `replacements[i]` (bit 63: jbd2-escaped) of the `size` bytes of
    /// `source` from `offset`, in blocks of `blockSize`.
    public static func serve(at directory: String, source: borrowing Descriptor, offset: UInt64, size: UInt64, blockSize: UInt32,
                             blocks: [UInt64], replacements: [UInt64]) throws(SysError) -> OverlayServer {
        guard blocks.count == replacements.count else { throw SysError("ra_overlay_serve", errno: EINVAL) }
        let raw = source.raw
        let pid = blocks.withUnsafeBufferPointer { b in
            replacements.withUnsafeBufferPointer { r in
                ra_overlay_serve(directory, raw, offset, size, blockSize, b.baseAddress, r.baseAddress, b.count)
            }
        }
        guard pid > 0 else { throw SysError("serve a FUSE overlay at \(directory)") }
        return OverlayServer(directory: directory, pid: pid)
    }

    /// Unmounts the overlay (lazily: the loop device over its file lets go
    /// when the mount over it is gone) and reaps the server once it has
    /// ended, waiting a second at most; one still running then ends with
    /// this process (PR_SET_PDEATHSIG).
    public func stop() {
        _ = try? sysUnmount(directory, lazy: true)
        var status: Int32 = 0
        for _ in 0..<100 {
            if waitpid(pid, &status, WNOHANG) != 0 { return }
            usleep(10_000)
        }
    }
}

/// The size of what `fd` reads (a file or a block device): lseek(2) to its end.
public func sysSize(_ fd: borrowing Descriptor) -> Int64? {
    let end = lseek(fd.raw, 0, SEEK_END)
    return end >= 0 ? Int64(end) : nil
}
