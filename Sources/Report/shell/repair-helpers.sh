
TMPF=''
MNT=''
BOUND=''
BASE=/var/backups/rescue-audit

# Unbinds what a chroot step bound, removes a half-written file and
# unmounts what the script mounted, however the script ends.
unbind_all() {
    for d in $BOUND; do
        umount "$ROOT/$d" 2>/dev/null || umount -l "$ROOT/$d" || warn "could not unmount $ROOT/$d; unmount it by hand"
    done
    BOUND=''
}
cleanup() {
    set +e
    if [ -n "$TMPF" ]; then rm -f -- "$TMPF"; fi
    unbind_all
    if [ -n "$MNT" ]; then
        umount "$MNT" && rmdir -- "$MNT"
    fi
}
trap 'rc=$?; cleanup; exit "$rc"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Creates the missing directories above the host path $1; CREATED counts them for undo.
make_parents() {
    d=${1%/*}
    CREATED=0
    while [ ! -e "$d" ] && [ ! -L "$d" ]; do
        CREATED=$((CREATED + 1))
        d=${d%/*}
    done
    if [ "$CREATED" -gt 0 ]; then mkdir -p -- "${1%/*}"; fi
}

# The backup directory is made on the first change, so a run with
# nothing to do leaves no trace.
ensure_backup() {
    if [ -n "$BK" ]; then return 0; fi
    resolve "$BASE/x" || die "$BASE cannot be resolved inside the target"
    base=${RESOLVED%/x}
    mkdir -p -- "$base"
    stamp=$(date -u +%Y%m%dT%H%M%SZ)
    if mkdir -- "$base/$stamp" 2>/dev/null; then
        BK=$base/$stamp
    else
        BK=$base/$stamp-$$
        mkdir -- "$BK"
    fi
    inside=${BK#"$ROOT"}
    BACKUP_DEPTH=0
    while [ -n "$inside" ]; do
        inside=${inside%/*}
        BACKUP_DEPTH=$((BACKUP_DEPTH + 1))
    done
    : > "$BK/undo.steps"
    write_undo
    say "Backups, the log and undo.sh go to $BK"
}

# undo.sh finds the root from where it lies: BACKUP_DEPTH components
# above it, counted on the path inside the target, with every symlink
# (a /var/backups that links elsewhere) already resolved.
write_undo() {
    { undo_head; cat "$BK/undo.steps"; undo_tail; printf 'BACKUP_DEPTH=%s\n' "$BACKUP_DEPTH"; undo_end; } > "$BK/undo.sh"
    chmod 755 "$BK/undo.sh"
}

# Records how to undo a change. The newest step goes first, so undo.sh
# undoes the last change first. Steps name only ids and counts; the
# values live in undo.sh as quoted data.
undo_add() {
    { printf '    %s\n' "$1"; cat "$BK/undo.steps"; } > "$BK/undo.steps.new"
    mv -f -- "$BK/undo.steps.new" "$BK/undo.steps"
    write_undo
}

# Moves whatever is at the host path $2 (target path $1) into the backup.
stash() {
    mkdir -p -- "$BK/files${1%/*}"
    mv -- "$2" "$BK/files$1"
}

# check_write ID PATH BEFORE AFTER CONTENT: sets TODO to apply, skip or refuse.
check_write() {
    TODO=refuse
    if ! resolve "$2"; then refuse "$1: $2 cannot be resolved inside the target"; return 0; fi
    got=$("$5" | sha256)
    if [ "${got%% *}" != "$4" ]; then
        refuse "$1: this shell's printf does not reproduce the bytes planned for $2; run the script with dash or busybox sh"
        return 0
    fi
    state=$(state_of "$RESOLVED")
    if [ "$state" = "$4" ]; then TODO=skip
    elif [ "$state" = "$3" ]; then TODO=apply
    elif [ "$state" = symlink ] || [ "$state" = other ]; then
        refuse "$1: $2 is now a $state, not the regular file that was audited"
    elif [ "$FORCE" = 1 ]; then
        warn "$1: $2 changed since the audit (now $state); FORCE=1, so it is written anyway"
        TODO=apply
    else
        refuse "$1: $2 changed since the audit (sha256 now $state, audited $3); audit again, or run with FORCE=1 to overwrite it"
    fi
}

# apply_write ID PATH CONTENT MODE: replaces the file in place (same
# owner and mode, through a temporary file beside it), or creates it.
apply_write() {
    resolve "$2" || die "$1: $2 cannot be resolved inside the target"
    f=$RESOLVED
    if [ "$DRY_RUN" = 1 ]; then
        if [ -e "$f" ]; then say "  would back up $2 and write its new contents"
        else say "  would create $2 (mode $4)"
        fi
        return 0
    fi
    ensure_backup
    TMPF=${f%/*}/.rescue-audit.$$.tmp
    if [ -e "$f" ]; then
        mkdir -p -- "$BK/files${2%/*}"
        cp -p -- "$f" "$BK/files$2"
        cp -p -- "$f" "$TMPF"
        "$3" > "$TMPF"
        undo_add "restore_file \"\$${1}_path\" \"\$${1}_after\""
        mv -f -- "$TMPF" "$f"
        say "  wrote $2 (the old file is in $BK/files)"
    else
        make_parents "$f"
        "$3" > "$TMPF"
        chmod "$4" "$TMPF"
        undo_add "remove_file \"\$${1}_path\" \"\$${1}_after\" $CREATED"
        mv -f -- "$TMPF" "$f"
        say "  created $2"
    fi
    TMPF=''
}

# check_move ID PATH BEFORE
check_move() {
    TODO=refuse
    if ! resolve "$2"; then refuse "$1: $2 cannot be resolved inside the target"; return 0; fi
    state=$(state_of "$RESOLVED")
    if [ "$state" = "$3" ]; then TODO=apply
    elif [ "$state" = absent ]; then TODO=skip
    elif [ "$state" = symlink ] || [ "$state" = other ]; then
        refuse "$1: $2 is now a $state, not the regular file that was audited"
    elif [ "$FORCE" = 1 ]; then
        warn "$1: $2 changed since the audit; FORCE=1, so it is moved aside anyway"
        TODO=apply
    else
        refuse "$1: $2 changed since the audit (sha256 now $state, audited $3); audit again, or run with FORCE=1"
    fi
}

# move_aside ID PATH WHAT: moves PATH (a file or a symlink, WHAT in the
# messages) into the backup directory; undo.sh moves it back.
move_aside() {
    resolve "$2" || die "$1: $2 cannot be resolved inside the target"
    f=$RESOLVED
    if [ "$DRY_RUN" = 1 ]; then say "  would move $3 into the backup directory"; return 0; fi
    ensure_backup
    undo_add "move_back \"\$${1}_path\""
    stash "$2" "$f"
    say "  moved $3 to $BK/files$2"
}

# apply_move ID PATH: moves the file into the backup directory.
apply_move() { move_aside "$1" "$2" "$2"; }

# check_link ID PATH TARGET: keeps TODO at refuse, apply or skip, worst first.
check_link() {
    if ! resolve "$2"; then refuse "$1: $2 cannot be resolved inside the target"; return 0; fi
    if [ -L "$RESOLVED" ]; then
        read_link "$RESOLVED"
        if [ "$LINK" = "$3" ]; then return 0; fi
    elif [ ! -e "$RESOLVED" ]; then
        if [ "$TODO" != refuse ]; then TODO=apply; fi
        return 0
    elif [ -d "$RESOLVED" ]; then
        refuse "$1: $2 is a directory; the link is not made"
        return 0
    fi
    if [ "$FORCE" = 1 ]; then
        warn "$1: something else is at $2; FORCE=1, so it is moved into the backup and replaced by the link"
        if [ "$TODO" != refuse ]; then TODO=apply; fi
    else
        refuse "$1: something else is at $2; remove it or run with FORCE=1"
    fi
}

# apply_link ID PATH TARGET: creates one symlink, exactly.
apply_link() {
    resolve "$2" || die "$1: $2 cannot be resolved inside the target"
    f=$RESOLVED
    if [ -L "$f" ]; then
        read_link "$f"
        if [ "$LINK" = "$3" ]; then say "  $2 is already a link to $3"; return 0; fi
    fi
    if [ "$DRY_RUN" = 1 ]; then say "  would link $2 -> $3"; return 0; fi
    ensure_backup
    moved=0
    if [ -e "$f" ] || [ -L "$f" ]; then
        stash "$2" "$f"
        moved=1
    fi
    make_parents "$f"
    undo_add "remove_link \"\$${1}_path\" \"\$${1}_target\" $CREATED $moved"
    ln -s -- "$3" "$f"
    say "  linked $2 -> $3"
}

# check_unlink ID PATH TARGET: the symlink must still point to TARGET.
check_unlink() {
    TODO=refuse
    if ! resolve "$2"; then refuse "$1: $2 cannot be resolved inside the target"; return 0; fi
    if [ -L "$RESOLVED" ]; then
        read_link "$RESOLVED"
        if [ "$LINK" = "$3" ]; then TODO=apply; return 0; fi
        refuse "$1: $2 now points to $LINK, not $3 as audited"
    elif [ ! -e "$RESOLVED" ]; then
        TODO=skip
    else
        refuse "$1: $2 is no longer the symlink that was audited"
    fi
}

# apply_unlink ID PATH: moves the symlink into the backup directory.
apply_unlink() { move_aside "$1" "$2" "the link $2"; }

# check_ownership ID PATH FROM TO: FROM and TO are "mode uid gid" as
# stat -c '%a %u %g' prints them (numeric owners of the target).
check_ownership() {
    TODO=refuse
    if ! resolve "$2"; then refuse "$1: $2 cannot be resolved inside the target"; return 0; fi
    if [ -L "$RESOLVED" ] || [ ! -e "$RESOLVED" ]; then refuse "$1: $2 is missing or a symlink now"; return 0; fi
    now=$(stat -c '%a %u %g' -- "$RESOLVED") || { refuse "$1: stat $2 failed"; return 0; }
    if [ "$now" = "$4" ]; then TODO=skip
    elif [ "$now" = "$3" ]; then TODO=apply
    elif [ "$FORCE" = 1 ]; then
        warn "$1: $2 changed since the audit (mode and owner now $now); FORCE=1, so it is changed anyway"
        TODO=apply
    else
        refuse "$1: $2 changed since the audit (mode and owner now $now, audited $3); audit again, or run with FORCE=1"
    fi
}

# apply_ownership ID PATH MODE UID GID: owner first (chown clears set-id bits), then mode.
apply_ownership() {
    resolve "$2" || die "$1: $2 cannot be resolved inside the target"
    f=$RESOLVED
    if [ "$DRY_RUN" = 1 ]; then say "  would set $2 to mode $3, owner $4:$5"; return 0; fi
    ensure_backup
    undo_add "restore_ownership \"\$${1}_path\" \"\$${1}_from\" \"\$${1}_to\""
    chown -h -- "$4:$5" "$f"
    chmod -- "$3" "$f"
    say "  set $2 to mode $3, owner $4:$5"
}

# check_chroot ID MARKER: a command runs once; the marker records it ran.
check_chroot() {
    TODO=apply
    if resolve "$BASE/done/$2" && [ -e "$RESOLVED" ]; then TODO=skip; return 0; fi
    for d in proc sys dev run; do
        # A bind mount follows a symlink: it could cover (and the unbind
        # unmount) a directory of the rescue system.
        if [ -L "$ROOT/$d" ]; then refuse "$1: $ROOT/$d is a symlink; /$d is not bound over it"; fi
    done
}

bind_all() {
    for d in proc sys dev run; do
        if [ -L "$ROOT/$d" ]; then die "$ROOT/$d is a symlink; not mounting over it"; fi
        if [ ! -d "$ROOT/$d" ]; then say "  $ROOT/$d does not exist; /$d is not bound"; continue; fi
        mount -o bind "/$d" "$ROOT/$d"
        BOUND="$d $BOUND"
    done
}

# glob_before KEY DIR PATTERN: before a command runs inside the target,
# copies the files of DIR that match PATTERN into the backup, and tells
# undo.sh to put them back.
glob_before() {
    if [ "$DRY_RUN" = 1 ]; then say "  would copy $2/$3 into the backup first, for undo.sh"; return 0; fi
    ensure_backup
    resolve "$2/x" || die "$2 cannot be resolved inside the target"
    d=${RESOLVED%/x}
    mkdir -p -- "$BK/chroot/$1/before"
    # shellcheck disable=SC2086
    for f in "$d"/$3; do
        if [ -f "$f" ] || [ -L "$f" ]; then cp -P -p -- "$f" "$BK/chroot/$1/before/"; fi
    done
    undo_add "restore_glob $1 \"\$${1}_dir\" \"\$${1}_pat\""
}

# glob_after KEY DIR PATTERN: records which matching files the command
# created (an empty file of the same name), for undo.sh to remove.
glob_after() {
    if [ "$DRY_RUN" = 1 ]; then return 0; fi
    resolve "$2/x" || die "$2 cannot be resolved inside the target"
    d=${RESOLVED%/x}
    # shellcheck disable=SC2086
    for f in "$d"/$3; do
        if { [ -e "$f" ] || [ -L "$f" ]; } && [ ! -e "$BK/chroot/$1/before/${f##*/}" ] && [ ! -L "$BK/chroot/$1/before/${f##*/}" ]; then
            mkdir -p -- "$BK/chroot/$1/created"
            : > "$BK/chroot/$1/created/${f##*/}"
        fi
    done
}

# run_chroot ID MARKER RESTORED WORD...: binds /proc, /sys, /dev and
# /run, runs the command inside the target, and always unbinds (here,
# or in the EXIT trap when interrupted). RESTORED is 1 when undo.sh
# puts back the files the command changes.
run_chroot() {
    id=$1
    marker=$2
    restored=$3
    shift 3
    if [ "$DRY_RUN" = 1 ]; then
        say "  would bind /proc /sys /dev /run at $ROOT/proc $ROOT/sys $ROOT/dev $ROOT/run"
        say "  would run: chroot $ROOT $*"
        say "  would unbind $ROOT/run $ROOT/dev $ROOT/sys $ROOT/proc"
        return 0
    fi
    ensure_backup
    if [ -z "$ROOT" ]; then
        # ROOT=/ after an audit of /: this shell already runs on the target.
        say "  running in the target: $*"
        if "$@"; then rc=0; else rc=$?; fi
    else
        bind_all
        say "  running in the target: $*"
        if chroot "$ROOT" "$@"; then rc=0; else rc=$?; fi
        unbind_all
    fi
    if [ "$rc" -ne 0 ]; then die "$id: the command failed (status $rc); fix that by hand, then run this script again"; fi
    resolve "$BASE/done/$marker" || die "$BASE cannot be resolved inside the target"
    mkdir -p -- "${RESOLVED%/*}"
    printf '%s\n' "$*" > "$RESOLVED"
    undo_add "chroot_note \"\$${id}_cmd\" $restored"
    say "  done; it will not run again from this script"
}
