#!/usr/bin/env bash
# The repair proof: for every boot-check variant that boots unreachable, does
# the repair script bring it back, and does undo.sh put it back byte for byte?
#
#   scripts/repair-proof.sh              every variant of scripts/boot-check.sh
#   scripts/repair-proof.sh VARIANT...   some of them
#
# For each variant, on images built by scripts/boot-check.sh (base images
# cached; each broken image rebuilt from its base by the variant's break
# function):
#   1. boot the broken image: no banner (or no key login) expected. The
#      observation of the last boot-check run is reused when it was made on
#      the same base image with the same break function (REPROVE_BROKEN=1
#      boots it again); a variant that boots reachable stops here;
#   2. rescue-audit: the verdict (or critical/high findings) it predicts,
#      then `rescue-audit plan IMAGE -o repair.sh`;
#   3. a copy of the image, its root mounted read-write, `ROOT=mnt sh repair.sh`;
#      the tool's prediction for the repaired image;
#   4. boot the repaired image, with the kernel and initrd of its own /boot
#      (a repair may rebuild the initramfs): banner and key login expected;
#   5. undo.sh (from the repair's backup directory) on the repaired image;
#   6. the file tree is compared with the broken image's: type, mode, owner,
#      size and symlink target of every entry, and the SHA-256 of every
#      regular file whose inode the repair or undo.sh touched (ctime after the
#      repair started: untouched files of the copy are the broken image's
#      bytes), except the backup directory /var/backups/rescue-audit that the
#      repair leaves behind. (The
#      raw image bytes differ after any read-write mount: ext4 records mount
#      times and counts in its superblock, and the journal.)
#
# Results: .boot-check/repair-proof.md (table) and
# .boot-check/repair-proof/<variant>/ (scripts, logs, manifests). Not in CI.
# Needs root. The binary is $RESCUE_AUDIT, else .build/debug/rescue-audit.
# Whatever happens, the trap stops the VM and unmounts what was mounted
# (loop devices are auto-cleared on unmount).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BOOT_CHECK_LIB=1
# shellcheck source=scripts/boot-check.sh
. "$REPO/scripts/boot-check.sh"

PROOF=$WORK/repair-proof
OUT=$LOGS/repair-proof

# mount_image IMG ro|rw: mounts IMG's root at a new directory, in MNT_ACTIVE.
mount_image() {
    local opts=loop,offset=$PART_OFFSET
    [ "$2" = ro ] && opts=$opts,ro,noload
    MNT_ACTIVE=$(mktemp -d)
    mount -o "$opts" "$1" "$MNT_ACTIVE"
}
unmount_image() {
    umount "$MNT_ACTIVE"
    rmdir "$MNT_ACTIVE"
    MNT_ACTIVE=''
}

# manifest IMG OUT [SINCE]: a line for every entry of IMG's root (path,
# type, mode, owner, size, link target), sorted, the backup directory left
# out; then the SHA-256 of the regular files whose inode changed after SINCE
# (seconds since the epoch; a file's content cannot change without its ctime
# changing), or of the files listed in SINCE when it is a file.
manifest() {
    mount_image "$1" ro
    (
        cd "$MNT_ACTIVE"
        find . -xdev -path ./var/backups/rescue-audit -prune -o -printf '%p\t%y\t%m\t%U:%G\t%s\t%l\n' | LC_ALL=C sort
        if [ -f "${3:-}" ]; then
            while IFS= read -r f; do if [ -f "$f" ] && [ ! -L "$f" ]; then sha256sum "$f"; else echo "absent-or-not-a-file  $f"; fi; done <"$3"
        elif [ -n "${3:-}" ]; then
            find . -xdev -path ./var/backups/rescue-audit -prune -o -type f -newerct "@$3" -print | LC_ALL=C sort
        fi
    ) >"$2"
    unmount_image
}

