#define _GNU_SOURCE
#include "cloop.h"

#include <errno.h>
#include <linux/loop.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef LOOP_CONFIGURE
#define LOOP_CONFIGURE 0x4C0A
struct loop_config {
    __u32 fd;
    __u32 block_size;
    struct loop_info64 info;
    __u64 __reserved[8];
};
#endif

const uint32_t RA_LO_FLAGS_READ_ONLY = LO_FLAGS_READ_ONLY;
const uint32_t RA_LO_FLAGS_AUTOCLEAR = LO_FLAGS_AUTOCLEAR;

int ra_loop_ctl_get_free(int ctl_fd) {
    return ioctl(ctl_fd, LOOP_CTL_GET_FREE);
}

static void fill_info(struct loop_info64 *info, uint64_t offset, uint64_t size_limit, const char *name) {
    memset(info, 0, sizeof *info);
    info->lo_offset = offset;
    info->lo_sizelimit = size_limit;
    info->lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR;
    if (name) strncpy((char *)info->lo_file_name, name, LO_NAME_SIZE - 1);
}

int ra_loop_configure(int loop_fd, int backing_fd, uint64_t offset, uint64_t size_limit, const char *name) {
    struct loop_config config;
    memset(&config, 0, sizeof config);
    config.fd = (__u32)backing_fd;
    fill_info(&config.info, offset, size_limit, name);
    return ioctl(loop_fd, LOOP_CONFIGURE, &config);
}

int ra_loop_set_fd_status(int loop_fd, int backing_fd, uint64_t offset, uint64_t size_limit, const char *name) {
    if (ioctl(loop_fd, LOOP_SET_FD, backing_fd) != 0) return -1;
    struct loop_info64 info;
    fill_info(&info, offset, size_limit, name);
    if (ioctl(loop_fd, LOOP_SET_STATUS64, &info) != 0) {
        int saved = errno;
        (void)ioctl(loop_fd, LOOP_CLR_FD, 0);
        errno = saved;
        return -1;
    }
    return 0;
}

int ra_loop_clear(int loop_fd) {
    return ioctl(loop_fd, LOOP_CLR_FD, 0);
}

int ra_loop_get_status(int loop_fd, uint32_t *flags, uint64_t *offset, uint64_t *size_limit) {
    struct loop_info64 info;
    memset(&info, 0, sizeof info);
    if (ioctl(loop_fd, LOOP_GET_STATUS64, &info) != 0) return -1;
    *flags = info.lo_flags;
    *offset = info.lo_offset;
    *size_limit = info.lo_sizelimit;
    return 0;
}

int ra_unshare_private_mounts(void) {
    if (unshare(CLONE_NEWNS) != 0) return -1;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) return -2;
    return 0;
}

int ra_mount_readonly(const char *source, const char *target, const char *fstype, const char *data) {
    return mount(source, target, fstype, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, data);
}

int ra_mount_tmpfs(const char *target) {
    return mount("rescue-audit", target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=1m,mode=0700");
}

int ra_umount(const char *target, int lazy) {
    return umount2(target, lazy ? MNT_DETACH : 0);
}

int ra_gettid(void) {
    return (int)syscall(SYS_gettid);
}
