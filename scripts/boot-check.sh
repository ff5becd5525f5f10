#!/usr/bin/env bash
# Boots a real Debian 12 under qemu (software emulation) and breaks it in the
# ways our rules grade, to check each severity against what really happens:
# does SSH answer after boot or not?
#
#   scripts/boot-check.sh              build the image (cached) and run every variant
#   scripts/boot-check.sh VARIANT...   run some variants (names: see VARIANTS below)
#   scripts/boot-check.sh --docs       only refill the tables of docs/boot-checks.md
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
# The image has a test key (kept in $WORK/boot-key, made on the first run)
# in root's and in the user admin's authorized_keys, so a variant is
# "reachable" only when the banner comes AND a key login works.
#
# A second image, base-netplan, is the same root with netplan.io installed
# (for the netplan variants). Variants whose name is in NETPLAN_VARIANTS are
# built from it.
#
# scripts/repair-proof.sh sources this file (BOOT_CHECK_LIB=1) for the
# images, the variants and the boot.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib-debootstrap.sh
. "$REPO/scripts/lib-debootstrap.sh"

ROOT=$WORK/boot-debian12
IMAGES=$WORK/boot-images
LOGS=$REPO/.boot-check
PORT=${BOOT_CHECK_PORT:-10022}      # host port forwarded to the guest's 22
PORT2=$((PORT + 1))                 # ... and to the guest's 2222
WAIT=${BOOT_CHECK_WAIT:-600}   # seconds to wait for an SSH banner (or the diagnostic report)
KEY=$WORK/boot-key/id_ed25519
FS_UUID=0b5e2c1d-7f3a-4e8b-9c6d-5a4b3c2d1e0f
PART_OFFSET=$((2048 * 512))
PACKAGES=ifupdown,isc-dhcp-client,iproute2,openssh-server,systemd-sysv,udev,kmod,netbase,dbus,procps,linux-image-amd64,initramfs-tools,iptables,iptables-persistent,e2fsprogs

VARIANTS=(baseline no-loopback networking-disabled networking-disabled-auto networking-online-only
          sendmail-hook sendmail-hook-auto pre-up-hook renamed-interface fstab-wrong-uuid fstab-wrong-uuid-nofail
          iptables-drop
          firewall-lockout-crlf-hook netplan-networkd-stale-interfaces netplan-removed
          ssh-disabled ssh-masked sshd-bad-keyword sshd-bad-value sshd-no-host-keys sshd-no-privsep-user
          sshd-listen-absent-address sshd-port-2222-firewall-22 root-login-no-root-only password-auth-no-keys
          allowusers-nobody strictmodes-group-writable strictmodes-group-shared nologin-file
          hosts-deny-sshd)
