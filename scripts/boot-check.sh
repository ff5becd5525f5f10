#!/usr/bin/env bash
# Boots a real Debian 12 under qemu (software emulation) and breaks it in the
# ways our rules grade, to check each severity against what really happens:
# does SSH answer after boot or not?
#
#   scripts/boot-check.sh              build the image (cached) and run every variant
#   scripts/boot-check.sh VARIANT...   run some variants (names: see VARIANTS below)
#
# Not run in CI: each boot takes one to four minutes under TCG. Needs root
# (debootstrap, chroot, loop mounts) and qemu-system-x86_64 (installed from
# Debian if missing; it is for this script only). Serial logs go to
# .boot-check/ (gitignored); the results table to .boot-check/results.md,
# which docs/boot-checks.md quotes.
#
# The image: debootstrap bookworm minbase + linux-image-amd64, systemd-sysv,
# udev, ifupdown, isc-dhcp-client, openssh-server, iptables-persistent,
# configured as the Debian installer does for DHCP (allow-hotplug ens3,
# iface ens3 inet dhcp); qemu boots its kernel and initrd directly
# (-kernel/-initrd, no boot loader) with root=/dev/vda1. One diagnostic
# unit, boot-check-report.service, prints addresses, routes and failed units
# to the serial console 20 s after multi-user.target; it changes nothing.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib-debootstrap.sh
. "$REPO/scripts/lib-debootstrap.sh"

ROOT=$WORK/boot-debian12
IMAGES=$WORK/boot-images
LOGS=$REPO/.boot-check
PORT=${BOOT_CHECK_PORT:-10022}
WAIT=${BOOT_CHECK_WAIT:-240}   # seconds to wait for an SSH banner
FS_UUID=0b5e2c1d-7f3a-4e8b-9c6d-5a4b3c2d1e0f
PART_OFFSET=$((2048 * 512))
PACKAGES=ifupdown,isc-dhcp-client,iproute2,openssh-server,systemd-sysv,udev,kmod,netbase,dbus,procps,linux-image-amd64,initramfs-tools,iptables,iptables-persistent,e2fsprogs

VARIANTS=(baseline no-loopback networking-disabled networking-disabled-auto networking-online-only
          sendmail-hook sendmail-hook-auto pre-up-hook renamed-interface fstab-wrong-uuid fstab-wrong-uuid-nofail
          iptables-drop)

# What our rules say each variant does at boot (the prediction under test).
predict() {
    case $1 in
        baseline) echo "reachable (no finding)" ;;
        no-loopback) echo "reachable: loopback-not-configured is low under systemd" ;;
        networking-disabled) echo "critical: networking.service not enabled, so nothing raises the interfaces" ;;
        networking-disabled-auto) echo "critical: networking.service not enabled, so nothing raises the interfaces" ;;
        networking-online-only) echo "model: networking.service starts at boot through its network-online.target.wants link (no finding)" ;;
        sendmail-hook) echo "high: the hook fails, networking.service fails, the address stays up" ;;
        sendmail-hook-auto) echo "high: the hook fails, networking.service fails, the address stays up" ;;
        pre-up-hook) echo "a failing if-pre-up.d hook: ifupdown gives up before configuring the interface (critical?)" ;;
        renamed-interface) echo "critical: the config names eth0, the kernel names the NIC ens3" ;;
        fstab-wrong-uuid) echo "critical: an fstab device that never appears, without nofail: emergency mode" ;;
        fstab-wrong-uuid-nofail) echo "not critical: the same line with nofail is skipped after the timeout" ;;
        iptables-drop) echo "critical: INPUT policy DROP restored at boot with no accept for port 22" ;;
    esac
}

# ---------------------------------------------------------------- the image

