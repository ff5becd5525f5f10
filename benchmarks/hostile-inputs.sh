#!/bin/sh
# Times `rescue-audit audit DIR` on hostile roots, the speed side of tests
# that only guard against hangs (CLITests.hostileRootEndsInFindings,
# TargetRootTests, NetplanTests.aliasBombIsRefusedBeforeExpansion,
# IfcfgTests.hugeFileStaysLinear):
#   fifo      /etc/network/interfaces is a FIFO, /etc/os-release -> /etc/shadow
#   links     symlink loops, a chain of 40 links, a 2 GiB sparse file
#   aliases   a netplan file whose YAML aliases expand to 10^13 nodes
#   ifcfg     an ifcfg file of 150,000 lines
#   initrd    a GRUB initrd line naming the same initramfs (a gzip with
#             500 MiB of zeros inside) 1,000 times (issue 20: > 150 s before)
# and then every case of scripts/adversarial.sh at the issue's full sizes
# (15 files of 16 MiB of NUL, 40 files of 15 MiB) with issue 20's limits:
# 2 s and 200 MiB of maximum RSS each.
#
#   [BIN=path/to/rescue-audit] benchmarks/hostile-inputs.sh [RUNS]
# Target: each under 1 s (the first four), under 2 s and 200 MiB (all).
set -eu

RUNS=${1:-5}
HERE=$(cd "$(dirname "$0")/.." && pwd)
SCRATCH=${SCRATCH:-$HERE/.build-release}
# BIN: an already built binary (skips the build).
if [ -z "${BIN:-}" ]; then
    swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" --product rescue-audit >/dev/null
    BIN="$SCRATCH/release/rescue-audit"
fi
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

d=$WORK/initrd
cp -a "$HERE/rules/interface-name-mismatch/tests/masks-missing-from-initramfs.fail" "$d"
mkdir -p "$WORK/cpio" && truncate -s 500M "$WORK/cpio/zeros"
(cd "$WORK/cpio" && echo zeros | cpio -o -H newc 2>/dev/null | gzip -1) >> "$d/boot/initrd.img-6.1.0-18-amd64"
rm -rf "$WORK/cpio"
words=$(i=0; while [ $i -lt 1000 ]; do printf ' /boot/initrd.img-6.1.0-18-amd64'; i=$((i + 1)); done)
sed -i "s|^\(\s*initrd\s\).*|\1$words|" "$d/boot/grub/grub.cfg"

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

for name in fifo links aliases ifcfg initrd; do
    t=$(median_ms "$WORK/$name")
    set -- $(/usr/bin/time -f '%M %U %S' "$BIN" audit "$WORK/$name" --format json 2>&1 >/dev/null | tail -n 1)
    awk -v n="$name" -v t="$t" -v r="$1" -v c="$(awk -v u="$2" -v s="$3" 'BEGIN { print (u + s) * 1000 }')" \
        'BEGIN { printf "%-8s median %8.1f ms wall, %6.0f ms CPU, max RSS %6.1f MiB  (target < 1000 ms: %s)\n", n, t, c, r / 1024, t < 1000 ? "ok" : "MISSED" }'
done

# Wall time counts waiting for a core on a loaded machine; the 2 s limit is
# checked on CPU time (user + system), with wall time printed beside it.
echo "scripts/adversarial.sh, release build, full sizes, limits 2 s of CPU and 200 MiB (load: $(cut -d' ' -f1-3 /proc/loadavg)):"
LIMIT_SECONDS=2 WALL_SECONDS=10 LIMIT_KB=$((200 * 1024)) NUL_MIB=16 BIG_FILES=40 bash "$HERE/scripts/adversarial.sh" "$BIN"