# Built from base-netplan.img (netplan.io installed) instead of base.img.
NETPLAN_VARIANTS=" netplan-networkd-stale-interfaces netplan-removed "
# Variants whose boot also tries a password login (admin, password boot-check):
# the result gains password=USERS|none.
PASSWORD_VARIANTS=" password-auth-no-keys "

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
        firewall-lockout-crlf-hook) echo "NOT reachable: the CRLF if-up.d hook cannot run, so netfilter-persistent's INPUT DROP without tcp/22 is the final table" ;;
        netplan-networkd-stale-interfaces) echo "reachable: netplan (networkd) raises ens3; the interfaces file of the removed ifupdown is dead weight" ;;
        netplan-removed) echo "NOT reachable: netplan.io removed, nothing reads /etc/netplan, nothing else configures ens3" ;;
        ssh-disabled) echo "NOT reachable: ssh.service not enabled (no ssh.socket)" ;;
        ssh-masked) echo "NOT reachable: ssh.service masked" ;;
        sshd-bad-keyword) echo "NOT reachable: sshd -t refuses an unknown keyword, ssh.service fails" ;;
        sshd-bad-value) echo "NOT reachable: sshd -t refuses a bad value, ssh.service fails" ;;
        sshd-no-host-keys) echo "NOT reachable: no host keys and nothing in Debian 12's ssh.service makes them" ;;
        sshd-no-privsep-user) echo "NOT reachable: privilege separation user sshd missing, sshd -t refuses" ;;
        sshd-listen-absent-address) echo "NOT reachable: ListenAddress 192.0.2.10 does not exist at boot, sshd cannot bind" ;;
        sshd-port-2222-firewall-22) echo "NOT reachable: sshd listens on 2222, the firewall accepts only 22" ;;
        root-login-no-root-only) echo "NOT reachable (login): PermitRootLogin no and root is the only account" ;;
        password-auth-no-keys) echo "NOT reachable (login): PasswordAuthentication no and no authorized_keys anywhere" ;;
        allowusers-nobody) echo "NOT reachable (login): AllowUsers names no existing account" ;;
        strictmodes-group-writable) echo "reachable: Debian's OpenSSH accepts a ~/.ssh writable by the user's own private group (observed 2026-12-02)" ;;
        strictmodes-group-shared) echo "NOT reachable (login): every ~/.ssh is group-writable by a group with other members (Debian's user-group-modes patch refuses that)" ;;
        nologin-file) echo "reachable: /etc/nologin did not survive the reboot (observed 2026-12-02; systemd-user-sessions removes it)" ;;
        hosts-deny-sshd) echo "NOT reachable: /etc/hosts.deny refuses sshd for every client (Debian's sshd links libwrap), no banner" ;;
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
ExecStart=/bin/sh -c 'sleep 20; ip -br addr | sed "s/^/BOOTCHECK addr: /"; ip route | sed "s/^/BOOTCHECK route: /"; systemctl --failed --no-legend --plain | sed "s/^/BOOTCHECK failed: /"; for u in networking.service ifup@ens3.service systemd-networkd.service ssh.service netfilter-persistent.service; do echo "BOOTCHECK unit: $u $(systemctl is-active $u)"; done; journalctl -b --no-pager -o cat -u networking.service -u ifup@ens3.service | grep -E "run-parts|sendmail|rror|ailed" | tail -n 6 | sed "s/^/BOOTCHECK journal: /"; journalctl -b --no-pager -o cat -u ssh.service | grep -vE "^(Starting|Started|Stopped|Stopping)|Consumed|pam_env|session (opened|closed)|Received disconnect|Disconnected from" | head -n 8 | sed "s/^/BOOTCHECK sshd: /"; ss -Hltn 2>/dev/null | sed "s/^/BOOTCHECK listen: /"; iptables -S INPUT 2>/dev/null | sed "s/^/BOOTCHECK iptables: /"; echo BOOTCHECK done'

[Install]
WantedBy=multi-user.target
EOF
    systemctl --root="$r" enable networking.service ssh.service netfilter-persistent.service boot-check-report.service 2>/dev/null
    echo root:boot-check | in_root "$r" chpasswd
    # The test key, for root and for one ordinary account.
    grep -q '^admin:' "$r/etc/passwd" || in_root "$r" useradd -m -s /bin/bash admin
    local home
    for home in /root /home/admin; do
        install -d -m 700 "$r$home/.ssh"
        install -m 600 "$KEY.pub" "$r$home/.ssh/authorized_keys"
    done
    in_root "$r" chown -R admin:admin /home/admin/.ssh
    # Host keys: openssh-server's postinst made them; make sure.
    ls "$r"/etc/ssh/ssh_host_*_key >/dev/null 2>&1 || in_root "$r" ssh-keygen -A
}

