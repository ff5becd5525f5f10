
BK=$(cd -- "$(dirname -- "$0")" && pwd -P)
PASS=check

# restore_file PATH AFTER: puts the backed-up file back.
restore_file() {
    if ! resolve "$1"; then refuse "$1 cannot be resolved inside the target"; return 0; fi
    f=$RESOLVED
    b=$BK/files$1
    if [ ! -f "$b" ]; then refuse "the backup of $1 is missing"; return 0; fi
    state=$(state_of "$f")
    if [ "$state" = "$(sha_file "$b")" ]; then
        if [ "$PASS" = apply ]; then say "$1 is already restored"; fi
        return 0
    fi
    if [ "$state" = symlink ] || [ "$state" = other ]; then refuse "$1 is now a $state"; return 0; fi
    if [ "$state" != "$2" ] && [ "$FORCE" != 1 ]; then
        refuse "$1 changed since the repair; FORCE=1 restores it anyway"
        return 0
    fi
    if [ "$PASS" = check ]; then return 0; fi
    if [ "$DRY_RUN" = 1 ]; then say "would restore $1"; return 0; fi
    cp -p -- "$b" "$f"
    say "restored $1"
}

# remove_file PATH AFTER CREATED-DIRS: removes a file the repair created.
remove_file() {
    if ! resolve "$1"; then refuse "$1 cannot be resolved inside the target"; return 0; fi
    f=$RESOLVED
    state=$(state_of "$f")
    if [ "$state" = absent ]; then
        if [ "$PASS" = apply ]; then say "$1 is already removed"; fi
        return 0
    fi
    if [ "$state" = symlink ] || [ "$state" = other ]; then refuse "$1 is now a $state"; return 0; fi
    if [ "$state" != "$2" ] && [ "$FORCE" != 1 ]; then
        refuse "$1 changed since the repair; FORCE=1 removes it anyway"
        return 0
    fi
    if [ "$PASS" = check ]; then return 0; fi
    if [ "$DRY_RUN" = 1 ]; then say "would remove $1"; return 0; fi
    rm -f -- "$f"
    remove_parents "$f" "$3"
    say "removed $1"
}

# move_back PATH: returns a file the repair moved aside.
move_back() {
    if ! resolve "$1"; then refuse "$1 cannot be resolved inside the target"; return 0; fi
    f=$RESOLVED
    b=$BK/files$1
    if [ ! -e "$b" ] && [ ! -L "$b" ]; then
        if [ "$PASS" = apply ]; then say "$1 is already back"; fi
        return 0
    fi
    if { [ -e "$f" ] || [ -L "$f" ]; } && [ "$FORCE" != 1 ]; then
        refuse "something is at $1 again; FORCE=1 replaces it with the old file"
        return 0
    fi
    if [ "$PASS" = check ]; then return 0; fi
    if [ "$DRY_RUN" = 1 ]; then say "would move $1 back"; return 0; fi
    mkdir -p -- "${f%/*}"
    mv -f -- "$b" "$f"
    say "moved $1 back"
}

# remove_link PATH TARGET CREATED-DIRS MOVED: removes a link the repair
# made, and puts back what it replaced.
remove_link() {
    if ! resolve "$1"; then refuse "$1 cannot be resolved inside the target"; return 0; fi
    f=$RESOLVED
    b=$BK/files$1
    if [ "$4" = 1 ] && [ ! -e "$b" ] && [ ! -L "$b" ]; then
        if [ "$PASS" = apply ]; then say "$1 is already back"; fi
        return 0
    fi
    if [ -L "$f" ]; then
        read_link "$f"
        if [ "$LINK" != "$2" ]; then refuse "$1 now points elsewhere"; return 0; fi
    elif [ -e "$f" ]; then
        refuse "$1 is no longer the link the repair made"
        return 0
    elif [ "$4" != 1 ]; then
        if [ "$PASS" = apply ]; then say "$1 is already removed"; fi
        return 0
    fi
    if [ "$PASS" = check ]; then return 0; fi
    if [ "$DRY_RUN" = 1 ]; then say "would remove the link $1"; return 0; fi
    rm -f -- "$f"
    if [ "$4" = 1 ]; then mv -- "$b" "$f"; fi
    remove_parents "$f" "$3"
    say "removed the link $1"
}

chroot_note() {
    if [ "$PASS" != apply ]; then return 0; fi
    if [ "$2" = 1 ]; then say "note: the repair ran '$1' inside the target; the files it changed are put back"
    else say "note: the repair ran '$1' inside the target; undo.sh cannot undo that"
    fi
}

# restore_glob KEY DIR PATTERN: the files of DIR matching PATTERN as
# they were before a command ran inside the target: the copies made
# before it ran go back, the files it created are removed.
# (ls -ldn only reads the mode and owner of a name already in hand.)
# shellcheck disable=SC2012
restore_glob() {
    b=$BK/chroot/$1
    if [ ! -d "$b/before" ]; then refuse "the copies of $2/$3 made before the command ran are missing"; return 0; fi
    if ! resolve "$2/x"; then refuse "$2 cannot be resolved inside the target"; return 0; fi
    d=${RESOLVED%/x}
    if [ "$PASS" = check ]; then return 0; fi
    for f in "$b/created"/* "$b/created"/.[!.]*; do
        if [ ! -e "$f" ]; then continue; fi
        if [ "$DRY_RUN" = 1 ]; then say "would remove $2/${f##*/}"; continue; fi
        rm -f -- "$d/${f##*/}"
        say "removed $2/${f##*/} (the command made it)"
    done
    for f in "$b/before"/* "$b/before"/.[!.]*; do
        if [ ! -e "$f" ] && [ ! -L "$f" ]; then continue; fi
        t=$d/${f##*/}
        if [ -L "$f" ] && [ -L "$t" ]; then
            read_link "$f"; was=$LINK
            read_link "$t"
            if [ "$LINK" = "$was" ]; then continue; fi
        elif [ -f "$f" ] && [ -f "$t" ] && [ ! -L "$t" ] && [ "$(sha_file "$f")" = "$(sha_file "$t")" ] \
            && [ "$(ls -ldn -- "$f" | awk '{ print $1, $3, $4 }')" = "$(ls -ldn -- "$t" | awk '{ print $1, $3, $4 }')" ]; then
            continue
        fi
        if [ "$DRY_RUN" = 1 ]; then say "would restore $2/${f##*/}"; continue; fi
        rm -f -- "$t"
        cp -P -p -- "$f" "$t"
        say "restored $2/${f##*/}"
    done
}
