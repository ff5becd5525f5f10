// Keeps the process's own argv for Swift's CommandLine.arguments.
//
// On Linux the Swift runtime finds argv by reading /proc/self (it has no
// portable way to reach it outside main), so in a chroot without /proc every
// argument was lost: `rescue-audit --version` ran as a bare `rescue-audit`,
// discovered disks and asked for a mount namespace. glibc passes argc and
// argv to ELF constructors; this one hands them to the runtime's documented
// override before any Swift code reads them.

extern void _swift_stdlib_overrideUnsafeArgvArgc(char **argv, int argc);

__attribute__((constructor)) static void ra_keep_arguments(int argc, char **argv, char **envp) {
    (void)envp;
    if (argv != 0 && argc > 0) _swift_stdlib_overrideUnsafeArgvArgc(argv, argc);
}
