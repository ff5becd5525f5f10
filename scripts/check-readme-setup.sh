#!/usr/bin/env bash
# CI: runs the README's first command (set-up on a fresh Debian 12 machine:
# install what the build needs, build, run the bundled example) exactly as the
# README writes it, so the two cannot drift. The command is the first line of
# the first code block under "## Set-up". The example root has findings, so
# the audit exits 1; the check is that it printed its report.
set -euo pipefail
cd "$(dirname "$0")/.."
cmd=$(awk '/^## Set-up/ { s = 1; next } s && /^```/ { if (inblock) exit; inblock = 1; next } inblock { print; exit }' README.md)
[ -n "$cmd" ] || { echo "check-readme-setup: no command found under '## Set-up' in README.md" >&2; exit 1; }
echo "check-readme-setup: running the README's first command: $cmd" >&2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
sh -c "$cmd" >"$out" 2>&1 || status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 1 ]; then
    tail -n 40 "$out" >&2
    echo "check-readme-setup: the README's first command failed (exit $status)" >&2
    exit 1
fi
grep -q "^rescue-audit .* \.build/examples/seed-000-001-broken-root " "$out" && grep -q "problems found" "$out" || {
    tail -n 40 "$out" >&2
    echo "check-readme-setup: the example audit did not print its report" >&2
    exit 1
}
# The verdict line the README shows under "What it prints" is the one printed.
shown=$(awk '/^\$ rescue-audit / { getline; print; exit }' README.md)
printed=$(grep -m1 '^SSH after the next boot: ' "$out" || true)
[ -n "$shown" ] && [ "$shown" = "$printed" ] || {
    printf 'README shows:  %s\nthe tool says: %s\n' "$shown" "$printed" >&2
    echo "check-readme-setup: the verdict line in README.md's 'What it prints' is not what the example audit prints" >&2
    exit 1
}
echo "check-readme-setup: ok (the example audit printed its report and the README's verdict line, exit $status)" >&2
