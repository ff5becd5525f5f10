#!/usr/bin/env bash
# The verdict against every boot-check row, without booting: each variant's
# broken image is built the way scripts/boot-check.sh builds it (same base
# image, same break function), audited with the current rescue-audit, and
# its verdict compared with what the boot showed.
#
#   scripts/verdict-check.sh              every variant
#   scripts/verdict-check.sh VARIANT...   some of them
#
# What the boot showed: the last boot of this machine's boot-check run when
# it was made on the same image (.boot-check/VARIANT.observed), else the
# outcome recorded in docs/boot-checks.md (observed_in_docs below). Needs
# root (loop mounts) and a built binary ($RESCUE_AUDIT, else .build/debug).
# Table: .boot-check/verdict-check.md. Exit status 1 when a row disagrees.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BOOT_CHECK_LIB=1
NO_BOOT=1
# shellcheck source=scripts/boot-check.sh
. "$REPO/scripts/boot-check.sh"

# The outcomes of docs/boot-checks.md (2026-11-21 and 2026-12-02 runs, and
# the rows added since): reachable, unreachable or no-login.
observed_in_docs() {
    case $1 in
        baseline|no-loopback|networking-disabled|sendmail-hook|sendmail-hook-auto|fstab-wrong-uuid-nofail) echo reachable ;;
        netplan-networkd-stale-interfaces|strictmodes-group-writable|nologin-file) echo reachable ;;
        networking-disabled-auto|networking-online-only|pre-up-hook|renamed-interface|fstab-wrong-uuid|iptables-drop) echo unreachable ;;
        firewall-lockout-crlf-hook|netplan-removed|ssh-disabled|sshd-bad-keyword|sshd-no-host-keys|sshd-port-2222-firewall-22) echo unreachable ;;
        root-login-no-root-only) echo no-login ;;
        ssh-masked|sshd-bad-value|sshd-no-privsep-user|sshd-listen-absent-address|hosts-deny-sshd) echo unreachable ;;
        password-auth-no-keys|allowusers-nobody|strictmodes-group-shared) echo no-login ;;
        *) echo "" ;;
    esac
}

observed() {
    local obs=$LOGS/$1.observed
    if [ -f "$obs" ] && [ "$(head -n 1 "$obs")" = "$(variant_stamp "$1")" ]; then
        sed -n 2p "$obs" | cut -d' ' -f1; return 0
    fi
    observed_in_docs "$1"
}

check_main() {
    trap bc_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    rescue_audit_bin >/dev/null || { echo "$0: no rescue-audit binary: swift build, or set RESCUE_AUDIT" >&2; exit 2; }
    prepare
    pin_binary
    local names=("$@") bad=0 dir=$WORK/verdict-check
    [ ${#names[@]} -gt 0 ] || names=("${VARIANTS[@]}")
    mkdir -p "$dir"
    {
        echo "Verdict of $("$(rescue_audit_bin)" --version 2>/dev/null) (commit $RESCUE_AUDIT_COMMIT) on each variant's image, $(date -u +%Y-%m-%dT%H:%MZ)."
        echo
        echo '| variant | observed at boot | the verdict | agrees |'
        echo '|---|---|---|---|'
    } >"$LOGS/verdict-check.md"
    for n in "${names[@]}"; do
        case " ${VARIANTS[*]} " in *" $n "*) ;; *) echo "$0: unknown variant $n" >&2; exit 64 ;; esac
        local img=$dir/$n.img says seen agrees
        build_variant "$n" "$img"
        says=$(tool_says "$img")
        rm -f "$img"
        seen=$(observed "$n")
        case $seen:$says in
            :*) agrees="not booted yet" ;;
            reachable:"verdict: SSH after the next boot: reachable"*) agrees=yes ;;
            unreachable:"verdict: SSH after the next boot: NOT reachable"*|no-login:"verdict: SSH after the next boot: NOT reachable"*) agrees=yes ;;
            # A link that depends on what only the boot's network decides (a
            # DHCP lease) is said as such: no disagreement, but not agreement.
            *:"verdict: SSH after the next boot: cannot tell"*) agrees="cannot tell offline (the verdict names what decides it)" ;;
            *) agrees=NO; bad=1 ;;
        esac
        printf '| %s | %s | %s | %s |\n' "$n" "${seen:-?}" "$says" "$agrees" | tee -a "$LOGS/verdict-check.md"
    done
    fill_doc verdict-check-table "$LOGS/verdict-check.md"
    return $bad
}

check_main "$@"