build_image() {
    local img=$IMAGES/base.img stamp=$IMAGES/base.stamp
    local want
    # Rebuilt when the package list or the way the image is made changes.
    want="$(cat "$ROOT/.rescue-audit-bootstrap" 2>/dev/null) $(declare -f build_root build_image | sha256sum | cut -c1-16) $(cut -d' ' -f2 "$KEY.pub")"
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

# The test key pair, made once and kept beside the roots.
make_key() {
    [ -f "$KEY" ] && return 0
    mkdir -p "${KEY%/*}"
    ssh-keygen -q -t ed25519 -N '' -C boot-check -f "$KEY"
}

# base-netplan.img: the base root with netplan.io installed (apt in a chroot,
# /proc /sys /dev bound only for the install, no daemon started).
build_netplan_image() {
    local img=$IMAGES/base-netplan.img stamp=$IMAGES/base-netplan.stamp want r=$WORK/boot-debian12-netplan
    want="$(cat "$IMAGES/base.stamp") $(declare -f build_netplan_image | sha256sum | cut -c1-16)"
    if [ -f "$img" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
    rm -rf "$r"
    cp -a "$ROOT" "$r"
    cp /etc/resolv.conf "$r/etc/resolv.conf"
    printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"; chmod 755 "$r/usr/sbin/policy-rc.d"
    local d ok=1
    for d in proc sys dev; do mount --bind "/$d" "$r/$d"; BOUND_ACTIVE="$r/$d $BOUND_ACTIVE"; done
    in_root "$r" apt-get update -qq >&2 || ok=0
    [ $ok = 0 ] || in_root "$r" apt-get install -y -qq --no-install-recommends netplan.io >&2 || ok=0
    for d in $BOUND_ACTIVE; do umount "$d"; done
    BOUND_ACTIVE=''
    [ $ok = 1 ] || { echo "$0: could not install netplan.io into $r" >&2; return 1; }
    in_root "$r" apt-get clean
    rm -f "$r/usr/sbin/policy-rc.d"
    printf 'nameserver 10.0.2.3\n' >"$r/etc/resolv.conf"
    local sectors
    rm -f "$img" "$IMAGES/fs-netplan.img"
    truncate -s 3G "$img"
    printf 'label: dos\nstart=2048, type=83\n' | sfdisk -q "$img"
    sectors=$(sfdisk -l -o Sectors "$img" | tail -n 1 | tr -d ' ')
    mkfs.ext4 -q -F -U "$FS_UUID" -L root -d "$r" "$IMAGES/fs-netplan.img" "$((sectors / 2))k"
    dd if="$IMAGES/fs-netplan.img" of="$img" bs=1M seek=1 conv=notrunc,sparse status=none
    rm -f "$IMAGES/fs-netplan.img"
    echo "$want" >"$stamp"
}

# The image a variant is built from.
base_of() {
    case $NETPLAN_VARIANTS in *" $1 "*) echo "$IMAGES/base-netplan.img" ;; *) echo "$IMAGES/base.img" ;; esac
}

# --------------------------------------------------------------- variants

