#!/usr/bin/env bash
# The test command (README, and .ci/run after its installs): fetches the
# oracle tools into .oracles/ (downloaded and unpacked, never installed),
# builds, and runs every test. Run it as root: the discovery and mount
# tests build disk images on loop devices; without root they skip with a
# reason, and with CI=true they fail instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ]; then
    missing=()
    while read -r pkg; do
        [ -n "$pkg" ] || continue
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
    done < .ci/packages
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "test.sh: installing ${missing[*]}" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
fi

bash scripts/fetch-oracles.sh
swift build --build-tests
swift test --skip-build
# Hostile roots through the built CLI, 10 s and 400 MiB each (issue 20).
bash scripts/adversarial.sh .build/debug/rescue-audit
# The peer suite's committed sample: upstream files in realistic roots must get
# the verdict the real tools gave them (issue 16; the full run is scripts/peer-suite.sh).
bash scripts/peer-suite.sh --replay
