if [ -L "$ROOT/etc" ] || [ ! -d "$ROOT/etc" ]; then
    die "$ROOT/etc is not a directory; ROOT must be the target's root filesystem"
fi
