#define _GNU_SOURCE
#include "ccleanup.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#define RA_CLEANUP_SLOTS 16
#define RA_CLEANUP_PATH 256

// Fixed storage: the handler may only touch memory that needs no allocation.
static char slots[RA_CLEANUP_SLOTS][RA_CLEANUP_PATH];
static atomic_int used[RA_CLEANUP_SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int installed;

int ra_cleanup_register(const char *path) {
    if (strlen(path) >= RA_CLEANUP_PATH) return -1;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < RA_CLEANUP_SLOTS; i++) {
        if (!atomic_load(&used[i])) {
            strcpy(slots[i], path);
            atomic_store(&used[i], 1);
            pthread_mutex_unlock(&lock);
            return 0;
        }
    }
    pthread_mutex_unlock(&lock);
    return -1;
}

void ra_cleanup_unregister(const char *path) {
    pthread_mutex_lock(&lock);
    for (int i = 0; i < RA_CLEANUP_SLOTS; i++) {
        if (atomic_load(&used[i]) && strcmp(slots[i], path) == 0) atomic_store(&used[i], 0);
    }
    pthread_mutex_unlock(&lock);
}

static void on_signal(int sig) {
    // rmdir of a directory another namespace mounts on detaches those mounts;
    // the namespace dies with us anyway, so this only removes the empty dir.
    for (int i = 0; i < RA_CLEANUP_SLOTS; i++) {
        if (atomic_load(&used[i])) (void)rmdir(slots[i]);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

void ra_cleanup_install_handlers(void) {
    if (atomic_exchange(&installed, 1)) return;
    int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction old;
        if (sigaction(sigs[i], NULL, &old) != 0) continue;
        if (old.sa_handler != SIG_DFL || (old.sa_flags & SA_SIGINFO)) continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[i], &sa, NULL);
    }
}
