#!/bin/sh
# Times `rescue-audit audit DIR` on hostile roots, the speed side of tests
# that only guard against hangs (CLITests.hostileRootEndsInFindings,
# TargetRootTests, NetplanTests.aliasBombIsRefusedBeforeExpansion,
# IfcfgTests.hugeFileStaysLinear):
#   fifo      /etc/network/interfaces is a FIFO, /etc/os-release -> /etc/shadow
#   links     symlink loops, a chain of 40 links, a 2 GiB sparse file
#   aliases   a netplan file whose YAML aliases expand to 10^13 nodes
#   ifcfg     an ifcfg file of 150,000 lines
#
#   benchmarks/hostile-inputs.sh [RUNS]
# Target: each under 1 s.
set -eu

RUNS=${1:-5}
HERE=$(cd "$(dirname "$0")/.." && pwd)
SCRATCH=${SCRATCH:-$HERE/.build-release}
swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" --product rescue-audit >/dev/null
BIN="$SCRATCH/release/rescue-audit"
WORK=$(mktemp -d /var/tmp/rescue-audit-hostile.XXXXXX)
trap 'rm -rf "$WORK"' EXIT INT TERM

d=$WORK/fifo
mkdir -p "$d/etc/network"
mkfifo "$d/etc/network/interfaces"
ln -s /etc/shadow "$d/etc/os-release"

d=$WORK/links
mkdir -p "$d/etc/network"
ln -s loop-b "$d/etc/loop-a"; ln -s loop-a "$d/etc/loop-b"
ln -s interfaces "$d/etc/network/interfaces"
i=0; while [ $i -lt 40 ]; do ln -s "chain$((i + 1))" "$d/etc/chain$i"; i=$((i + 1)); done
ln -s ../../etc/hosts "$d/etc/chain40"
ln -s chain0 "$d/etc/resolv.conf"
truncate -s 2G "$d/etc/hosts"

d=$WORK/aliases
mkdir -p "$d/etc/netplan"
awk 'BEGIN {
    print "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"
    for (i = 1; i <= 12; i++) {
        printf "a%d: &a%d [", i, i
        for (j = 0; j < 10; j++) printf "%s*a%d", (j ? ", " : ""), i - 1
        print "]"
    }
    print "network: {ethernets: {eth0: {addresses: *a12}}}"
}' > "$d/etc/netplan/01-bomb.yaml"

d=$WORK/ifcfg
mkdir -p "$d/etc/sysconfig/network-scripts"
awk 'BEGIN {
    print "DEVICE=eth0\nIPADDR=192.0.2.1"
    for (i = 0; i < 50000; i++) printf "DNS%d=192.0.2.%d\nIPADDR%d=192.0.2.9\nIPADDR99999999999%d=x\n", i, i % 250, i + 300, i
}' > "$d/etc/sysconfig/network-scripts/ifcfg-eth0"

# Prints the median wall-clock milliseconds of RUNS whole-process audits.
median_ms() {
    n=0; : > "$WORK/times"
    while [ $n -lt "$RUNS" ]; do
        start=$(date +%s%N)
        "$BIN" audit "$1" --format json > /dev/null || [ $? -le 2 ]
        end=$(date +%s%N)
        echo $(( (end - start) / 1000 )) >> "$WORK/times"
        n=$((n + 1))
    done
    sort -n "$WORK/times" | awk '{ t[NR] = $1 / 1000 } END { printf "%.1f", t[int((NR + 1) / 2)] }'
}

for name in fifo links aliases ifcfg; do
    t=$(median_ms "$WORK/$name")
    awk -v n="$name" -v t="$t" 'BEGIN { printf "%-8s median %8.1f ms  (target < 1000 ms: %s)\n", n, t, t < 1000 ? "ok" : "MISSED" }'
done
