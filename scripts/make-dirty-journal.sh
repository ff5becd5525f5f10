#!/bin/sh
# Writes an ext4 image whose last edit is still only in its journal, as a
# machine that lost power right after the edit leaves it:
#   1. mkfs.ext4 -d ROOT (the image holds ROOT's tree);
#   2. mount it with data=journal,commit=1 and replace FILE (a target path)
#      with the contents of NEW;
#   3. fsync FILE (`sync FILE`), which makes jbd2 commit the transaction,
#      and copy the image at once, while the kernel has not yet written the
#      blocks in place (writeback leaves them dirty for 30 s, unless
#      another process's sync(1) checkpoints them first);
#   4. unmount the original; OUT is the copy.
# The result is checked, not assumed: OUT must say needs_recovery, debugfs
# (which never replays) must read the old FILE from it, and e2fsck's replay
# on a scratch copy must read NEW. When writeback was quicker (a loaded
# machine), it tries again, five times at most. Needs root and a loop device.
#
#   scripts/make-dirty-journal.sh ROOT OUT FILE NEW
set -eu
root=$1 out=$2 file=$3 new=$4
work=$(mktemp -d)
mnt=$work/mnt
cleanup() { umount "$mnt" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
mkdir "$mnt"
try=1
while [ $try -le 5 ]; do
    rm -f "$work/live.img"
    truncate -s 64M "$work/live.img"
    mkfs.ext4 -q -F -d "$root" "$work/live.img"
    mount -o loop,data=journal,commit=1 "$work/live.img" "$mnt"
    cat "$new" > "$mnt$file"
    # fsync commits the edit to the journal (data=journal) at once; copy
    # right after, before writeback checkpoints it to its home blocks. (A
    # fixed sleep lost that race whenever another process ran sync(1).)
    sync "$mnt$file"
    cp --sparse=always "$work/live.img" "$out"
    umount "$mnt"
    cp --sparse=always "$out" "$work/replayed.img"
    e2fsck -fy "$work/replayed.img" >/dev/null 2>&1 || [ $? -le 1 ]
    if dumpe2fs -h "$out" 2>/dev/null | grep -q needs_recovery \
        && debugfs -R "cat $file" "$out" 2>/dev/null | cmp -s - "$root$file" \
        && debugfs -R "cat $file" "$work/replayed.img" 2>/dev/null | cmp -s - "$new"; then
        exit 0
    fi
    try=$((try + 1))
done
echo "make-dirty-journal: the edit of $file never stayed in the journal alone (5 tries)" >&2
exit 1
