#define _GNU_SOURCE
#include "csyscalls.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
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

int ra_openat2_in_root(int dirfd, const char *path, uint64_t flags, int no_symlinks) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = flags;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    if (no_symlinks) how.resolve |= RESOLVE_NO_SYMLINKS;
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}
