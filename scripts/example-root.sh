#!/bin/sh
# Prints the path of a copy of a bundled example root (examples/<name>,
# default seed-000-001-broken-root) with the file modes and owners git cannot
# keep applied from examples/<name>.modes (lines `MODE /path` or
# `MODE UID:GID /path`, as the test scenarios' sidecars): sshd refuses a host
# key that others can read, and git checks every file out 0644. The copy is
# made afresh under .build/examples/; the checkout is never changed.
set -eu
cd "$(dirname "$0")/.."
name=${1:-seed-000-001-broken-root}
case $name in */* | .* | '') echo "example-root.sh: no example named '$name' under examples/" >&2; exit 64 ;; esac
src=examples/$name
[ -d "$src" ] || { echo "example-root.sh: no example named '$name' under examples/" >&2; exit 64; }
dst=.build/examples/$name
rm -rf "$dst"
mkdir -p .build/examples
cp -a "$src" "$dst"
if [ -f "$src.modes" ]; then
    while read -r mode a b; do
        [ -n "$mode" ] || continue
        if [ -n "${b:-}" ]; then path=$b; chown -h "$a" "$dst$path"; else path=$a; fi
        chmod "$mode" "$dst$path"
    done <"$src.modes"
fi
printf '%s\n' "$dst"
