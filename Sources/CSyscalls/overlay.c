#define _GNU_SOURCE
#include "coverlay.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

// A journal-replay overlay served over FUSE (see coverlay.h). The kernel
// mounts the target's filesystem from a read-only loop device over the one
// file this serves, so it reads the blocks the next boot's journal replay
// will have written, while the image itself is only ever read.

#define ROOT_ID 1
#define FILE_ID 2
#define REQUEST_BUFFER (FUSE_MIN_READ_BUFFER > (132 * 1024) ? FUSE_MIN_READ_BUFFER : (132 * 1024))
#define MAX_IO (128 * 1024)
#define ESCAPE_FLAG (1ULL << 63)
#define JBD2_MAGIC_BE "\xc0\x3b\x39\x98"

struct overlay {
    char *in, *out;  // request and reply buffers, allocated before the fork
    int fuse_fd;
    int source_fd;
    uint64_t offset, size;
    uint32_t block_size;
    uint64_t *blocks;        // sorted
    uint64_t *replacements;  // in the order of blocks
    size_t count;
};

static void free_overlay(struct overlay *o) {
    free(o->in);
    free(o->out);
    if (o->fuse_fd >= 0) close(o->fuse_fd);
    if (o->source_fd >= 0) close(o->source_fd);
    free(o->blocks);
    free(o->replacements);
    free(o);
}

static int find_block(const struct overlay *o, uint64_t block, uint64_t *replacement) {
    size_t lo = 0, hi = o->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (o->blocks[mid] < block) lo = mid + 1; else hi = mid;
    }
    if (lo < o->count && o->blocks[lo] == block) { *replacement = o->replacements[lo]; return 1; }
    return 0;
}

static ssize_t pread_full(int fd, void *buf, size_t n, uint64_t at) {
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, (char *)buf + done, n - done, (off_t)(at + done));
        if (r < 0) { if (errno == EINTR) continue; return -1; }
        if (r == 0) { memset((char *)buf + done, 0, n - done); break; }
        done += (size_t)r;
    }
    return (ssize_t)n;
}

/// `n` bytes of the overlaid region from `at` (inside it) into `buf`.
static int read_region(const struct overlay *o, char *buf, uint64_t at, size_t n) {
    uint64_t bs = o->block_size;
    while (n > 0) {
        uint64_t block = at / bs, within = at % bs;
        size_t chunk = (size_t)((bs - within) < n ? (bs - within) : n);
        uint64_t repl;
        if (find_block(o, block, &repl)) {
            uint64_t src = repl & ~ESCAPE_FLAG;
            if (pread_full(o->source_fd, buf, chunk, o->offset + src * bs + within) < 0) return -1;
            if ((repl & ESCAPE_FLAG) && within < 4) {
                size_t k = 4 - (size_t)within < chunk ? 4 - (size_t)within : chunk;
                memcpy(buf, JBD2_MAGIC_BE + within, k);
            }
        } else if (pread_full(o->source_fd, buf, chunk, o->offset + at) < 0) {
            return -1;
        }
        buf += chunk; at += chunk; n -= chunk;
    }
    return 0;
}

static void reply(const struct overlay *o, uint64_t unique, int error, const void *body, size_t len) {
    struct fuse_out_header h = { .len = (uint32_t)(sizeof h + (error ? 0 : len)), .error = -error, .unique = unique };
    struct iovec iov[2] = { { &h, sizeof h }, { (void *)body, error ? 0 : len } };
    ssize_t r;
    do { r = writev(o->fuse_fd, iov, error || len == 0 ? 1 : 2); } while (r < 0 && errno == EINTR);
}

static void fill_attr(const struct overlay *o, uint64_t id, struct fuse_attr *a) {
    memset(a, 0, sizeof *a);
    a->ino = id;
    a->nlink = id == ROOT_ID ? 2 : 1;
    a->mode = id == ROOT_ID ? (S_IFDIR | 0555) : (S_IFREG | 0444);
    a->size = id == ROOT_ID ? 0 : o->size;
    a->blocks = (a->size + 511) / 512;
    a->blksize = 4096;
}