# with_image IMG FUNC: mounts the root filesystem of IMG, runs FUNC DIR, unmounts.
with_image() {
    local img=$1 fn=$2 mnt
    mnt=$(mktemp -d)
    mount -o loop,offset=$PART_OFFSET "$img" "$mnt"
    MNT_ACTIVE=$mnt
    "$fn" "$mnt" || { umount "$mnt"; rmdir "$mnt"; MNT_ACTIVE=''; return 1; }
    umount "$mnt"; rmdir "$mnt"; MNT_ACTIVE=''
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

# Issue 12's lockout: netfilter-persistent restores INPUT DROP without tcp/22,
# and an if-up.d hook with CRLF line endings (its shebang is "/bin/sh\r")
# would restore a file that does not exist.
break_firewall-lockout-crlf-hook() {
    break_iptables-drop "$1"
    printf '#!/bin/sh\r\n/sbin/iptables-restore < /etc/iptables.up.rules\r\n' >"$1/etc/network/if-up.d/iptables"
    chmod 755 "$1/etc/network/if-up.d/iptables"
    [ ! -e "$1/etc/iptables.up.rules" ]
}
netplan_yaml() {
    mkdir -p "$1/etc/netplan"
    cat >"$1/etc/netplan/01-netcfg.yaml" <<'EOF'
network:
  version: 2
  renderer: networkd
  ethernets:
    ens3:
      dhcp4: true
EOF
    chmod 600 "$1/etc/netplan/01-netcfg.yaml"
}
# Issue 12's false alarm: netplan (networkd renderer) configures ens3; ifupdown
# was removed (not purged), its /etc/network/interfaces still names ens3.
break_netplan-networkd-stale-interfaces() {
    netplan_yaml "$1"
    in_root "$1" dpkg --remove ifupdown >/dev/null
    grep -q ens3 "$1/etc/network/interfaces"
}
# Issue 13: the netplan YAML is left, netplan.io is removed, nothing else
# configures the network (ifupdown purged, as on a netplan-only system).
break_netplan-removed() {
    netplan_yaml "$1"
    in_root "$1" dpkg --remove netplan.io >/dev/null
    in_root "$1" dpkg --purge ifupdown >/dev/null
    rm -f "$1/etc/network/interfaces"
    [ ! -e "$1/lib/systemd/system-generators/netplan" ] && [ ! -e "$1/usr/lib/systemd/system-generators/netplan" ]
}
break_ssh-disabled() { systemctl --root="$1" disable ssh.service >/dev/null 2>&1; }
break_ssh-masked() { systemctl --root="$1" mask ssh.service >/dev/null 2>&1; }
break_sshd-bad-keyword() { printf 'PermitRootLogn prohibit-password\n' >>"$1/etc/ssh/sshd_config"; }
break_sshd-bad-value() { printf 'PasswordAuthentication maybe\n' >>"$1/etc/ssh/sshd_config"; }
break_sshd-no-host-keys() { rm -f "$1"/etc/ssh/ssh_host_*; }
break_sshd-no-privsep-user() {
    sed -i '/^sshd:/d' "$1/etc/passwd" "$1/etc/shadow"
}
break_sshd-listen-absent-address() { printf 'ListenAddress 192.0.2.10\n' >>"$1/etc/ssh/sshd_config"; }
break_sshd-port-2222-firewall-22() {
    printf 'Port 2222\n' >>"$1/etc/ssh/sshd_config"
    cat >"$1/etc/iptables/rules.v4" <<'EOF'
# Generated by iptables-save v1.8.9 (nf_tables)
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
EOF
}
break_root-login-no-root-only() {
    in_root "$1" userdel -r admin 2>/dev/null
    printf 'PermitRootLogin no\n' >>"$1/etc/ssh/sshd_config"
}
break_password-auth-no-keys() {
    rm -f "$1/root/.ssh/authorized_keys" "$1/home/admin/.ssh/authorized_keys"
    printf 'PasswordAuthentication no\n' >>"$1/etc/ssh/sshd_config"
    # admin gets a password, so only PasswordAuthentication refuses it (the boot tries it).
    echo admin:boot-check | in_root "$1" chpasswd
}
# tcp_wrappers: Debian 12's sshd is linked with libwrap and reads hosts.deny.
break_hosts-deny-sshd() { printf 'sshd: ALL\n' >>"$1/etc/hosts.deny"; }
break_allowusers-nobody() { printf 'AllowUsers nobody-here\n' >>"$1/etc/ssh/sshd_config"; }
break_strictmodes-group-writable() { chmod 775 "$1/root/.ssh" "$1/home/admin/.ssh"; }
# Group-writable ~/.ssh whose group has other members: Debian's OpenSSH
# (user-group-modes patch) accepts group write only when the group's one
# member is the owner. Both key holders' ~/.ssh belong to a group sshusers
# with members admin and guest.
break_strictmodes-group-shared() {
    in_root "$1" useradd -M -s /bin/bash guest
    in_root "$1" groupadd sshusers
    in_root "$1" gpasswd -M admin,guest sshusers >/dev/null
    local gid
    gid=$(awk -F: '$1 == "sshusers" { print $3 }' "$1/etc/group")
    chgrp "$gid" "$1/root/.ssh" "$1/home/admin/.ssh"
    chmod 775 "$1/root/.ssh" "$1/home/admin/.ssh"
}
break_nologin-file() { printf 'The system is being maintained.\n' >"$1/etc/nologin"; }

# build_variant NAME IMG: the broken image of a variant, from its base.
build_variant() {
    cp --sparse=always "$(base_of "$1")" "$2"
    if [ "$1" != baseline ]; then with_image "$2" "break_$1"; fi
}

# ------------------------------------------------------------------ booting

# The first bytes the guest's sshd sends through qemu's port forward. slirp
# accepts the TCP connection itself, so only a banner proves sshd answered.
banner() { # HOSTPORT
    timeout 8 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && head -c 8 <&3" 2>/dev/null || true
}

# login USER HOSTPORT: a key login that runs `true`; status 0 when it worked.
login() {
    timeout 90 ssh -q -i "$KEY" -p "$2" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no \
        -o UserKnownHostsFile=/dev/null -o ConnectTimeout=40 -o LogLevel=ERROR "$1@127.0.0.1" true </dev/null >/dev/null 2>&1
}

# password_login USER HOSTPORT: a password login (password boot-check) that
# runs `true`, through SSH_ASKPASS; status 0 when it worked.
password_login() {
    local askpass=$LOGS/askpass.sh
    printf '#!/bin/sh\necho boot-check\n' >"$askpass"; chmod 700 "$askpass"
    SSH_ASKPASS=$askpass SSH_ASKPASS_REQUIRE=force DISPLAY=:0 timeout 90 setsid -w ssh -q -p "$2" \
        -o PreferredAuthentications=password,keyboard-interactive -o PubkeyAuthentication=no -o NumberOfPasswordPrompts=1 \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=40 -o LogLevel=ERROR \
        "$1@127.0.0.1" true </dev/null >/dev/null 2>&1
}

QEMU_PID=''
MNT_ACTIVE=''
BOUND_ACTIVE=''
# Stops a VM and unmounts an image this script left running or mounted.
# (boot runs in a command substitution, a subshell: its VM's pid is also in
# a file, so the caller's trap can stop it.)
bc_cleanup() {
    case ${RESCUE_AUDIT:-} in "$WORK/bin/"*".$$") rm -f "$RESCUE_AUDIT" ;; esac
    if [ -n "$QEMU_PID" ]; then kill "$QEMU_PID" 2>/dev/null || true; wait "$QEMU_PID" 2>/dev/null || true; QEMU_PID=''; fi
    # (Not for NO_BOOT runs: the pid file is the booting run's, and a
    # verdict-check ending beside it killed its VM mid-boot.)
    if [ -z "${NO_BOOT:-}" ] && [ -f "$LOGS/qemu.pid" ]; then kill "$(cat "$LOGS/qemu.pid")" 2>/dev/null || true; rm -f "$LOGS/qemu.pid"; fi
    local d
    for d in $BOUND_ACTIVE; do umount "$d" 2>/dev/null || umount -l "$d" 2>/dev/null || true; done
    BOUND_ACTIVE=''
    if [ -n "$MNT_ACTIVE" ]; then
        # Whatever a repair script bound below the image's root first, deepest first.
        # (|| true: with pipefail a grep that finds nothing would end the trap here, mount left behind)
        { findmnt -rn -o TARGET | grep -F "$MNT_ACTIVE/" | sort -r | while read -r d; do umount -l "$d" 2>/dev/null || true; done; } || true
        umount "$MNT_ACTIVE" 2>/dev/null || umount -l "$MNT_ACTIVE" 2>/dev/null || true; rmdir "$MNT_ACTIVE" 2>/dev/null || true; MNT_ACTIVE=''; fi
}

