#!/usr/bin/env bash
# Fetches the real tools our parsers are checked against, as Debian packages,
# and unpacks them under .oracles/root/ without installing anything: nothing
# here runs maintainer scripts or touches the host's configuration.
# Idempotent: packages already downloaded are not fetched again.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
debs="$repo/.oracles/debs"
root="$repo/.oracles/root"
mkdir -p "$debs" "$root"

# ifupdown and iptables are required; the netplan packages are best effort (their names
# change between releases: libnetplan0 became libnetplan1). netplan's
# generate binary also needs libyaml and GLib at run time: a bare CI image
# may lack them, so they are unpacked too and the tests put
# .oracles/root/usr/lib/x86_64-linux-gnu on LD_LIBRARY_PATH. systemd-journal-remote
# (with libmicrohttpd) writes real journal files for the journal reader's
# tests (scripts/make-journal.sh); it needs the host's libsystemd-shared,
# which the systemd package (.ci/packages) brings, with journalctl, the
# reader's oracle.
# iptables-restore --test (iptables 1.8.9 and the libraries it loads) checks
# our reading of iptables-save files; the tests run it with LD_LIBRARY_PATH
# and XTABLES_LIBDIR pointing into .oracles/root, inside `unshare -n`.
# nft -c -f (nftables 1.0.6) checks our reading of nftables.conf the same way.
required=(ifupdown iptables libip4tc2 libip6tc2 libxtables12 libmnl0 libnetfilter-conntrack3 libnfnetlink0 libnftnl11
          nftables libnftables1 libjansson4 libgmp10 libedit2 libbsd0 libmd0 libtinfo6)
# openssh-server gives sshd 9.2p1, whose `sshd -t` checks our reading of
# sshd_config (Tests/RescueAuditTests/SshdOracleTests.swift); it runs with
# LD_LIBRARY_PATH into .oracles/root and the libraries listed after it, on
# fixture configurations only, in a private mount namespace.
# udev gives udevadm, whose `test-builtin net_id` names this machine's cards
# (it needs libsystemd-shared, unpacked beside it).
optional=(netplan.io libnetplan0 libnetplan1 libyaml-0-2 libglib2.0-0 libffi8 libpcre2-8-0 udev libsystemd-shared
          systemd-journal-remote libmicrohttpd12
          openssh-server openssh-client libwrap0 libcrypt1 libselinux1 libgssapi-krb5-2 libkrb5-3 libk5crypto3
          libkrb5support0 libcom-err2 libkeyutils1 libssl3 libaudit1 libcap-ng0 libpam0g zlib1g libsystemd0)

fetch() {
    local pkg="$1"
    if compgen -G "$debs/${pkg}_*.deb" >/dev/null; then
        return 0
    fi
    (cd "$debs" && apt-get download "$pkg")
}

for pkg in "${required[@]}"; do
    fetch "$pkg"
done
for pkg in "${optional[@]}"; do
    fetch "$pkg" 2>/dev/null || echo "fetch-oracles: $pkg not available, skipped" >&2
done

for deb in "$debs"/*.deb; do
    stamp="$root/.extracted-$(basename "$deb")"
    [[ -e "$stamp" ]] && continue
    dpkg-deb -x "$deb" "$root"
    touch "$stamp"
done

for candidate in "$root/usr/libexec/netplan/generate" "$root/usr/lib/netplan/generate"; do
    if [[ -x "$candidate" ]]; then
        echo "fetch-oracles: netplan generate at ${candidate#"$repo"/}"
        break
    fi
done

if [[ -x "$root/usr/sbin/xtables-legacy-multi" ]]; then
    echo "fetch-oracles: iptables-legacy-restore at .oracles/root/usr/sbin/xtables-legacy-multi"
else
    echo "fetch-oracles: xtables-legacy-multi was not found in the unpacked iptables package" >&2
    exit 1
fi

if [[ -x "$root/usr/sbin/nft" ]]; then
    echo "fetch-oracles: nft at .oracles/root/usr/sbin/nft"
else
    echo "fetch-oracles: nft was not found in the unpacked nftables package" >&2
    exit 1
fi

# Debian moved ifquery from /sbin to /usr/sbin with merged /usr; the tests
# look in both, this just says where it landed.
for candidate in "$root/sbin/ifquery" "$root/usr/sbin/ifquery"; do
    if [[ -x "$candidate" ]]; then
        echo "fetch-oracles: ifquery at ${candidate#"$repo"/}"
        exit 0
    fi
done
echo "fetch-oracles: ifquery was not found in the unpacked ifupdown package" >&2
exit 1
