#!/usr/bin/env bash
# Times whole `rescue-audit audit` runs on real Debian 12 roots, built with
# debootstrap from Debian's packages (the healthy ifupdown root of
# scripts/make-healthy-roots.sh, plus linux-image-amd64 and initramfs-tools):
#
#   zstd    Debian 12's default initramfs (initramfs.conf: COMPRESS=zstd,
#           MODULES=most): the cpio archive mkinitramfs wrote, compressed with
#           mkinitramfs's own zstd command (`zstd -q -9 -T0`). debootstrap's
#           minbase lacks the zstd program that initramfs-tools recommends, so
#           its mkinitramfs fell back to gzip; the archive is the same.
#   gzip    the same archive compressed as mkinitramfs does with COMPRESS=gzip
#           (`gzip`, level 6)
#   none    the same root without /boot and /initrd.img: a container's root
# The root is configured as the Debian installer does (allow-hotplug ens3):
# no question about it needs the initramfs, which is then never read. The
# `-eth0` variants configure eth0 instead (a kernel name, which the
# initramfs's udev may rename), so the audit has to read the initramfs.
#
# Each root is audited as a directory and as a disk image (GPT, one ext4
# partition made with mkfs.ext4 -d). RUNS whole-process runs each (default
# 7): median and max wall time, peak RSS (/usr/bin/time -f %M).
#
#   benchmarks/real-roots.sh [RUNS]     (VARIANTS="zstd none" picks variants, IMAGES=0
#                                        skips the images; as root; debootstrap takes minutes the
#                                        first time, the roots are kept under
#                                        $ROOTS_WORK, default /var/tmp/rescue-audit-realroots)
# Targets (issue 14): zstd <= 150 ms and <= 40 MiB, gzip <= 300 ms, none <= 30 ms.
set -euo pipefail
RUNS=${1:-7}
HERE=$(cd "$(dirname "$0")/.." && pwd)
export ROOTS_WORK=${ROOTS_WORK:-/var/tmp/rescue-audit-realroots}
# shellcheck source=scripts/make-healthy-roots.sh
. "$HERE/scripts/make-healthy-roots.sh"
need_root
need_tool debootstrap debootstrap
need_tool zstd zstd

SCRATCH=${SCRATCH:-$HERE/.build-release}
if [ -z "${BIN:-}" ]; then
    swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" --product rescue-audit >/dev/null
    BIN="$SCRATCH/release/rescue-audit"
fi

BASE=$WORK/bench-debian12-kernel
mkdir -p "$WORK"
bootstrap "$BASE" "$IFUPDOWN_PACKAGES,linux-image-amd64,initramfs-tools"
configure_ifupdown "$BASE" >/dev/null 2>&1
INITRD=$(printf '%s\n' "$BASE"/boot/initrd.img-* | sort -V | tail -n 1)
[ -f "$INITRD" ] || { echo "$0: no initramfs in $BASE/boot" >&2; exit 1; }

# The archive inside the base's initramfs (gzip or zstd, as mkinitramfs found).
CPIO=$WORK/initrd.cpio
case $(head -c 2 "$INITRD" | od -An -tx1 | tr -d ' ') in
    1f8b) gzip -dc "$INITRD" >"$CPIO" ;;
    28b5) zstd -dcq "$INITRD" >"$CPIO" ;;
    *) echo "$0: $INITRD is neither gzip nor zstd" >&2; exit 1 ;;
esac

# The variants share the base's files through hard links (cp -al); what
# changes is replaced, never edited in place.
variant() { # NAME
    local d=$WORK/bench-$1
    rm -rf "$d"
    cp -al "$BASE" "$d"
    case $1 in
        zstd*)
            rm -f "$d/boot/${INITRD##*/}"
            zstd -q -9 -T0 <"$CPIO" >"$d/boot/${INITRD##*/}" ;;
        gzip*)
            rm -f "$d/boot/${INITRD##*/}"
            gzip <"$CPIO" >"$d/boot/${INITRD##*/}" ;;
        none)
            rm -rf "$d/boot" "$d/initrd.img" "$d/initrd.img.old" "$d/vmlinuz" "$d/vmlinuz.old" ;;
    esac
    case $1 in
        *-eth0)
            rm -f "$d/etc/network/interfaces"
            sed 's/ens3/eth0/g' "$BASE/etc/network/interfaces" >"$d/etc/network/interfaces" ;;
    esac
}

