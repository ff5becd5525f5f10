
# Messages go to the terminal with control characters removed (a
# hostile file name cannot drive the terminal), and to the log.
say() {
    printf '%s\n' "$*" | tr -d '\001-\010\013-\037\177'
    if [ -n "$BK" ] && [ -d "$BK" ] && [ "$DRY_RUN" != 1 ]; then
        printf '%s\n' "$*" >> "$BK/repair.log"
    fi
}
warn() { say "rescue-audit: $*" >&2; }
die() { warn "$*"; exit 1; }
refuse() { warn "refused: $*"; REFUSED=$((REFUSED + 1)); TODO=refuse; }

if command -v sha256sum >/dev/null 2>&1; then
    sha256() { sha256sum; }
elif command -v busybox >/dev/null 2>&1; then
    sha256() { busybox sha256sum; }
else
    printf '%s\n' 'rescue-audit: this script needs sha256sum (coreutils or busybox).' >&2
    exit 2
fi

# The SHA-256 of a file, read on stdin so its name is never parsed.
sha_file() {
    s=$(sha256 < "$1")
    printf '%s\n' "${s%% *}"
}

# What is at a host path: a SHA-256, absent, symlink or other.
state_of() {
    if [ -L "$1" ]; then echo symlink
    elif [ ! -e "$1" ]; then echo absent
    elif [ -f "$1" ]; then sha_file "$1"
    else echo other
    fi
}

# Sets LINK to a symlink's target, exactly (trailing newlines kept).
read_link() {
    LINK=$(readlink -- "$1" && printf x)
    LINK=${LINK%x}
    LINK=${LINK%?}
}

# Sets RESOLVED to where the target path $1 is under $ROOT. Directory
# symlinks are followed inside the root, as the target itself would see
# them (an absolute link starts again at $ROOT, .. stops at $ROOT), so
# no step ever writes outside the target. The last component is not
# followed. Returns 1 on a symlink loop.
resolve() {
    rest=${1#/}
    done_=''
    hops=0
    while :; do
        case $rest in
            */*) comp=${rest%%/*}; rest=${rest#*/} ;;
            *) break ;;
        esac
        case $comp in
            ''|.) continue ;;
            ..) done_=${done_%/*}; continue ;;
        esac
        if [ -L "$ROOT$done_/$comp" ]; then
            hops=$((hops + 1))
            if [ "$hops" -gt 40 ]; then return 1; fi
            read_link "$ROOT$done_/$comp"
            case $LINK in /*) done_='' ;; esac
            rest=${LINK#/}/$rest
        else
            done_=$done_/$comp
        fi
    done
    case $rest in ''|.|..) return 1 ;; esac
    RESOLVED=$ROOT$done_/$rest
}

# Removes up to $2 empty directories above the host path $1 (the ones a step created).
remove_parents() {
    d=${1%/*}
    k=$2
    while [ "$k" -gt 0 ]; do
        if ! rmdir -- "$d" 2>/dev/null; then
            say "  kept $d: it is not empty"
            return 0
        fi
        d=${d%/*}
        k=$((k - 1))
    done
}
