#ifndef RESCUE_AUDIT_CCLEANUP_H
#define RESCUE_AUDIT_CCLEANUP_H

/// Remembers an (empty, host-visible) scratch directory to rmdir if the
/// process is killed by SIGINT, SIGTERM or SIGHUP. Returns 0, or -1 when full.
int ra_cleanup_register(const char *path);

/// Forgets a directory given to ra_cleanup_register.
void ra_cleanup_unregister(const char *path);

/// Installs the handler for SIGINT, SIGTERM and SIGHUP where their
/// disposition is still the default. The handler removes the registered
/// directories, restores the default action and re-raises the signal, so the
/// process still dies of it (exit status 128+N). Idempotent.
void ra_cleanup_install_handlers(void);

#endif