build_root() {
    bootstrap "$ROOT" "$PACKAGES"
    local r=$ROOT
    echo boot-check >"$r/etc/hostname"
    printf '127.0.0.1\tlocalhost\n127.0.1.1\tboot-check\n' >"$r/etc/hosts"
    printf 'nameserver 10.0.2.3\n' >"$r/etc/resolv.conf"
    cat >"$r/etc/fstab" <<EOF
# /etc/fstab: static file system information.
# <file system> <mount point>   <type>  <options>       <dump>  <pass>
UUID=$FS_UUID /               ext4    errors=remount-ro 0       1
EOF
    # What the Debian installer writes for a DHCP interface (netcfg).
    cat >"$r/etc/network/interfaces" <<'EOF'
# This file describes the network interfaces available on your system
# and how to activate them. For more information, see interfaces(5).

source /etc/network/interfaces.d/*

# The loopback network interface
auto lo
iface lo inet loopback

# The primary network interface
allow-hotplug ens3
iface ens3 inet dhcp
EOF
    # iptables-persistent's postinst saved whatever the build host had; the
    # baseline accepts everything, as a fresh install does.
    mkdir -p "$r/etc/iptables"
    printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n' >"$r/etc/iptables/rules.v4"
    printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n' >"$r/etc/iptables/rules.v6"
    cat >"$r/etc/systemd/system/boot-check-report.service" <<'EOF'
[Unit]
Description=boot-check: report addresses, routes and failed units on the console
After=multi-user.target network-online.target ssh.service

[Service]
Type=oneshot
StandardOutput=journal+console
ExecStart=/bin/sh -c 'sleep 20; ip -br addr | sed "s/^/BOOTCHECK addr: /"; ip route | sed "s/^/BOOTCHECK route: /"; systemctl --failed --no-legend --plain | sed "s/^/BOOTCHECK failed: /"; for u in networking.service ifup@ens3.service ssh.service netfilter-persistent.service; do echo "BOOTCHECK unit: $u $(systemctl is-active $u)"; done; journalctl -b --no-pager -o cat -u networking.service -u ifup@ens3.service | grep -E "run-parts|sendmail|rror|ailed" | tail -n 6 | sed "s/^/BOOTCHECK journal: /"; iptables -S INPUT 2>/dev/null | sed "s/^/BOOTCHECK iptables: /"; echo BOOTCHECK done'

[Install]
WantedBy=multi-user.target
EOF
    systemctl --root="$r" enable networking.service ssh.service netfilter-persistent.service boot-check-report.service 2>/dev/null
    echo root:boot-check | in_root "$r" chpasswd
    # Host keys: openssh-server's postinst made them; make sure.
    ls "$r"/etc/ssh/ssh_host_*_key >/dev/null 2>&1 || in_root "$r" ssh-keygen -A
}

build_image() {
    local img=$IMAGES/base.img stamp=$IMAGES/base.stamp
    local want
    # Rebuilt when the package list or the way the image is made changes.
    want="$(cat "$ROOT/.rescue-audit-bootstrap" 2>/dev/null) $(declare -f build_root build_image | sha256sum | cut -c1-16)"
    if [ -f "$img" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
    build_root
    mkdir -p "$IMAGES"
    rm -f "$img" "$IMAGES/fs.img"
    truncate -s 3G "$img"
    printf 'label: dos\nstart=2048, type=83\n' | sfdisk -q "$img"
    local sectors
    sectors=$(sfdisk -l -o Sectors "$img" | tail -n 1 | tr -d ' ')
    mkfs.ext4 -q -F -U "$FS_UUID" -L root -d "$ROOT" "$IMAGES/fs.img" "$((sectors / 2))k"
    dd if="$IMAGES/fs.img" of="$img" bs=1M seek=1 conv=notrunc,sparse status=none
    rm -f "$IMAGES/fs.img"
    cp "$(printf "%s\n" "$ROOT"/boot/vmlinuz-* | sort -V | tail -n 1)" "$IMAGES/vmlinuz"
    cp "$(printf "%s\n" "$ROOT"/boot/initrd.img-* | sort -V | tail -n 1)" "$IMAGES/initrd.img"
    echo "$want" >"$stamp"
}

# --------------------------------------------------------------- variants

# with_image IMG FUNC: mounts the root filesystem of IMG, runs FUNC DIR, unmounts.
with_image() {
    local img=$1 fn=$2 mnt
    mnt=$(mktemp -d)
    mount -o loop,offset=$PART_OFFSET "$img" "$mnt"
    "$fn" "$mnt" || { umount "$mnt"; rmdir "$mnt"; return 1; }
    umount "$mnt"; rmdir "$mnt"
}

break_no-loopback() {
    sed -i '/^# The loopback network interface$/d; /^auto lo$/d; /^iface lo inet loopback$/d' "$1/etc/network/interfaces"
}
break_networking-disabled() {
    rm -f "$1/etc/systemd/system/multi-user.target.wants/networking.service" \
          "$1/etc/systemd/system/network-online.target.wants/networking.service"
}
# Only the network-online.target.wants link left: does anything pull that target in?
break_networking-online-only() {
    rm -f "$1/etc/systemd/system/multi-user.target.wants/networking.service"
    sed -i 's/^allow-hotplug ens3$/auto ens3/' "$1/etc/network/interfaces"
}
break_networking-disabled-auto() {
    break_networking-disabled "$1"
    sed -i 's/^allow-hotplug ens3$/auto ens3/' "$1/etc/network/interfaces"
}
# The sendmail hook of Debian bug #873978: bookworm's sendmail-base script
# without the `test -r ... || exit 0` guard added by the fix, on a system
# where /usr/share/sendmail/dynamic is gone (sendmail removed, not purged).
break_sendmail-hook() {
    local deb=$WORK/sendmail-base-deb
    if [ ! -d "$deb/x" ]; then
        mkdir -p "$deb"; (cd "$deb" && apt-get download sendmail-base >/dev/null 2>&1 && dpkg-deb -x sendmail-base_*.deb x)
    fi
    sed '/^test -r \/usr\/share\/sendmail\/dynamic || exit 0$/d' "$deb/x/etc/network/if-up.d/sendmail" \
        >"$1/etc/network/if-up.d/sendmail"
    chmod 755 "$1/etc/network/if-up.d/sendmail"
    [ ! -e "$1/usr/share/sendmail/dynamic" ]
}
# The same with `auto ens3`, so `ifup -a` in networking.service raises ens3 and runs the hook.
break_sendmail-hook-auto() {
    break_sendmail-hook "$1"
    sed -i 's/^allow-hotplug ens3$/auto ens3/' "$1/etc/network/interfaces"
}
# The classic iptables hook of Debian's wiki, its rules file gone: it fails
# before the interface is configured, not after.
break_pre-up-hook() {
    printf '#!/bin/sh\n/sbin/iptables-restore < /etc/iptables.up.rules\n' >"$1/etc/network/if-pre-up.d/iptables"
    chmod 755 "$1/etc/network/if-pre-up.d/iptables"
    [ ! -e "$1/etc/iptables.up.rules" ]
}
break_renamed-interface() {
    sed -i 's/ens3/eth0/g' "$1/etc/network/interfaces"
}
break_fstab-wrong-uuid() {
    mkdir -p "$1/srv/data"
    echo "UUID=6f0e5d4c-3b2a-4190-8f7e-6d5c4b3a2f10 /srv/data ext4 defaults 0 2" >>"$1/etc/fstab"
}
break_fstab-wrong-uuid-nofail() {
    mkdir -p "$1/srv/data"
    echo "UUID=6f0e5d4c-3b2a-4190-8f7e-6d5c4b3a2f10 /srv/data ext4 defaults,nofail 0 2" >>"$1/etc/fstab"
}
break_iptables-drop() {
    cat >"$1/etc/iptables/rules.v4" <<'EOF'
# Generated by iptables-save v1.8.9 (nf_tables)
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 443 -j ACCEPT
COMMIT
EOF
}

# ------------------------------------------------------------------ booting

# The first bytes the guest's sshd sends through qemu's port forward. slirp
# accepts the TCP connection itself, so only a banner proves sshd answered.
banner() {
    timeout 8 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT && head -c 8 <&3" 2>/dev/null || true
}

# boot NAME IMG: one boot; prints "reachable SECONDS" or "unreachable".
boot() {
    local name=$1 img=$2 log=$LOGS/$1.serial.log
    : >"$log"
    nice -n 5 qemu-system-x86_64 -machine pc,accel=tcg -m 1024 -smp 1 \
        -kernel "$IMAGES/vmlinuz" -initrd "$IMAGES/initrd.img" \
        -append "root=/dev/vda1 ro console=ttyS0 systemd.show_status=1" \
        -drive "file=$img,format=raw,if=virtio" \
        -nic "user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:$PORT-:22" \
        -display none -monitor none -serial "file:$log" >"$LOGS/$name.qemu.log" 2>&1 &
    local qemu=$! start=$SECONDS result=unreachable
    while [ $((SECONDS - start)) -lt "$WAIT" ] && kill -0 "$qemu" 2>/dev/null; do
        if [ "$(banner | head -c 4)" = "SSH-" ]; then
            result="reachable $((SECONDS - start))"
            break
        fi
        if grep -q "You are in emergency mode" "$log"; then sleep 5; result="unreachable (emergency mode)"; break; fi
        sleep 5
    done
    # Let the diagnostic unit finish its report (it runs 20 s after multi-user).
    local grace=$((SECONDS + 60))
    while [ $SECONDS -lt $grace ] && ! grep -q "BOOTCHECK done" "$log" && ! grep -q "emergency mode" "$log"; do sleep 3; done
    kill "$qemu" 2>/dev/null || true
    wait "$qemu" 2>/dev/null || true
    echo "$result"
}

# The console lines that decide a variant.
decisive() {
    tr -d '\r' <"$1" | sed 's/\x1b\[[0-9;]*m//g' | grep -E \
        'BOOTCHECK|FAILED|Failed to start|emergency mode|Timed out|Dependency failed|run-parts|sendmail|renamed from|ifup|DHCPACK|No DHCPOFFERS|Cannot find device|Reached target.*(Multi-User|Network)' \
        | grep -v 'BOOTCHECK done' | head -n 30 || true
}

run_variant() {
    local name=$1 img=$IMAGES/$1.img
    cp --sparse=always "$IMAGES/base.img" "$img"
    if [ "$name" != baseline ]; then with_image "$img" "break_$name"; fi
    echo "== $name: booting (prediction: $(predict "$name"))" >&2
    local result
    result=$(boot "$name" "$img")
    rm -f "$img"
    echo "== $name: $result" >&2
    {
        echo "### $name"
        echo
        echo "- predicted: $(predict "$name")"
        echo "- observed: $result"
        echo
        echo '```'
        decisive "$LOGS/$name.serial.log"
        echo '```'
        echo
    } >"$LOGS/$name.result.md"
    printf '| %s | %s | %s |\n' "$name" "$(predict "$name")" "$result" >"$LOGS/$name.summary"
}

# results.md and summary.md from every variant run so far, in VARIANTS order.
assemble() {
    : >"$LOGS/results.md"
    printf '| variant | predicted | observed |\n|---|---|---|\n' >"$LOGS/summary.md"
    for n in "${VARIANTS[@]}"; do
        [ -f "$LOGS/$n.result.md" ] && cat "$LOGS/$n.result.md" >>"$LOGS/results.md"
        [ -f "$LOGS/$n.summary" ] && cat "$LOGS/$n.summary" >>"$LOGS/summary.md"
    done
    return 0
}

main() {
    need_root
    need_tool debootstrap debootstrap
    need_tool qemu-system-x86_64 qemu-system-x86
    need_tool sfdisk fdisk
    mkdir -p "$WORK" "$LOGS"
    if timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null; then
        echo "$0: port $PORT is in use; set BOOT_CHECK_PORT" >&2; exit 2
    fi
    build_image
    local names=("$@")
    [ ${#names[@]} -gt 0 ] || names=("${VARIANTS[@]}")
    for n in "${names[@]}"; do
        case " ${VARIANTS[*]} " in *" $n "*) ;; *) echo "$0: unknown variant $n" >&2; exit 64 ;; esac
        run_variant "$n"
    done
    assemble
    cat "$LOGS/summary.md"
}

main "$@"