# boot_files IMG DIR: copies the newest kernel and initrd of IMG's /boot to DIR.
boot_files() {
    mount_image "$1" ro
    local k i
    k=$(printf '%s\n' "$MNT_ACTIVE"/boot/vmlinuz-* | sort -V | tail -n 1)
    i=$(printf '%s\n' "$MNT_ACTIVE"/boot/initrd.img-* | sort -V | tail -n 1)
    cp "$k" "$2/vmlinuz"; cp "$i" "$2/initrd.img"
    unmount_image
}

# The observation of the broken image: reused from boot-check when it is of the same image.
broken_boot() {
    local name=$1 img=$2 obs=$LOGS/$1.observed
    if [ -z "${REPROVE_BROKEN:-}" ] && [ -f "$obs" ] && [ "$(head -n 1 "$obs")" = "$(variant_stamp "$name")" ]; then
        echo "$(sed -n 2p "$obs") (boot-check run)"
        return 0
    fi
    local says result
    says=$(tool_says "$img")
    result=$(boot "$name" "$img")
    # It is a boot-check observation too.
    record_variant "$name" "$says" "$result"
    echo "$result"
}

# row CELLS...: the variant's table row, with when and with which commit it ran.
row() {
    local c
    for c in "$@" "$(date -u +%H:%MZ) ${RESCUE_AUDIT_COMMIT:-?}"; do
        printf '| %s ' "$c"
    done >>"$OUT/$CURRENT.row"
    printf '|' >>"$OUT/$CURRENT.row"
}

prove() {
    local name=$1 dir=$PROOF/$1 out=$OUT/$1 t0=$SECONDS
    CURRENT=$name
    rm -rf "$dir" "$out"; mkdir -p "$dir" "$out"
    : >"$OUT/$name.row"
    local broken=$dir/broken.img repaired=$dir/repaired.img
    build_variant "$name" "$broken"
    local before_boot
    before_boot=$(broken_boot "$name" "$broken")
    echo "== $name: broken image: $before_boot" >&2
    case $before_boot in
        invalid*)
            row "$name" "$before_boot" "$(tool_says "$broken")" "not tried: the broken boot proved nothing" "" "" "" "$((SECONDS - t0)) s"
            rm -f "$broken"; return 0 ;;
        reachable*)
            row "$name" "$before_boot" "$(tool_says "$broken")" "not needed: it boots reachable" "" "" "" "$((SECONDS - t0)) s"
            rm -f "$broken"; return 0 ;;
    esac
    local says_before says_after
    says_before=$(tool_says "$broken")
    "$RA" plan "$broken" -o "$out/repair.sh" >"$out/plan.txt" 2>&1 || true
    if [ ! -s "$out/repair.sh" ]; then
        row "$name" "$before_boot" "$says_before" "no script written" "" "" "" "$((SECONDS - t0)) s"
        rm -f "$broken"; return 0
    fi
    local fixes steps
    fixes=$(sed -n '/^# Findings this script fixes:/,/^# Findings it does NOT fix/p' "$out/repair.sh" | grep -c '^#   \[' || true)
    steps=$(sed -n 's/^Repair script .*: \([0-9]*\) automatic step.*/\1/p' "$out/plan.txt")
    if [ "${steps:-0}" = 0 ]; then
        row "$name" "$before_boot" "$says_before" "no automatic step (nothing to apply, not booted again)" "" "" "" "$((SECONDS - t0)) s"
        rm -f "$broken"; return 0
    fi

    # 3. apply.
    local t0_apply
    t0_apply=$(date +%s)
    sleep 1
    cp --sparse=always "$broken" "$repaired"
    mount_image "$repaired" rw
    local applied=ok
    ROOT=$MNT_ACTIVE sh "$out/repair.sh" >"$out/repair.log" 2>&1 || applied="failed ($(tail -n 1 "$out/repair.log"))"
    local undo
    undo=$(find "$MNT_ACTIVE/var/backups/rescue-audit" -maxdepth 2 -name undo.sh 2>/dev/null | sort | tail -n 1)
    [ -n "$undo" ] && cp "$undo" "$out/undo.sh"
    unmount_image
    echo "== $name: repair: $applied, $fixes finding(s) fixed" >&2
    # What the plan itself predicts for the repaired system (when it prints
    # a verdict line), then the audit of the repaired image.
    says_after=$(tool_says "$repaired")
    local planned
    planned=$(grep -m 1 -E 'After this plan: |SSH after' "$out/plan.txt" | sed 's/^[[:space:]]*//' || true)
    [ -z "$planned" ] || says_after="plan: $planned; audit: $says_after"

    # 4. boot the repaired image with its own kernel and initrd.
    local after_boot
    boot_files "$repaired" "$dir"
    after_boot=$(boot "$name-repaired" "$repaired" "$dir/vmlinuz" "$dir/initrd.img")
    echo "== $name: repaired image: $after_boot" >&2

    # 5. undo, 6. compare.
    local undone=no-undo identical=""
    if [ -n "$undo" ]; then
        mount_image "$repaired" rw
        undo=$(find "$MNT_ACTIVE/var/backups/rescue-audit" -maxdepth 2 -name undo.sh | sort | tail -n 1)
        if sh "$undo" >"$out/undo.log" 2>&1; then undone=ok; else undone="failed ($(tail -n 1 "$out/undo.log"))"; fi
        unmount_image
        # The files whose inode the repair or undo.sh touched, then their
        # SHA-256 on both sides; every entry's metadata on both sides.
        manifest "$repaired" "$out/touched.list" "$t0_apply"
        sed -n '/\t/!p' "$out/touched.list" >"$out/touched.paths"
        manifest "$broken" "$out/broken.manifest" "$out/touched.paths"
        manifest "$repaired" "$out/undone.manifest" "$out/touched.paths"
        if cmp -s "$out/broken.manifest" "$out/undone.manifest"; then
            identical="identical ($(grep -c "$(printf '\t')" "$out/broken.manifest") entries, $(wc -l <"$out/touched.paths") touched files hashed)"
        else
            diff "$out/broken.manifest" "$out/undone.manifest" >"$out/manifest.diff" || true
            identical="DIFFERENT: $(grep -c '^[<>]' "$out/manifest.diff") lines, see manifest.diff"
        fi
    fi
    row "$name" "$before_boot" "$says_before" "$applied, $fixes finding(s) fixed" "$says_after" "$after_boot" "undo $undone; $identical" "$((SECONDS - t0)) s"
    rm -f "$broken" "$repaired"
}

