#define _GNU_SOURCE
#include "csyscalls.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

const int RA_O_PATH = O_PATH;
const int RA_O_NOFOLLOW = O_NOFOLLOW;
const int RA_O_DIRECTORY = O_DIRECTORY;
const int RA_O_CLOEXEC = O_CLOEXEC;
const int RA_O_NONBLOCK = O_NONBLOCK;
const int RA_O_NOCTTY = O_NOCTTY;
const int RA_O_EXCL = O_EXCL;
const int RA_O_CREAT = O_CREAT;
const int RA_O_WRONLY = O_WRONLY;

#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif
#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x00002000
#endif

int ra_mount_id(int fd, uint64_t *mount_id) {
    struct statx stx;
    memset(&stx, 0, sizeof stx);
    if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) != 0) return -1;
    if (!(stx.stx_mask & STATX_MNT_ID)) {
        errno = EINVAL;
        return -1;
    }
    *mount_id = stx.stx_mnt_id;
    return 0;
}

int ra_root_is_mount_root(void) {
    struct statx stx;
    memset(&stx, 0, sizeof stx);
    if (statx(AT_FDCWD, "/", 0, STATX_BASIC_STATS, &stx) != 0) return -1;
    if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)) return -1;
    return (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) ? 1 : 0;
}

int ra_openat2_in_root(int dirfd, const char *path, uint64_t flags, int no_symlinks) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = flags;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    if (no_symlinks) how.resolve |= RESOLVE_NO_SYMLINKS;
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}
