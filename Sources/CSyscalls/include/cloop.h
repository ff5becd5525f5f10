#ifndef RESCUE_AUDIT_CLOOP_H
#define RESCUE_AUDIT_CLOOP_H

#include <stdint.h>

/// ioctl(ctl, LOOP_CTL_GET_FREE): the number of a free loop device, or -1 with errno.
int ra_loop_ctl_get_free(int ctl_fd);

/// ioctl(loop, LOOP_CONFIGURE) with LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR,
/// the given offset and size limit (0: to the end), and the backing file's
/// name recorded for losetup. 0 or -1 with errno (EINVAL/ENOTTY on kernels
/// before 5.8, where the caller falls back to ra_loop_set_fd_status).
int ra_loop_configure(int loop_fd, int backing_fd, uint64_t offset, uint64_t size_limit, const char *name);

/// The pre-5.8 way: ioctl(LOOP_SET_FD) then ioctl(LOOP_SET_STATUS64) with the
/// same flags. When the second call fails the device is cleared again.
int ra_loop_set_fd_status(int loop_fd, int backing_fd, uint64_t offset, uint64_t size_limit, const char *name);

/// ioctl(loop, LOOP_CLR_FD).
int ra_loop_clear(int loop_fd);

/// ioctl(loop, LOOP_GET_STATUS64): the flags, offset and size limit in force.
int ra_loop_get_status(int loop_fd, uint32_t *flags, uint64_t *offset, uint64_t *size_limit);

/// unshare(CLONE_NEWNS) then mount(NULL, "/", NULL, MS_REC|MS_PRIVATE, NULL):
/// a mount namespace for the calling thread whose mounts never propagate out.
/// Returns 0, -1 when unshare failed (no CAP_SYS_ADMIN), -2 when "/" could not
/// be made private (EINVAL: "/" is not a mount point, as inside a chroot).
int ra_unshare_private_mounts(void);

/// mount(2) with MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC and `data` as options.
int ra_mount_readonly(const char *source, const char *target, const char *fstype, const char *data);

/// mount(2) of a small tmpfs (for our own mount points, never the target's).
int ra_mount_tmpfs(const char *target);

/// umount2(target, 0), or with MNT_DETACH when `lazy` is set.
int ra_umount(const char *target, int lazy);

/// gettid(2).
int ra_gettid(void);

extern const uint32_t RA_LO_FLAGS_READ_ONLY;
extern const uint32_t RA_LO_FLAGS_AUTOCLEAR;

#endif
