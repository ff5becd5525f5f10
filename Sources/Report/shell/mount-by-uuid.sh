    dev=/dev/disk/by-uuid/$AUDIT_UUID
    if [ ! -e "$dev" ] && command -v blkid >/dev/null 2>&1; then
        dev=$(blkid -U "$AUDIT_UUID" 2>/dev/null || true)
    fi
    if [ -z "$dev" ] || [ ! -e "$dev" ]; then
        die "no device with UUID $AUDIT_UUID is attached; mount the target's root read-write and run: ROOT=/path sh $0"
    fi
    MNT=$(mktemp -d)
    # A dry run only reads: read-only, and without replaying a journal
    # (noload for ext3/4, norecovery for xfs), which would write.
    if [ "$DRY_RUN" = 1 ]; then
        mount -o ro,noload "$dev" "$MNT" 2>/dev/null || mount -o ro,norecovery "$dev" "$MNT" 2>/dev/null || mounted=no
    else
        mount -o rw "$dev" "$MNT" || mounted=no
    fi
    if [ "${mounted:-yes}" = no ]; then
        rmdir -- "$MNT"
        MNT=''
        die "could not mount $dev; mount it read-write yourself and run: ROOT=/path sh $0"
    fi
    say "Mounted $dev (UUID $AUDIT_UUID) at $MNT; it is unmounted at the end."
    ROOT=$MNT