assemble_proof() {
    {
        echo "Last run $(date -u +%Y-%m-%dT%H:%MZ); each row says when and with which commit it ran (rows of variants not in the last run are from earlier runs)."
        echo
        echo '| variant | broken image boots | the tool predicts | repair script | the tool predicts after repair | repaired image boots | undo.sh | time | run (UTC, commit) |'
        echo '|---|---|---|---|---|---|---|---|---|'
        for n in "${VARIANTS[@]}"; do
            if [ -f "$OUT/$n.row" ]; then cat "$OUT/$n.row"; echo; fi
        done
    } >"$LOGS/repair-proof.md"
    # The tables in docs/boot-checks.md, between their markers (no hand edit):
    # this one, and boot-check's (the broken boots are boot-check observations).
    fill_doc repair-proof-table "$LOGS/repair-proof.md"
    assemble
}

proof_main() {
    trap bc_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    rescue_audit_bin >/dev/null || { echo "$0: no rescue-audit binary: build it (swift build) or set RESCUE_AUDIT" >&2; exit 2; }
    prepare
    pin_binary
    RA=$RESCUE_AUDIT
    mkdir -p "$PROOF" "$OUT"
    local names=("$@")
    [ ${#names[@]} -gt 0 ] || names=("${VARIANTS[@]}")
    for n in "${names[@]}"; do
        case " ${VARIANTS[*]} " in *" $n "*) ;; *) echo "$0: unknown variant $n" >&2; exit 64 ;; esac
        prove "$n"
        assemble_proof
    done
    cat "$LOGS/repair-proof.md"
}

proof_main "$@"