# boot NAME IMG [KERNEL INITRD]: one boot of a throw-away copy of IMG (qemu
# -snapshot: the image itself is not changed). Prints one line:
#   reachable SECONDS port=P login=USERS      banner and a key login
#   no-login SECONDS port=P login=none        banner, but no key login works
#   unreachable [(why)]                       no banner
# A boot without a banner ends once the diagnostic unit has reported (sshd
# had its chance by then: the unit is ordered after ssh.service), or at WAIT.
# A guest kernel that panics before userspace (under TCG on a loaded host
# the kernel's timer check can fail: "IO-APIC + timer doesn't work!") says
# nothing about the variant: that boot is repeated, up to 3 tries, and the
# result says how many it took.
boot() {
    local try result
    for try in 1 2 3; do
        result=$(boot_once "$@")
        if grep -q "Kernel panic - not syncing" "$LOGS/$1.serial.log" && ! grep -q "BOOTCHECK" "$LOGS/$1.serial.log"; then
            cp "$LOGS/$1.serial.log" "$LOGS/$1.panic$try.serial.log"
            echo "== $1: the guest kernel panicked before userspace ($(grep -m 1 -o 'Kernel panic - not syncing: [^]]*' "$LOGS/$1.serial.log" | cut -c1-80)); booting again" >&2
            result="invalid (guest kernel panic, $try tries)"
            continue
        fi
        [ "$try" = 1 ] || result="$result (try $try: the earlier ones panicked)"
        break
    done
    echo "$result"
}

