#!/usr/bin/env bash
# Fuzzes one parser with libFuzzer:  scripts/fuzz.sh TARGET [libFuzzer flags...]
#   scripts/fuzz.sh list              the targets (Tests/RescueAuditTests/FuzzTargets.swift)
#   scripts/fuzz.sh netplan -runs=10000000
#   scripts/fuzz.sh all -max_total_time=60   each target in turn
# Builds .build/fuzz/parsers-fuzz once (Sources/Parsers and the targets file
# compiled as one module with -sanitize=fuzzer,address), then runs it on a
# scratch corpus seeded from fuzz/corpus/TARGET (the committed, minimised
# corpus that FuzzCorpusReplayTests replays in CI). New inputs stay in
# .build/fuzz/work/TARGET; crashes land in .build/fuzz/crashes/TARGET.
# `scripts/fuzz.sh seed` fills fuzz/corpus/ from the fixtures (done once).
# After a run: `scripts/fuzz.sh minimise TARGET` merges the work corpus into
# fuzz/corpus/TARGET (libFuzzer -merge=1: only inputs that add coverage).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
out=.build/fuzz
bin=$out/parsers-fuzz
mkdir -p "$out"

build() {
    local sources=(Sources/Parsers/*.swift Tests/RescueAuditTests/FuzzTargets.swift fuzz/entry.swift)
    if [[ -x $bin ]] && [[ -z "$(find "${sources[@]}" -newer "$bin" 2>/dev/null)" ]]; then return 0; fi
    echo "fuzz.sh: building $bin" >&2
    swiftc -swift-version 6 -parse-as-library -module-name ParsersFuzz -O \
        -sanitize=fuzzer,address \
        -I CYAML -I CCompress -I CSQLite $(pkg-config --cflags-only-I yaml-0.1 2>/dev/null | sed 's/-I/-Xcc -I/g') \
        "${sources[@]}" -o "$bin" 2> >(grep -v 'Cannot export local symbol' >&2)
}

targets() { sed -n 's/^        ("\([a-z0-9-]*\)", {.*/\1/p' Tests/RescueAuditTests/FuzzTargets.swift; }

# Seeds fuzz/corpus/TARGET from the repository's own fixtures (and small
# generated images for the binary formats), by file name; `minimise` then
# keeps only what adds coverage.
seed() {
    local t="$1" dir="fuzz/corpus/$1" pats=()
    mkdir -p "$dir"
    case $t in
        netplan) pats=('*/netplan/*.yaml') ;;
        ifupdown) pats=('*/network/interfaces' '*/network/interfaces.d/*') ;;
        systemd-unit) pats=('*.network' '*.netdev' '*.link' '*/system/ssh*.service' '*/system/networking.service') ;;
        nm-keyfile) pats=('*.nmconnection' '*/system-connections/*') ;;
        ifcfg) pats=('*/ifcfg-*' '*/route-*' '*/route6-*') ;;
        iptables-save) pats=('*/iptables/rules.v*' '*iptables*.rules' '*/sysconfig/iptables' '*/sysconfig/ip6tables' '*/ufw/*.rules') ;;
        nft) pats=('*nftables.conf' '*.nft') ;;
        sshd-config) pats=('*sshd_config' '*sshd_config.d/*.conf') ;;
        fstab) pats=('*/etc/fstab') ;;
        grub) pats=('*grub.cfg' '*/loader/entries/*.conf' '*grubenv') ;;
        udev-rules) pats=('*/rules.d/*.rules') ;;
        dpkg-status) pats=('*/dpkg/status') ;;
        accounts) pats=('*/etc/passwd' '*/etc/group' '*/etc/shadow' '*/etc/shells' '*/etc/hosts' '*hosts.allow' '*hosts.deny') ;;
        listen-configs) pats=('*/postfix/main.cf' '*/postfix/master.cf' '*nginx*.conf' '*/sites-enabled/*' '*/apache2/*.conf' '*/amavis/conf.d/*') ;;
        firewalld) pats=('*firewalld*.xml') ;;
        shell-configs) pats=('*/default/grub' '*/if-up.d/*' '*/if-pre-up.d/*' '*/etc/inittab' '*/etc/resolv.conf' '*/sysconfig/network') ;;
        syslog-tail) pats=('*/log/syslog' '*/log/messages' '*/log/boot.log') ;;
        fail2ban-db) pats=('*fail2ban*.sqlite3') ;;
    esac
    local p f out=.build/fuzz
    for p in "${pats[@]}"; do
        while IFS= read -r -d '' f; do
            [[ $(stat -c %s "$f") -le 65536 ]] || continue
            cp "$f" "$dir/$(sha1sum < "$f" | cut -c1-40)"
        done < <(find Tests examples rules -path "$p" -type f -print0 2>/dev/null)
    done
    local tmp; tmp=$(mktemp -d); trap 'rm -rf "$tmp"' RETURN
    case $t in
        initramfs)  # newc archives as dracut and initramfs-tools write them: plain, then compressed, then early+main
            mkdir -p "$tmp/r/etc/ssh" "$tmp/r/usr/lib" && echo 'Port 22' > "$tmp/r/etc/ssh/sshd_config" && echo x > "$tmp/r/usr/lib/a"
            (cd "$tmp/r" && find . | cpio -o -H newc --quiet) > "$tmp/main.cpio"
            cp "$tmp/main.cpio" "$dir/newc"
            gzip -9c "$tmp/main.cpio" > "$dir/newc.gz"; zstd -qc "$tmp/main.cpio" > "$dir/newc.zst"
            xz -c --check=crc32 "$tmp/main.cpio" > "$dir/newc.xz"; lz4 -lqc "$tmp/main.cpio" > "$dir/newc.lz4" 2>/dev/null || true
            cat "$tmp/main.cpio" "$dir/newc.zst" > "$dir/early-then-zstd" ;;
        journal)  # real journals are MiBs of hash table: seeds stay out of git, in .build/fuzz/seeds
            local big="$out/seeds/journal"; mkdir -p "$big"
            for f in Tests/RescueAuditTests/Fixtures/journal/*.export; do
                bash scripts/make-journal.sh "$big/$(basename "$f" .export).journal" < "$f"
                SYSTEMD_JOURNAL_COMPACT=0 SYSTEMD_JOURNAL_KEYED_HASH=0 bash scripts/make-journal.sh "$big/$(basename "$f" .export)-regular.journal" < "$f"
            done
            head -c 4096 "$big/$(ls "$big" | head -1)" > "$dir/journal-header" ;;
        superblocks)
            truncate -s 4M "$tmp/ext" && mkfs.ext4 -q -F "$tmp/ext" && dd if="$tmp/ext" of="$dir/ext4" bs=1024 skip=1 count=1 status=none
            truncate -s 320M "$tmp/xfs" && mkfs.xfs -q -f "$tmp/xfs" && dd if="$tmp/xfs" of="$dir/xfs" bs=512 count=1 status=none ;;
        elf) cp /bin/true "$dir/true" 2>/dev/null || true ;;
    esac
    echo "fuzz.sh: $t: $(ls "$dir" | wc -l) seeds" >&2
}

case "${1:-}" in
    ""|-h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    list) targets; exit 0 ;;
    seed) for t in $(targets); do seed "$t"; done; exit 0 ;;
    minimise)
        build
        t="$2"; mkdir -p "fuzz/corpus/$t" "$out/work/$t"
        # A fresh directory gets the inputs of the committed corpus and the
        # work corpus that together give all the coverage; regression inputs
        # (regress-*, the crash reproducers) are always kept. Only inputs up
        # to 64 KiB are committed (the journal's real-file seeds stay in .build).
        rm -rf "$out/min/$t"; mkdir -p "$out/min/$t"
        RESCUE_FUZZ_TARGET="$t" ASAN_OPTIONS=detect_leaks=0 "$bin" -merge=1 -max_len=65536 "$out/min/$t" "fuzz/corpus/$t" "$out/work/$t"
        cp fuzz/corpus/$t/regress-* "$out/min/$t/" 2>/dev/null || true
        rm -rf "fuzz/corpus/$t" && mv "$out/min/$t" "fuzz/corpus/$t"
        echo "fuzz.sh: fuzz/corpus/$t: $(ls "fuzz/corpus/$t" | wc -l) inputs, $(du -sh "fuzz/corpus/$t" | cut -f1)" >&2
        exit 0 ;;
esac

build
run_one() {
    local t="$1"; shift
    mkdir -p "$out/work/$t" "$out/crashes/$t" "fuzz/corpus/$t"
    echo "fuzz.sh: $t $*" >&2
    local len=65536
    case $t in journal) len=4194304 ;; initramfs|superblocks|fail2ban-db) len=1048576 ;; esac
    local extra=(); [[ -d $out/seeds/$t ]] && extra=("$out/seeds/$t")
    RESCUE_FUZZ_TARGET="$t" ASAN_OPTIONS=detect_leaks=0 "$bin" -timeout=1 -rss_limit_mb=2048 -max_len=$len \
        -artifact_prefix="$out/crashes/$t/" -print_final_stats=1 "$@" "$out/work/$t" "fuzz/corpus/$t" "${extra[@]}"
}
if [[ $1 == all ]]; then
    shift
    for t in $(targets); do run_one "$t" "$@"; done
else
    run_one "$@"
fi