// Runs in the forked server process: read(2), pread(2) and writev(2) only.
static void serve(struct overlay *o) {
    char *in = o->in, *out = o->out;
    for (;;) {
        ssize_t n = read(o->fuse_fd, in, REQUEST_BUFFER);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == ENOENT) continue;
            break;  // ENODEV: unmounted, or the connection was aborted
        }
        if ((size_t)n < sizeof(struct fuse_in_header)) continue;
        struct fuse_in_header *h = (struct fuse_in_header *)in;
        char *body = in + sizeof *h;
        switch (h->opcode) {
        case FUSE_INIT: {
            struct fuse_init_in *init = (struct fuse_init_in *)body;
            struct fuse_init_out r;
            memset(&r, 0, sizeof r);
            r.major = FUSE_KERNEL_VERSION;
            r.minor = init->minor < FUSE_KERNEL_MINOR_VERSION ? init->minor : FUSE_KERNEL_MINOR_VERSION;
            r.max_readahead = init->max_readahead;
            r.max_write = 4096;
            r.max_background = 16;
            r.congestion_threshold = 12;
            r.max_pages = MAX_IO / 4096;
            r.flags = FUSE_MAX_PAGES;
            reply(o, h->unique, 0, &r, sizeof r);
            break;
        }
        case FUSE_LOOKUP: {
            if (h->nodeid != ROOT_ID || strcmp(body, "image") != 0) { reply(o, h->unique, ENOENT, NULL, 0); break; }
            struct fuse_entry_out e;
            memset(&e, 0, sizeof e);
            e.nodeid = FILE_ID;
            e.generation = 1;
            e.entry_valid = e.attr_valid = 3600;
            fill_attr(o, FILE_ID, &e.attr);
            reply(o, h->unique, 0, &e, sizeof e);
            break;
        }
        case FUSE_GETATTR: {
            struct fuse_attr_out a;
            memset(&a, 0, sizeof a);
            a.attr_valid = 3600;
            fill_attr(o, h->nodeid == FILE_ID ? FILE_ID : ROOT_ID, &a.attr);
            reply(o, h->unique, 0, &a, sizeof a);
            break;
        }
        case FUSE_OPEN: {
            struct fuse_open_in *oi = (struct fuse_open_in *)body;
            if (h->nodeid != FILE_ID) { reply(o, h->unique, EISDIR, NULL, 0); break; }
            if ((oi->flags & O_ACCMODE) != O_RDONLY) { reply(o, h->unique, EROFS, NULL, 0); break; }
            struct fuse_open_out r = { .fh = 1, .open_flags = FOPEN_KEEP_CACHE };
            reply(o, h->unique, 0, &r, sizeof r);
            break;
        }
        case FUSE_READ: {
            struct fuse_read_in *ri = (struct fuse_read_in *)body;
            uint64_t at = ri->offset;
            size_t len = ri->size < MAX_IO ? ri->size : MAX_IO;
            if (h->nodeid != FILE_ID || at >= o->size) { reply(o, h->unique, 0, NULL, 0); break; }
            if (len > o->size - at) len = (size_t)(o->size - at);
            if (read_region(o, out, at, len) != 0) { reply(o, h->unique, EIO, NULL, 0); break; }
            reply(o, h->unique, 0, out, len);
            break;
        }
        case FUSE_STATFS: {
            struct fuse_statfs_out s;
            memset(&s, 0, sizeof s);
            s.st.bsize = s.st.frsize = 4096;
            s.st.namelen = 255;
            reply(o, h->unique, 0, &s, sizeof s);
            break;
        }
        case FUSE_OPENDIR: {
            struct fuse_open_out r = { .fh = 2 };
            reply(o, h->unique, 0, &r, sizeof r);
            break;
        }
        case FUSE_RELEASE: case FUSE_RELEASEDIR: case FUSE_FLUSH: case FUSE_ACCESS:
            reply(o, h->unique, 0, NULL, 0);
            break;
        case FUSE_FORGET: case FUSE_BATCH_FORGET: case FUSE_INTERRUPT:
            break;  // no reply
        case FUSE_DESTROY:
            reply(o, h->unique, 0, NULL, 0);
            return;
        default:
            reply(o, h->unique, ENOSYS, NULL, 0);
        }
    }
}