boot_once() {
    local name=$1 img=$2 kernel=${3:-$IMAGES/vmlinuz} initrd=${4:-$IMAGES/initrd.img} log=$LOGS/$1.serial.log
    : >"$log"
    nice -n 5 qemu-system-x86_64 -machine pc,accel=tcg -m 1024 -smp 1 \
        -kernel "$kernel" -initrd "$initrd" \
        -append "root=/dev/vda1 ro console=ttyS0 systemd.show_status=1" \
        -drive "file=$img,format=raw,if=virtio" -snapshot \
        -nic "user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:$PORT-:22,hostfwd=tcp:127.0.0.1:$PORT2-:2222" \
        -display none -monitor none -serial "file:$log" >"$LOGS/$name.qemu.log" 2>&1 &
    QEMU_PID=$!
    echo "$QEMU_PID" >"$LOGS/qemu.pid"
    local start=$SECONDS result=unreachable port="" done_at=""
    while [ $((SECONDS - start)) -lt "$WAIT" ] && kill -0 "$QEMU_PID" 2>/dev/null; do
        local p
        for p in "$PORT" "$PORT2"; do
            if [ "$(banner "$p" | head -c 4)" = "SSH-" ]; then port=$p; break; fi
        done
        if [ -n "$port" ]; then result="banner $((SECONDS - start))"; break; fi
        if grep -q "You are in emergency mode" "$log"; then sleep 5; result="unreachable (emergency mode)"; break; fi
        if grep -q "Kernel panic - not syncing" "$log"; then result="unreachable (kernel panic)"; break; fi
        if grep -q "BOOTCHECK done" "$log"; then
            # Two more tries after the report, then it is final.
            if [ -z "$done_at" ]; then done_at=$SECONDS; elif [ $((SECONDS - done_at)) -ge 10 ]; then break; fi
        fi
        sleep 4
    done
    # qemu gone before the verdict (killed by a trap, crashed): the boot proved nothing.
    if [ -z "$port" ] && [ "$result" = unreachable ] && ! kill -0 "$QEMU_PID" 2>/dev/null; then
        result="invalid (qemu stopped before the boot ended)"
    fi
    # No banner, and the guest never got as far as the diagnostic report
    # (ordered after ssh.service): it was still booting when WAIT ran out
    # (seen under load: sshd-bad-value's first boot was still starting
    # systemd-logind at 300 s). That is no observation of sshd.
    if [ -z "$port" ] && [ "$result" = unreachable ] && ! grep -q "BOOTCHECK done" "$log"; then
        result="invalid (the guest had not finished booting after $WAIT s)"
    fi
    if [ -n "$port" ]; then
        local users="" u
        for u in root admin; do
            if login "$u" "$port"; then users="$users${users:+,}$u"; fi
        done
        local guest=22
        [ "$port" = "$PORT2" ] && guest=2222
        if [ -n "$users" ]; then result="reachable ${result#banner } port=$guest login=$users"
        else result="no-login ${result#banner } port=$guest login=none"; fi
        case $PASSWORD_VARIANTS in
            *" $name "*) if password_login admin "$port"; then result="$result password=admin"; else result="$result password=none"; fi ;;
        esac
    fi
    # Let the diagnostic unit finish its report (it runs 20 s after multi-user).
    local grace=$((SECONDS + 60))
    while [ $SECONDS -lt $grace ] && ! grep -q "BOOTCHECK done" "$log" && ! grep -q "emergency mode" "$log" && ! grep -q "Kernel panic" "$log"; do sleep 3; done
    kill "$QEMU_PID" 2>/dev/null || true
    wait "$QEMU_PID" 2>/dev/null || true
    QEMU_PID=''
    rm -f "$LOGS/qemu.pid"
    echo "$result"
}

# The console lines that decide a variant.
decisive() {
    tr -d '\r' <"$1" | sed 's/\x1b\[[0-9;]*m//g' | grep -E \
        'BOOTCHECK|FAILED|Failed to start|emergency mode|Timed out|Dependency failed|run-parts|sendmail|renamed from|ifup|DHCPACK|No DHCPOFFERS|Cannot find device|Reached target.*(Multi-User|Network)|sshd|networkd|netplan' \
        | grep -v 'BOOTCHECK done' | head -n 40 || true
}

# The rescue-audit binary, when one is built.
rescue_audit_bin() {
    local b=${RESCUE_AUDIT:-$REPO/.build/debug/rescue-audit}
    [ -x "$b" ] && echo "$b"
}

