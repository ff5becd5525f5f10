
# The audit was of / itself (inside a chroot of the target): ROOT=/ is the target.
if [ "$ROOT" = / ]; then ROOT=''; fi
