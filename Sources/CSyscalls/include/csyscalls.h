#ifndef RESCUE_AUDIT_CSYSCALLS_H
#define RESCUE_AUDIT_CSYSCALLS_H

#include <stdint.h>

/// openat2(2) with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS (| RESOLVE_NO_SYMLINKS
/// when no_symlinks is set). Returns the fd, or -1 with errno set
/// (ENOSYS where the kernel has no openat2).
int ra_openat2_in_root(int dirfd, const char *path, uint64_t flags, int no_symlinks);

/// The O_* and AT_* constants Swift cannot import as macros on every libc.
extern const int RA_O_PATH;
extern const int RA_O_NOFOLLOW;
extern const int RA_O_DIRECTORY;
extern const int RA_O_CLOEXEC;
extern const int RA_O_NONBLOCK;
extern const int RA_O_NOCTTY;
extern const int RA_O_EXCL;
extern const int RA_O_CREAT;
extern const int RA_O_WRONLY;

/// statx(2) of `fd` itself (AT_EMPTY_PATH) for STATX_MNT_ID: the id of the
/// mount it is on, as /proc/self/mountinfo numbers them. Returns 0, or -1
/// with errno set (EINVAL or a missing mask bit before Linux 5.8).
int ra_mount_id(int fd, uint64_t *mount_id);

/// Whether "/" of this process is the root of a mount (statx
/// STATX_ATTR_MOUNT_ROOT, Linux 5.8): 1 yes, 0 no (a chroot into a plain
/// directory), -1 when the kernel cannot say.
int ra_root_is_mount_root(void);

#endif