# A GPT image with the root on one ext4 partition.
image() { # DIR IMG
    local size
    size=$(( $(du -sm "$1" | cut -f1) * 13 / 10 + 256 ))
    rm -f "$2" "$2.fs"
    truncate -s "$((size + 2))M" "$2"
    printf 'label: gpt\nstart=1MiB, type=linux, name=root\n' | sfdisk -q "$2" >/dev/null
    truncate -s "${size}M" "$2.fs"
    mkfs.ext4 -q -F -d "$1" "$2.fs"
    dd if="$2.fs" of="$2" bs=1M seek=1 conv=notrunc,sparse status=none
    rm -f "$2.fs"
}

TMP=$(mktemp -d /var/tmp/rescue-audit-realbench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT INT TERM

# measure LABEL TARGET_MS COMMAND...: RUNS whole-process runs after one warm-up;
# median wall and CPU (user + system) time, max RSS. On a shared machine the
# wall time also counts waiting for a core; the CPU time does not.
measure() {
    local label=$1 target=$2 n=0
    shift 2
    "$@" >/dev/null 2>&1 || [ $? -eq 1 ]
    : >"$TMP/times"
    while [ $n -lt "$RUNS" ]; do
        /usr/bin/time -f '%e %U %S %M' -o "$TMP/rss" "$@" >/dev/null 2>&1 || [ $? -eq 1 ]
        tail -n 1 "$TMP/rss" >>"$TMP/times"
        n=$((n + 1))
    done
    local wall cpu rss
    wall=$(awk '{ print $1 * 1000 }' "$TMP/times" | sort -n | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }')
    cpu=$(awk '{ print ($2 + $3) * 1000 }' "$TMP/times" | sort -n | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }')
    rss=$(awk '{ print $4 }' "$TMP/times" | sort -n | tail -n 1)
    awk -v runs="$RUNS" -v label="$label" -v target="$target" -v wall="$wall" -v cpu="$cpu" -v rss="$rss" 'BEGIN {
        printf "%-30s runs %d  median wall %7.1f ms  cpu %7.1f ms  max RSS %5.1f MiB  (target <= %d ms: wall %s, cpu %s)\n",
            label, runs, wall, cpu, rss / 1024, target, wall <= target ? "ok" : "MISSED", cpu <= target ? "ok" : "MISSED"
    }'
}

VARIANTS=${VARIANTS:-"zstd gzip none zstd-eth0 gzip-eth0"}
for v in $VARIANTS; do variant "$v"; done
[ -f "$WORK/bench-zstd/boot/${INITRD##*/}" ] && [ -f "$WORK/bench-gzip/boot/${INITRD##*/}" ] &&
    echo "initramfs: $(stat -c %s "$WORK/bench-zstd/boot/${INITRD##*/}") bytes zstd, $(stat -c %s "$WORK/bench-gzip/boot/${INITRD##*/}") bytes gzip, $(stat -c %s "$CPIO") bytes unpacked" >&2
# gzip goes through ISA-L when the running system has libisal.so.2 (libisal2), else zlib.
echo "gzip inflater: $(ldconfig -p | grep -q 'libisal\.so\.2 ' && echo 'ISA-L (libisal.so.2 present)' || echo 'zlib (no libisal.so.2)')" >&2
target() { case $1 in zstd*) echo 150 ;; gzip*) echo 300 ;; none) echo 30 ;; esac; }
for v in $VARIANTS; do
    measure "audit DIR   ($v)" "$(target "$v")" "$BIN" audit "$WORK/bench-$v" --format json
done
[ "${IMAGES:-1}" = 1 ] || exit 0   # IMAGES=0: directories only
for v in $VARIANTS; do
    image "$WORK/bench-$v" "$TMP/$v.img"
    measure "audit IMAGE ($v)" "$(target "$v")" "$BIN" audit "$TMP/$v.img" --format json
    rm -f "$TMP/$v.img"
done
