#!/bin/sh
# The whole audit at scale: synthetic roots, timed as whole
# `rescue-audit audit DIR --format json` runs of the release binary (the
# model with every parser and loader, the rules and the JSON report).
#
#   mixed    N ifupdown stanzas, N .network files and N/4 netplan files, for
#            N = 200, 2,000 and 20,000 (1x, 10x, 100x)
#   ifupdown N ifupdown interfaces alone, for N = 1,000, 10,000 and 100,000
#            (issue 20: 100,000 interfaces took more than 300 s)
#   aliases  one card with N IP aliases (eth0:0 ... eth0:N-1), each with a
#            gateway line, as on hosting machines: N = 200, 2,000 and 20,000
#
#   benchmarks/model-scale.sh [RUNS]     (median of RUNS runs, default 5; max RSS;
#                                         SERIES="mixed ifupdown aliases" picks series)
# Targets: each 10x step costs at most 12x the time (up to 20,000 stanzas;
# the ratio is taken on CPU time, which other work on the machine does not
# inflate as much as wall time); 100,000 interfaces in under 2 s and 200 MiB.
set -eu

RUNS=${1:-5}
HERE=$(cd "$(dirname "$0")/.." && pwd)
SCRATCH=${SCRATCH:-$HERE/.build-release}
if [ -z "${BIN:-}" ]; then
    swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" --product rescue-audit >/dev/null
    BIN="$SCRATCH/release/rescue-audit"
fi
WORK=$(mktemp -d /var/tmp/rescue-audit-model.XXXXXX)
trap 'rm -rf "$WORK"' EXIT INT TERM

base() {  # DIR
    mkdir -p "$1/etc/network" "$1/etc/systemd/network" "$1/etc/netplan" "$1/var/lib/dpkg" "$1/usr/lib/systemd/system-generators"
    printf 'Package: ifupdown\nStatus: install ok installed\nVersion: 0.8.41\n\nPackage: netplan.io\nStatus: install ok installed\nVersion: 0.106-2\n' > "$1/var/lib/dpkg/status"
    : > "$1/usr/lib/systemd/system-generators/netplan"
}

stanzas() {  # DIR N
    awk -v n="$2" 'BEGIN {
        print "auto lo\niface lo inet loopback\n"
        for (i = 0; i < n; i++) {
            printf "auto eth%d\niface eth%d inet static\n    address 10.%d.%d.%d/24\n    mtu 1500\n", i, i, int(i / 62500) % 250, int(i / 250) % 250, i % 250 + 1
            if (i == 0) print "    gateway 10.0.0.254"
            print ""
        }
    }' > "$1/etc/network/interfaces"
}

mixed_root() {  # DIR N
    base "$1"; stanzas "$1" "$2"
    awk -v n="$2" -v dir="$1/etc/systemd/network" 'BEGIN {
        for (i = 0; i < n; i++) {
            f = sprintf("%s/%05d-ens%d.network", dir, i, i)
            printf "[Match]\nName=ens%d\n\n[Network]\nAddress=172.16.%d.%d/24\nDNS=192.0.2.53\n", i, int(i / 250) % 250, i % 250 > f
            close(f)
        }
    }'
    awk -v n="$(($2 / 4))" -v dir="$1/etc/netplan" 'BEGIN {
        for (i = 0; i < n; i++) {
            f = sprintf("%s/%05d-enp%ds0.yaml", dir, i, i)
            printf "network:\n  version: 2\n  ethernets:\n    enp%ds0:\n      addresses: [192.168.%d.%d/24]\n      nameservers:\n        addresses: [192.0.2.53]\n", i, int(i / 250) % 250, i % 250 > f
            close(f)
        }
    }'
}

ifupdown_root() {  # DIR N
    base "$1"; stanzas "$1" "$2"
}

aliases_root() {  # DIR N
    base "$1"
    awk -v n="$2" 'BEGIN {
        print "auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet static\n    address 10.0.0.2/16\n    gateway 10.0.0.1\n"
        for (i = 0; i < n; i++)
            printf "auto eth0:%d\niface eth0:%d inet static\n    address 10.%d.%d.%d/16\n    gateway 10.0.0.1\n\n", i, i, int(i / 62500) % 250, int(i / 250) % 250, i % 250 + 3
    }' > "$1/etc/network/interfaces"
}

# Prints "median_wall_ms median_cpu_ms max_rss_kib" of RUNS whole-process
# audits (after one warm-up). CPU is user + system time: on a shared machine
# the wall time also counts the time spent waiting for a core.
measure() {
    "$BIN" audit "$1" --format json > /dev/null 2>&1 || [ $? -eq 1 ]
    n=0; : > "$WORK/wall"; : > "$WORK/cpu"; : > "$WORK/rsss"
    while [ $n -lt "$RUNS" ]; do
        /usr/bin/time -f '%e %U %S %M' -o "$WORK/rss" "$BIN" audit "$1" --format json > /dev/null 2>&1 || [ $? -eq 1 ]
        tail -n 1 "$WORK/rss" | awk '{ print $1 * 1000 >> "'"$WORK/wall"'"; print ($2 + $3) * 1000 >> "'"$WORK/cpu"'"; print $4 >> "'"$WORK/rsss"'" }'
        n=$((n + 1))
    done
    med() { sort -n "$1" | awk '{ t[NR] = $1 } END { printf "%.0f", t[int((NR + 1) / 2)] }'; }
    echo "$(med "$WORK/wall") $(med "$WORK/cpu") $(sort -n "$WORK/rsss" | tail -n 1)"
}

series() {  # KIND LABEL N1 N10 N100
    kind=$1; label=$2; shift 2
    prev=""
    for n in "$@"; do
        d="$WORK/$kind-$n"
        "${kind}_root" "$d" "$n"
        set -- $(measure "$d")
        rm -rf "$d"
        awk -v k="$kind" -v l="$(printf "$label" "$n")" -v wall="$1" -v cpu="$2" -v rss="$3" -v p="$prev" 'BEGIN {
            printf "%-9s %-36s median wall %8.0f ms  cpu %8.0f ms  max RSS %6.1f MiB", k, l, wall, cpu, rss / 1024
            if (p != "") { r = cpu / p; printf "  cpu = %5.1f x the previous (target <= 12 x: %s)", r, r <= 12 ? "ok" : "MISSED" }
            if (l ~ /^100000 /) printf "  (issue 20: < 2000 ms and < 200 MiB: cpu %s, wall %s, RSS %s)", cpu < 2000 ? "ok" : "MISSED", wall < 2000 ? "ok" : "MISSED", rss < 200 * 1024 ? "ok" : "MISSED"
            printf "\n"
        }'
        prev=$2
    done
}

# SERIES picks some of them (default all): SERIES=ifupdown benchmarks/model-scale.sh 3
for s in ${SERIES:-mixed ifupdown aliases}; do
    case $s in
        mixed) series mixed "%d stanzas, .network, /4 netplan" 200 2000 20000 ;;
        ifupdown) series ifupdown "%d ifupdown interfaces" 1000 10000 100000 ;;
        aliases) series aliases "eth0 with %d aliases and gateways" 200 2000 20000 ;;
    esac
done
