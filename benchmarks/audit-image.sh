#!/bin/sh
# Builds a 2 GiB sparse GPT disk image (EFI, an ext4 root with a realistic
# small tree, swap, an ext4 /var found through fstab by UUID) and times an
# end-to-end open+close of it: probe, score, mount read-only in the private
# namespace, follow fstab, read os-release, unmount.
#
#   benchmarks/audit-image.sh [RUNS]     (as root; needs sfdisk, mkfs.ext4,
#                                          mkswap, /usr/bin/time)
# Targets: median < 150 ms, max RSS < 40 MiB.
# Then it mounts the same tree with --keep-mounted and times
# `rescue-audit audit DIR` on it (target: median < 30 ms).
set -eu

RUNS=${1:-15}
HERE=$(cd "$(dirname "$0")/.." && pwd)
SCRATCH=${SCRATCH:-$HERE/.build-release}
if [ -z "${BIN:-}" ]; then
    swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" --product rescue-audit >/dev/null
    BIN="$SCRATCH/release/rescue-audit"
fi

WORK=$(mktemp -d /var/tmp/rescue-audit-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT INT TERM
IMG=$WORK/disk.img
ROOT_UUID=3f0c8d2a-0b6e-4f55-9a51-6f0f6c1d0001
VAR_UUID=3f0c8d2a-0b6e-4f55-9a51-6f0f6c1d0002

# A small but realistic root: os-release, fstab, passwd, network config,
# systemd units and a few hundred files under /usr.
T=$WORK/root
mkdir -p "$T/etc/network/interfaces.d" "$T/etc/systemd/system/multi-user.target.wants" \
         "$T/etc/netplan" "$T/usr/lib/systemd" "$T/sbin" "$T/var" "$T/boot" "$T/usr/share/doc"
cat > "$T/etc/os-release" <<OS
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
ID=debian
OS
cat > "$T/etc/fstab" <<FS
UUID=$ROOT_UUID / ext4 errors=remount-ro 0 1
UUID=$VAR_UUID /var ext4 defaults 0 2
FS
printf 'root:x:0:0:root:/root:/bin/bash\nsshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n' > "$T/etc/passwd"
printf 'auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n' > "$T/etc/network/interfaces"
printf '#!/bin/sh\n' > "$T/usr/lib/systemd/systemd"; chmod 755 "$T/usr/lib/systemd/systemd"
ln -s ../usr/lib/systemd/systemd "$T/sbin/init"
i=0
while [ $i -lt 400 ]; do
    mkdir -p "$T/usr/share/doc/pkg$i"
    printf 'Package %s\nsome documentation text for a realistic tree\n' $i > "$T/usr/share/doc/pkg$i/README"
    i=$((i + 1))
done
V=$WORK/var
mkdir -p "$V/lib/dpkg" "$V/log"
printf 'Package: openssh-server\nStatus: install ok installed\n' > "$V/lib/dpkg/status"

truncate -s 2G "$IMG"
sfdisk -q "$IMG" >/dev/null <<PT
label: gpt
start=1MiB, size=100MiB, type=uefi, name=esp
start=101MiB, size=1400MiB, type=linux, name=root
start=1501MiB, size=256MiB, type=swap, name=swap
start=1757MiB, size=280MiB, type=linux, name=var
PT
truncate -s 1400M "$WORK/p2"; mkfs.ext4 -q -F -U $ROOT_UUID -d "$T" "$WORK/p2"
dd if="$WORK/p2" of="$IMG" bs=1M seek=101 conv=notrunc,sparse status=none; rm "$WORK/p2"
truncate -s 256M "$WORK/p3"; mkswap -q "$WORK/p3" >/dev/null
dd if="$WORK/p3" of="$IMG" bs=1M seek=1501 conv=notrunc,sparse status=none; rm "$WORK/p3"
truncate -s 280M "$WORK/p4"; mkfs.ext4 -q -F -U $VAR_UUID -d "$V" "$WORK/p4"
dd if="$WORK/p4" of="$IMG" bs=1M seek=1757 conv=notrunc,sparse status=none; rm "$WORK/p4"

SHA_BEFORE=$(sha256sum "$IMG" | cut -d' ' -f1)

# Times one command RUNS times as a whole process; prints "median max rss".
# The audit exits 1 when it finds something, which is not a failure here.
measure() {
    label=$1; shift
    "$@" >/dev/null 2>&1 || [ $? -eq 1 ]      # warm the page cache once
    n=0
    : > "$WORK/times"
    while [ $n -lt "$RUNS" ]; do
        start=$(date +%s%N)
        /usr/bin/time -f '%M' -o "$WORK/rss" "$@" > "$WORK/out" 2>&1 || [ $? -eq 1 ]
        end=$(date +%s%N)
        echo "$(( (end - start) / 1000 )) $(tail -n 1 "$WORK/rss")" >> "$WORK/times"
        n=$((n + 1))
    done
    sort -n "$WORK/times" | awk -v runs="$RUNS" -v label="$label" -v target="$TARGET_MS" '
        { t[NR] = $1 / 1000; if ($2 > rss) rss = $2 }
        END {
            median = t[int((NR + 1) / 2)]
            printf "%-34s runs %d  median %6.1f ms  max %6.1f ms  max RSS %5.1f MiB  (targets: < %d ms %s, < 40 MiB %s)\n",
                label, runs, median, t[NR], rss / 1024, target, median < target ? "ok" : "MISSED", rss / 1024 < 40 ? "ok" : "MISSED"
        }'
}

TARGET_MS=150 measure "rescue-audit audit IMAGE" "$BIN" audit "$IMG" --format json
SHA_AFTER=$(sha256sum "$IMG" | cut -d' ' -f1)

# The same tree as a directory: mounted read-only with --keep-mounted.
mkdir -p "$WORK/mnt"
"$BIN" audit "$IMG" --keep-mounted "$WORK/mnt" >/dev/null 2>&1 || [ $? -eq 1 ]
TARGET_MS=30 measure "rescue-audit audit DIR (same tree)" "$BIN" audit "$WORK/mnt" --format json
umount -R "$WORK/mnt"

[ "$SHA_BEFORE" = "$SHA_AFTER" ] && echo "image unchanged (SHA-256 $SHA_AFTER)" || { echo "IMAGE CHANGED"; exit 1; }
if losetup -a | grep -q "$WORK"; then echo "LOOP DEVICES LEFT"; losetup -a | grep "$WORK"; exit 1; fi