struct pair { uint64_t block, replacement; };

static int by_block(const void *a, const void *b) {
    uint64_t x = ((const struct pair *)a)->block, y = ((const struct pair *)b)->block;
    return x < y ? -1 : x > y;
}

int ra_overlay_serve(const char *mountpoint, int source_fd, uint64_t offset, uint64_t size, uint32_t block_size,
                     const uint64_t *blocks, const uint64_t *replacements, size_t count) {
    if (block_size == 0) { errno = EINVAL; return -1; }
    struct overlay *o = calloc(1, sizeof *o);
    if (!o) return -1;
    o->fuse_fd = -1;
    o->source_fd = -1;
    o->offset = offset;
    o->size = size;
    o->block_size = block_size;
    o->count = count;
    struct pair *pairs = calloc(count ? count : 1, sizeof *pairs);
    o->blocks = calloc(count ? count : 1, sizeof(uint64_t));
    o->replacements = calloc(count ? count : 1, sizeof(uint64_t));
    if (!pairs || !o->blocks || !o->replacements) { free(pairs); free_overlay(o); errno = ENOMEM; return -1; }
    for (size_t i = 0; i < count; i++) pairs[i] = (struct pair){ blocks[i], replacements[i] };
    qsort(pairs, count, sizeof *pairs, by_block);
    for (size_t i = 0; i < count; i++) { o->blocks[i] = pairs[i].block; o->replacements[i] = pairs[i].replacement; }
    free(pairs);

    o->source_fd = fcntl(source_fd, F_DUPFD_CLOEXEC, 0);
    o->fuse_fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
    if (o->source_fd < 0 || o->fuse_fd < 0) { int e = errno; free_overlay(o); errno = e; return -1; }
    char options[128];
    snprintf(options, sizeof options, "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other", o->fuse_fd);
    if (mount("rescue-audit-journal", mountpoint, "fuse.rescue-audit", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, options) != 0) {
        int e = errno; free_overlay(o); errno = e; return -1;
    }
    o->in = malloc(REQUEST_BUFFER);
    o->out = malloc(MAX_IO);
    if (!o->in || !o->out) { umount2(mountpoint, MNT_DETACH); free_overlay(o); errno = ENOMEM; return -1; }
    // A process, not a thread: when this process is killed while the kernel
    // waits on a read through the overlay (in D state, unkillable), a
    // thread's descriptor to /dev/fuse would stay open with it and nothing
    // would answer, a hang forever. The server outlives it just long enough:
    // PR_SET_PDEATHSIG ends it when the thread that forked it (the private
    // namespace's, which lives as long as the process) is gone.
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) { int e = errno; umount2(mountpoint, MNT_DETACH); free_overlay(o); errno = e; return -1; }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(0);
        for (int sig = 1; sig < 32; sig++) if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
        // Keep only the two descriptors it serves with: a copy of a loop
        // device's would keep that device attached while this runs.
        int a = o->fuse_fd < o->source_fd ? o->fuse_fd : o->source_fd;
        int b = o->fuse_fd < o->source_fd ? o->source_fd : o->fuse_fd;
        if (a > 0) syscall(SYS_close_range, 0u, (unsigned)a - 1, 0u);
        if (b > a + 1) syscall(SYS_close_range, (unsigned)a + 1, (unsigned)b - 1, 0u);
        syscall(SYS_close_range, (unsigned)b + 1, ~0u, 0u);
        serve(o);
        _exit(0);
    }
    free_overlay(o);
    return pid;
}
