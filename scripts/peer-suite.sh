#!/usr/bin/env bash
# The peer suite (issue 16): the upstream projects' own test and example
# configuration files, each placed into a realistic root (a rule scenario or
# healthy root where that stack is installed and enabled), audited by
# rescue-audit, and compared with the real tool on the same input:
# netplan.io 0.106's `generate`, `iptables-restore --test` (1.8.9, legacy,
# in `unshare -n`), `nft -c` (1.0.6, in `unshare -n`), ifupdown 0.8.41's
# `ifquery` — all unpacked into .oracles/ by scripts/fetch-oracles.sh — or,
# without a runnable oracle, the upstream suite's own expectation (an
# example or test input is valid; an iptables .t line says OK or FAIL).
#
#   scripts/peer-suite.sh [--only CORPUS]... [--limit N] [--details FILE] [--sample DIR]
#       full run: fetches Debian 12's source packages (apt-get source
#       --download-only, a private sources list under .build/peer/apt) and
#       reads the rest from bare git mirrors under $PEER_MIRROR (default
#       /work/.mirror; see GIT in scripts/peer-suite.py); prints a table per
#       corpus: files, judged by an oracle, agreements, false positives
#       (we say syntax error or unparseable, the real tool accepts), false
#       negatives, crashes. --details writes every disagreement.
#   scripts/peer-suite.sh --replay [DIR]
#       CI: replays the committed sample (default
#       Tests/RescueAuditTests/Fixtures/peer-sample) with no download; fails
#       on any disagreement with the verdicts recorded from the real tools.
# Needs root for `unshare -n` (the oracles) and a built .build/debug/rescue-audit.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ ${1:-} == --replay ]]; then
    exec python3 "$repo/scripts/peer-suite.py" --replay "${2:-$repo/Tests/RescueAuditTests/Fixtures/peer-sample}"
fi
exec python3 "$repo/scripts/peer-suite.py" "$@"
