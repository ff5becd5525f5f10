#!/bin/sh
# Checks that Package.swift declares, for each Swift target, exactly the
# modules of this package (and of its package dependencies) that the
# target's sources import: no missing edge, no edge nothing uses.
#   scripts/check-imports.sh [PACKAGE_DIR]
# Prints one line per difference and exits 1 when there is any.
# System modules (Glibc, Foundation, Testing, Synchronization...) are not
# dependencies in Package.swift and are not checked.
set -eu
dir=${1:-$(dirname "$0")/..}
cd "$dir"

# "KIND NAME DEP DEP ..." for every .target, .executableTarget and
# .testTarget; products are named by their product name.
targets=$(awk '
    function flush() { if (name != "") print kind, name, deps; name = ""; deps = ""; kind = "" }
    /^[ \t]*\.(target|executableTarget|testTarget|systemLibrary)\(/ {
        flush(); kind = $0; sub(/^[ \t]*\./, "", kind); sub(/\(.*/, "", kind); want_name = 1; in_deps = 0; next
    }
    want_name && /name:[ \t]*"/ {
        s = $0; sub(/.*name:[ \t]*"/, "", s); sub(/".*/, "", s); name = s; want_name = 0
    }
    name != "" && /dependencies:[ \t]*\[/ { in_deps = 1 }
    in_deps {
        line = $0
        sub(/^.*dependencies:[ \t]*\[/, "", line)
        # .product(name: "P", package: "pkg"): the module is P.
        while (match(line, /\.product\([^)]*\)/)) {
            p = substr(line, RSTART, RLENGTH); sub(/^[^"]*"/, "", p); sub(/".*/, "", p)
            deps = deps " " p
            line = substr(line, 1, RSTART - 1) substr(line, RSTART + RLENGTH)
        }
        while (match(line, /"[^"]*"/)) {
            deps = deps " " substr(line, RSTART + 1, RLENGTH - 2)
            line = substr(line, RSTART + RLENGTH)
        }
        if ($0 ~ /\]/) in_deps = 0
    }
    END { flush() }
' Package.swift)

# Every module name Package.swift knows: targets and the products it uses.
known=$(printf '%s\n' "$targets" | awk '{ for (i = 2; i <= NF; i++) print $i }' | sort -u)

problems=$(printf '%s\n' "$targets" | while read -r kind name deps; do
    case $kind in systemLibrary) continue ;; esac
    case $kind in testTarget) src=Tests/$name ;; *) src=Sources/$name ;; esac
    [ -d "$src" ] || { echo "$name: no folder $src"; continue; }
    # C targets import nothing in Swift.
    find "$src" -name '*.swift' | grep -q . || continue
    imported=$(find "$src" -name '*.swift' -exec sed -n -E \
        's/^[[:space:]]*(@[A-Za-z_]+[[:space:]]+)*((public|package|internal|fileprivate|private)[[:space:]]+)?import[[:space:]]+((typealias|struct|class|enum|protocol|let|var|func)[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*).*/\6/p' {} + |
        sort -u | grep -x -F "$known" || true)
    declared=$(printf '%s\n' "$deps" | tr ' ' '\n' | grep . | sort -u || true)
    for m in $imported; do
        printf '%s\n' "$declared" | grep -qx -F "$m" || echo "$name imports $m but Package.swift does not declare it"
    done
    for m in $declared; do
        printf '%s\n' "$imported" | grep -qx -F "$m" || echo "$name declares $m but imports nothing from it"
    done
done)
[ -z "$problems" ] || { printf '%s\n' "$problems"; exit 1; }
