#ifndef RA_COVERLAY_H
#define RA_COVERLAY_H

#include <stddef.h>
#include <stdint.h>

/// Serves one read-only file, `image`, through FUSE at `mountpoint`: the
/// `size` bytes of `source_fd` from `offset`, in blocks of `block_size`,
/// except that block `blocks[i]` reads as block `replacements[i]` of the
/// same region (bit 63 of a replacement: the jbd2 escape flag, the first
/// four bytes are the journal magic). Nothing is ever written: the FUSE
/// filesystem is mounted read-only, its file cannot be opened for writing,
/// and `source_fd` is only pread. A forked process answers requests until
/// the filesystem is unmounted, or the calling thread ends (which ends it
/// too). Returns its pid (reap it with waitpid), or -1 with errno set.
/// Takes copies of the arrays; does not take `source_fd` (it dups it).
int ra_overlay_serve(const char *mountpoint, int source_fd, uint64_t offset, uint64_t size, uint32_t block_size,
                     const uint64_t *blocks, const uint64_t *replacements, size_t count);

#endif
