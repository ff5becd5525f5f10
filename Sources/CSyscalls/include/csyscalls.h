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

#endif
