#!/bin/sh
# Builds synthetic roots with SCALE × (2,000 ifupdown stanzas, 2,000 .network
# files, 500 netplan files) and times `rescue-audit audit DIR` on them: the
# whole model (every parser and loader), the rules and the JSON report.
#
#   benchmarks/model-scale.sh [RUNS]
# Targets: scale 1 under 1 s; scale 10 at most 12 × the time of scale 1.
set -eu

RUNS=${1:-5}
HERE=$(cd "$(dirname "$0")/.." && pwd)
SCRATCH=${SCRATCH:-$HERE/.build-release}
swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" --product rescue-audit >/dev/null
BIN="$SCRATCH/release/rescue-audit"
WORK=$(mktemp -d /var/tmp/rescue-audit-model.XXXXXX)
trap 'rm -rf "$WORK"' EXIT INT TERM

make_root() {  # DIR SCALE
    d=$1; k=$2
    mkdir -p "$d/etc/network" "$d/etc/systemd/network" "$d/etc/netplan" "$d/var/lib/dpkg" "$d/usr/lib/systemd/system-generators"
    printf 'Package: ifupdown\nStatus: install ok installed\nVersion: 0.8.41\n\nPackage: netplan.io\nStatus: install ok installed\nVersion: 0.106-2\n' > "$d/var/lib/dpkg/status"
    : > "$d/usr/lib/systemd/system-generators/netplan"
    awk -v n=$((2000 * k)) 'BEGIN {
        print "auto lo\niface lo inet loopback\n"
        for (i = 0; i < n; i++) {
            printf "auto eth%d\niface eth%d inet static\n    address 10.%d.%d.1/24\n    mtu 1500\n", i, i, int(i / 250) % 250, i % 250
            if (i == 0) print "    gateway 10.0.0.254"
            print ""
        }
    }' > "$d/etc/network/interfaces"
    awk -v n=$((2000 * k)) -v dir="$d/etc/systemd/network" 'BEGIN {
        for (i = 0; i < n; i++) {
            f = sprintf("%s/%05d-ens%d.network", dir, i, i)
            printf "[Match]\nName=ens%d\n\n[Network]\nAddress=172.16.%d.%d/24\nDNS=192.0.2.53\n", i, int(i / 250) % 250, i % 250 > f
            close(f)
        }
    }'
    awk -v n=$((500 * k)) -v dir="$d/etc/netplan" 'BEGIN {
        for (i = 0; i < n; i++) {
            f = sprintf("%s/%05d-enp%ds0.yaml", dir, i, i)
            printf "network:\n  version: 2\n  ethernets:\n    enp%ds0:\n      addresses: [192.168.%d.%d/24]\n      nameservers:\n        addresses: [192.0.2.53]\n", i, int(i / 250) % 250, i % 250 > f
            close(f)
        }
    }'
}

# Prints the median wall-clock milliseconds of RUNS whole-process audits.
median_ms() {
    n=0; : > "$WORK/times"
    while [ $n -lt "$RUNS" ]; do
        start=$(date +%s%N)
        "$BIN" audit "$1" --format json > /dev/null || [ $? -eq 1 ]
        end=$(date +%s%N)
        echo $(( (end - start) / 1000 )) >> "$WORK/times"
        n=$((n + 1))
    done
    sort -n "$WORK/times" | awk '{ t[NR] = $1 / 1000 } END { printf "%.1f", t[int((NR + 1) / 2)] }'
}

make_root "$WORK/x1" 1
make_root "$WORK/x10" 10
"$BIN" audit "$WORK/x1" --format json > /dev/null || [ $? -eq 1 ]   # warm the page cache
"$BIN" audit "$WORK/x10" --format json > /dev/null || [ $? -eq 1 ]
t1=$(median_ms "$WORK/x1")
t10=$(median_ms "$WORK/x10")
awk -v a="$t1" -v b="$t10" 'BEGIN {
    printf "scale 1  (2,000 stanzas, 2,000 .network, 500 netplan):   median %8.1f ms  (target < 1000 ms: %s)\n", a, a < 1000 ? "ok" : "MISSED"
    printf "scale 10 (20,000 stanzas, 20,000 .network, 5,000 netplan): median %8.1f ms  = %.1f x scale 1 (target <= 12 x: %s)\n", b, b / a, b / a <= 12 ? "ok" : "MISSED"
}'
