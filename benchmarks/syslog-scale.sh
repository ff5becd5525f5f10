#!/bin/sh
# A 1 GiB /var/log/syslog in a directory target, audited by the release
# binary: only the last 32 MiB of a log is ever read, scanned backwards in
# 4 MiB chunks, so time and memory do not grow with the file.
#
#   benchmarks/syslog-scale.sh [RUNS]     (needs /usr/bin/time; about 1.1 GiB in /var/tmp)
# Targets: every run < 1 s wall time and < 64 MiB max RSS.
# Two cases: the last boot starts 3 MiB before the end (the scan stops
# there), and no boot start in the last 32 MiB (the whole window is read).
set -eu

RUNS=${1:-5}
HERE=$(cd "$(dirname "$0")/.." && pwd)
SCRATCH=${SCRATCH:-$HERE/.build-release}
swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" --product rescue-audit >/dev/null
BIN="$SCRATCH/release/rescue-audit"

WORK=$(mktemp -d /var/tmp/rescue-audit-syslog.XXXXXX)
trap 'rm -rf "$WORK"' EXIT INT TERM

# One MiB of ordinary syslog traffic, with a failure line now and then.
block() {
    awk 'BEGIN {
        n = 0
        while (n < 1048576) {
            i++
            if (i % 97 == 0) l = sprintf("Apr  6 0%d:%02d:%02d web1 systemd[1]: Failed to start ssh.service - OpenBSD Secure Shell server.", i % 10, i % 60, i % 60)
            else if (i % 3 == 0) l = sprintf("Apr  6 0%d:%02d:%02d web1 CRON[%d]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)", i % 10, i % 60, i % 60, 1000 + i)
            else if (i % 3 == 1) l = sprintf("Apr  6 0%d:%02d:%02d web1 sshd[%d]: Connection closed by 203.0.113.%d port %d [preauth]", i % 10, i % 60, i % 60, 2000 + i, i % 250, 40000 + i)
            else l = sprintf("Apr  6 0%d:%02d:%02d web1 kernel: [%d.%06d] IPv4: martian source 198.51.100.%d from 192.0.2.1, on dev eth0", i % 10, i % 60, i % 60, i, i, i % 250)
            print l
            n += length(l) + 1
        }
    }'
}

make_root() {
    root=$1; boot_near_end=$2
    mkdir -p "$root/etc" "$root/var/log"
    printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n' > "$root/etc/os-release"
    block > "$WORK/block"
    log=$root/var/log/syslog
    i=0
    : > "$log"
    while [ $i -lt 1021 ]; do cat "$WORK/block" >> "$log"; i=$((i + 1)); done
    if [ "$boot_near_end" = yes ]; then
        echo "Apr  6 09:59:00 web1 kernel: [    0.000000] Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1" >> "$log"
    fi
    echo "Apr  6 09:59:16 web1 systemd[1]: Failed to start networking.service - Raise network interfaces." >> "$log"
    cat "$WORK/block" "$WORK/block" "$WORK/block" >> "$log"
}

measure() {
    label=$1; root=$2
    "$BIN" audit "$root" --format json >/dev/null 2>&1 || [ $? -eq 1 ]      # warm the page cache
    n=0
    : > "$WORK/runs"
    while [ $n -lt "$RUNS" ]; do
        /usr/bin/time -f '%e %M' -o "$WORK/t" "$BIN" audit "$root" --format json > "$WORK/out" 2>/dev/null || [ $? -eq 1 ]
        tail -n 1 "$WORK/t" >> "$WORK/runs"
        n=$((n + 1))
    done
    grep -q 'Raise network interfaces' "$WORK/out" || { echo "$label: the failure at the end was not reported"; exit 1; }
    size=$(stat -c %s "$root/var/log/syslog")
    sort -n "$WORK/runs" | awk -v label="$label" -v size="$size" '
        { t[NR] = $1; if ($2 > rss) rss = $2; if ($1 > max) max = $1 }
        END {
            printf "%-44s syslog %.2f GiB  runs %d  median %.2f s  max %.2f s  max RSS %.1f MiB  (targets < 1 s %s, < 64 MiB %s)\n",
                label, size / 1073741824, NR, t[int((NR + 1) / 2)], max, rss / 1024, max < 1 ? "ok" : "MISSED", rss / 1024 < 64 ? "ok" : "MISSED"
        }'
}

make_root "$WORK/near" yes
measure "last boot starts 3 MiB before the end" "$WORK/near"
rm -rf "$WORK/near"
make_root "$WORK/far" no
measure "no boot start in the last 32 MiB" "$WORK/far"
