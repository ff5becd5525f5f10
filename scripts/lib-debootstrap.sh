# shellcheck shell=bash
# Shared by make-healthy-roots.sh and boot-check.sh (sourced, not run):
# the Debian mirror apt uses here, and a debootstrap with a shared .deb cache.

# Where debootstrapped roots and the .deb cache live (outside the repository:
# the roots hold device nodes and root-owned files).
WORK=${ROOTS_WORK:-/var/tmp/rescue-audit-roots}
CACHE=$WORK/debs
SUITE=bookworm

# The first Debian mirror of this machine's apt sources (deb822 or one-line).
apt_mirror() {
    local m=""
    if ls /etc/apt/sources.list.d/*.sources >/dev/null 2>&1; then
        m=$(awk '
            /^Types:/ { deb = ($0 ~ /(^|[ \t])deb([ \t]|$)/) }
            /^URIs:/ && deb { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }
            /^$/ { deb = 0 }' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
    fi
    if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
        m=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' \
            /etc/apt/sources.list | head -n 1)
    fi
    echo "${m:-http://deb.debian.org/debian}"
}
MIRROR=${MIRROR:-$(apt_mirror)}

need_root() {
    [ "$(id -u)" = 0 ] || { echo "$0: run as root (debootstrap, chroot, loop devices)" >&2; exit 64; }
}

need_tool() { # tool package
    command -v "$1" >/dev/null 2>&1 && return 0
    echo "$0: installing $2 for $1" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}

# bootstrap DIR PACKAGES: a minbase bookworm root with PACKAGES (comma list),
# reused when an earlier run finished with the same package list.
bootstrap() {
    local dir=$1 include=$2 stamp="$1/.rescue-audit-bootstrap"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$SUITE $MIRROR $include" ]; then
        echo "reusing $dir" >&2
        return 0
    fi
    rm -rf "$dir"
    mkdir -p "$dir" "$CACHE"
    echo "debootstrap $SUITE into $dir from $MIRROR with $include" >&2
    debootstrap --variant=minbase --cache-dir="$CACHE" --include="$include" "$SUITE" "$dir" "$MIRROR" >&2
    echo "$SUITE $MIRROR $include" >"$stamp"
}

# in_root DIR COMMAND...: runs a command inside the root, no daemons started.
in_root() {
    local dir=$1; shift
    chroot "$dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"
}