# pin_binary: a copy of the binary for this whole run (a rebuild of the
# worktree during a run of an hour must not change the code under test),
# named by its commit; RESCUE_AUDIT points at it.
pin_binary() {
    local b c
    b=$(rescue_audit_bin) || return 0
    c=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
    git -C "$REPO" diff --quiet HEAD -- Sources 2>/dev/null || c=$c+dirty
    mkdir -p "$WORK/bin"
    cp "$b" "$WORK/bin/rescue-audit-$c.$$"
    RESCUE_AUDIT=$WORK/bin/rescue-audit-$c.$$
    RESCUE_AUDIT_COMMIT=$c
    export RESCUE_AUDIT RESCUE_AUDIT_COMMIT
}

# tool_says IMG: what the tool predicts for the image, one line: the JSON
# `verdict` when the report has one, else its critical and high findings.
tool_says() {
    local bin json
    bin=$(rescue_audit_bin) || { echo "(no rescue-audit binary)"; return 0; }
    json=$("$bin" audit "$1" --format json 2>/dev/null) || true
    [ -n "$json" ] || { echo "(rescue-audit could not audit the image)"; return 0; }
    jq -r '
        def line: if type == "string" then . else (.line // .summary // .text // ((.status // .state // "") + (if .reason then ": " + .reason else "" end)) // tostring) end;
        if (.verdict // null) != null then "verdict: " + (.verdict | line)
            + (if ((.verdict.bootStops // []) | length) > 0 then " [boot stops: " + .verdict.bootStops[0].rule + "]"
               else ([(.verdict.chain // [])[] | select(.state == "broken") | .kind] | if length > 0 then " [first broken link: " + .[0] + "]" else "" end) end)
        else ([.findings[] | select(.severity == "critical" or .severity == "high") | "\(.severity) \(.rule)"] | unique
              | if length == 0 then "no critical/high finding" else join(", ") end) end' <<<"$json" 2>/dev/null \
        || echo "(unreadable JSON)"
}

run_variant() {
    local name=$1 img=$IMAGES/$1.img
    build_variant "$name" "$img"
    local says
    says=$(tool_says "$img")
    echo "== $name: booting (prediction: $(predict "$name"); tool: $says)" >&2
    local result
    result=$(boot "$name" "$img")
    rm -f "$img"
    echo "== $name: $result" >&2
    record_variant "$name" "$says" "$result"
}

# record_variant NAME TOOL-SAID OBSERVED: the variant's part of results.md and
# summary.md, and the observation repair-proof.sh may reuse.
record_variant() {
    local name=$1 says=$2 result=$3
    {
        echo "### $name"
        echo
        echo "- predicted: $(predict "$name")"
        echo "- the tool said: $says"
        echo "- observed: $result"
        echo
        echo '```'
        decisive "$LOGS/$name.serial.log"
        echo '```'
        echo
    } >"$LOGS/$name.result.md"
    printf '| %s | %s | %s | %s |\n' "$name" "$(predict "$name")" "$says" "$result" >"$LOGS/$name.summary"
    # repair-proof.sh reuses this observation of the broken image (same break, same base).
    case $result in
        invalid*) rm -f "$LOGS/$name.observed" ;;
        *) printf '%s\n%s\n' "$(variant_stamp "$name")" "$result" >"$LOGS/$name.observed" ;;
    esac
}

# What a variant's broken image is made of: its base image's stamp and its break function.
variant_stamp() {
    local base
    base=$(base_of "$1")
    printf '%s %s\n' "$(cat "${base%.img}.stamp" 2>/dev/null)" "$(declare -f "break_$1" 2>/dev/null | sha256sum | cut -c1-16)"
}

# fill_doc NAME FILE: FILE's text replaces what stands between the lines
# `<!-- NAME begin -->` and `<!-- NAME end -->` of docs/boot-checks.md (when
# both are there), so the tables there never need a hand edit.
fill_doc() {
    local doc=$REPO/docs/boot-checks.md
    grep -qx "<!-- $1 begin -->" "$doc" && grep -qx "<!-- $1 end -->" "$doc" || return 0
    awk -v table="$2" -v b="<!-- $1 begin -->" -v e="<!-- $1 end -->" '
        $0 == b { print; while ((getline l < table) > 0) print l; skip = 1; next }
        $0 == e { skip = 0 }
        !skip' "$doc" >"$doc.tmp" && cat "$doc.tmp" >"$doc" && rm -f "$doc.tmp"
}

# results.md and summary.md from every variant run so far, in VARIANTS order.
assemble() {
    : >"$LOGS/results.md"
    printf '| variant | predicted | the tool said | observed |\n|---|---|---|---|\n' >"$LOGS/summary.md"
    for n in "${VARIANTS[@]}"; do
        [ -f "$LOGS/$n.result.md" ] && cat "$LOGS/$n.result.md" >>"$LOGS/results.md"
        [ -f "$LOGS/$n.summary" ] && cat "$LOGS/$n.summary" >>"$LOGS/summary.md"
    done
    fill_doc boot-check-table "$LOGS/summary.md"
    return 0
}

# Loop devices and mounts that an earlier run killed without its trap (SIGKILL,
# a crash) left behind: those whose backing file is one of this script's
# images. Other users of $WORK are not touched.
# Called holding the lock, so no other booting run is using them; the
# images of verdict-check.sh (NO_BOOT, which runs beside a boot) are left
# alone. Never fails: a cleanup must not stop the run.
stale_cleanup() {
    local dev file mnt d loops
    loops=$(losetup -n -O NAME,BACK-FILE 2>/dev/null || true)
    while read -r dev file; do
        case $file in
            "$IMAGES"/*|"$WORK/repair-proof"/*) ;;
            *) continue ;;
        esac
        for mnt in $(findmnt -rn -o TARGET -S "$dev" 2>/dev/null | sort -r || true); do
            for d in $(findmnt -rn -o TARGET 2>/dev/null | grep -F "$mnt/" | sort -r || true); do umount -l "$d" 2>/dev/null || true; done
            umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
        done
        losetup -d "$dev" 2>/dev/null || true
        echo "$0: cleaned up $dev ($file) left by an earlier run" >&2
    done <<<"$loops"
    return 0
}

prepare() {
    need_root
    # One run that boots at a time (ports, one VM); it cleans up what a
    # killed run left. NO_BOOT=1 (verdict-check.sh) only builds and audits
    # images, beside a running boot, and leaves the others' mounts alone.
    mkdir -p "$WORK"
    if [ -z "${NO_BOOT:-}" ]; then
        exec 9>"$WORK/boot-check.lock"
        flock -w 7200 9 || { echo "$0: another boot-check run holds $WORK/boot-check.lock" >&2; exit 2; }
        stale_cleanup
    fi
    need_tool debootstrap debootstrap
    need_tool qemu-system-x86_64 qemu-system-x86
    need_tool sfdisk fdisk
    need_tool ssh openssh-client
    need_tool jq jq
    mkdir -p "$WORK" "$LOGS"
    for p in "$PORT" "$PORT2"; do
        [ -z "${NO_BOOT:-}" ] || break
        if timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$p" 2>/dev/null; then
            echo "$0: port $p is in use; set BOOT_CHECK_PORT" >&2; exit 2
        fi
    done
    make_key
    # The debootstrap first (reused when done): build_image's stamp names it,
    # so on a fresh machine the first stamp would otherwise lack it and the
    # second run would rebuild both images.
    bootstrap "$ROOT" "$PACKAGES"
    build_image
    build_netplan_image
}

main() {
    if [ "${1:-}" = --docs ]; then
        # Only the tables of docs/boot-checks.md, from the results on this machine.
        assemble
        [ ! -f "$LOGS/verdict-check.md" ] || fill_doc verdict-check-table "$LOGS/verdict-check.md"
        [ ! -f "$LOGS/repair-proof.md" ] || fill_doc repair-proof-table "$LOGS/repair-proof.md"
        return 0
    fi
    trap bc_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    prepare
    pin_binary
    local names=("$@")
    [ ${#names[@]} -gt 0 ] || names=("${VARIANTS[@]}")
    for n in "${names[@]}"; do
        case " ${VARIANTS[*]} " in *" $n "*) ;; *) echo "$0: unknown variant $n" >&2; exit 64 ;; esac
        run_variant "$n"
    done
    assemble
    cat "$LOGS/summary.md"
}

if [ -z "${BOOT_CHECK_LIB:-}" ]; then main "$@"; fi
