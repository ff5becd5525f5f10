#!/bin/sh
# Writes a real systemd journal file from journal export format on stdin:
# systemd-journal-remote (unpacked into .oracles/ by scripts/fetch-oracles.sh,
# never installed) does the writing, so the file is what systemd itself
# writes: compact layout, keyed hashes and zstd-compressed large fields by
# default (SYSTEMD_JOURNAL_COMPACT=0 and SYSTEMD_JOURNAL_KEYED_HASH=0 select
# the older layouts). The file is then cut to its last object and the
# header's arena_size set to match, so a fixture is not 8 MiB of
# preallocated zeros; `journalctl --file OUT --verify` checks the result.
#
#   scripts/make-journal.sh OUT < export.txt
set -eu
out=$1
repo=$(cd "$(dirname "$0")/.." && pwd)
oracle=$repo/.oracles/root
bin=$oracle/lib/systemd/systemd-journal-remote
[ -x "$bin" ] || bin=$oracle/usr/lib/systemd/systemd-journal-remote
[ -x "$bin" ] || { echo "make-journal: systemd-journal-remote is not in .oracles; run scripts/fetch-oracles.sh" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
LD_LIBRARY_PATH=$oracle/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
    "$bin" --output="$tmp/out.journal" - >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
# Header (little-endian): header_size at 88, arena_size at 96, tail_object_offset at 136;
# an object's size is at its offset + 8. Objects are 8-byte aligned.
le64() { od -An -tu8 -j "$2" -N8 "$1" | tr -d ' '; }
header=$(le64 "$tmp/out.journal" 88)
tail=$(le64 "$tmp/out.journal" 136)
size=$(le64 "$tmp/out.journal" $((tail + 8)))
end=$(( (tail + size + 7) / 8 * 8 ))
arena=$((end - header))
head -c "$end" "$tmp/out.journal" > "$out"
# Patch arena_size: eight little-endian bytes at offset 96.
i=0; bytes=''
while [ $i -lt 8 ]; do
    bytes="$bytes$(printf '\\%03o' $(( (arena >> (8 * i)) & 255 )))"
    i=$((i + 1))
done
# shellcheck disable=SC2059
printf "$bytes" | dd of="$out" bs=1 seek=96 conv=notrunc status=none
