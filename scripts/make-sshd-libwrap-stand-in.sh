#!/bin/sh
# Builds the 2 KB stand-in for Debian 12's /usr/sbin/sshd used by the
# ssh-login-impossible hosts.deny scenarios: an ELF executable whose dynamic
# section asks for libwrap.so.0 (as the real sshd 9.2p1's does, readelf -d)
# and that names /run/sshd. It is never run. Needs gcc and libwrap0 unpacked
# by scripts/fetch-oracles.sh.
set -eu
cd "$(dirname "$0")/.."
lib=.oracles/root/usr/lib/x86_64-linux-gnu/libwrap.so.0
src=$(mktemp --suffix=.c)
trap 'rm -f "$src"' EXIT
cat >"$src" <<'C'
const char privsep_dir[] = "/run/sshd";
void _start(void) { for (;;) {} }
C
for scenario in hosts-deny-all.fail hosts-deny-other-daemon.pass; do
    out=rules/ssh-login-impossible/tests/$scenario/usr/sbin/sshd
    mkdir -p "$(dirname "$out")"
    gcc -Os -s -nostdlib -nostartfiles -Wl,--no-as-needed -Wl,--build-id=none -Wl,-z,noseparate-code -Wl,-z,norelro \
        -o "$out" "$src" "$lib"
done
