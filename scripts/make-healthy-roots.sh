#!/usr/bin/env bash
# Regenerates Tests/RescueAuditTests/Fixtures/healthy/: three realistic roots
# that must give no critical or high finding.
#
#   debian12-ifupdown          debootstrap bookworm + ifupdown, configured as
#                              the Debian installer leaves a static server
#   debian12-netplan-networkd  debootstrap bookworm + netplan.io + systemd-
#                              resolved, networkd enabled, static netplan YAML
#   rhel9-ifcfg                hand-written after a Rocky Linux 9 install that
#                              keeps ifcfg files (no RHEL mirror is reachable
#                              here, and debootstrap cannot build RHEL)
#
# The Debian roots are built from real packages (minbase + the packages
# below) from the mirror apt uses on this machine; the .deb files are cached
# under $ROOTS_WORK/debs so reruns are fast. Only what the audit reads is
# copied into the repository (see extract() and healthy/README.md): all of
# /etc, the dpkg status and file lists, systemd's unit, network, udev and
# generator directories, os-release, ifupdown's helpers, and every file of
# /usr/bin, /usr/sbin, /usr/libexec and /usr/lib/systemd -- shell scripts as
# shipped, binaries as 0-byte executables with the shipped mode (listed in
# healthy/<name>.placeholders). Symlinks (merged /usr, /sbin/init,
# enable links) stay as they are.
#
# Run as root:  scripts/make-healthy-roots.sh [NAME...]   (default: all three)
# Not run in CI (debootstrap takes minutes): the committed trees are the fixtures.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib-debootstrap.sh
. "$REPO/scripts/lib-debootstrap.sh"
OUT=$REPO/Tests/RescueAuditTests/Fixtures/healthy

IFUPDOWN_PACKAGES=ifupdown,isc-dhcp-client,iproute2,openssh-server,systemd-sysv,udev,kmod,netbase,dbus,procps
NETPLAN_PACKAGES=netplan.io,systemd-resolved,iproute2,openssh-server,systemd-sysv,udev,kmod,netbase,dbus,procps

INFO_PACKAGES="ifupdown isc-dhcp-client isc-dhcp-common iproute2 openssh-server openssh-client openssh-sftp-server
  systemd systemd-sysv systemd-resolved netplan.io libnetplan0 udev dbus netbase kmod procps dash"

# Fixed identifiers so reruns give the same tree.
ROOT_UUID=4f1c2a8e-5d3b-4c6a-9e7f-1a2b3c4d5e6f
SWAP_UUID=9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d

write() { # path mode  (content on stdin)
    mkdir -p "$(dirname "$1")"
    cat >"$1"
    chmod "$2" "$1"
}

# /etc files the Debian installer writes on every install.
debian_installer_files() { # root hostname
    local r=$1 host=$2
    echo "$host" | write "$r/etc/hostname" 644
    write "$r/etc/fstab" 644 <<EOF
# /etc/fstab: static file system information.
#
# Use 'blkid' to print the universally unique identifier for a
# device; this may be used with UUID= as a more robust way to name devices
# that works even if disks are added and removed. See fstab(5).
#
# systemd generates mount units based on this file, see systemd.mount(5).
# Please run 'systemctl daemon-reload' after you make changes here.
#
# <file system> <mount point>   <type>  <options>       <dump>  <pass>
# / was on /dev/vda1 during installation
UUID=$ROOT_UUID /               ext4    errors=remount-ro 0       1
# swap was on /dev/vda5 during installation
UUID=$SWAP_UUID none            swap    sw              0       0
/dev/sr0        /media/cdrom0   udf,iso9660 user,noauto     0       0
EOF
    # d-i's user-setup: the first user, with a password (a fixed yescrypt
    # hash; nobody knows the password) and a home directory. Without an
    # account that may log in, sshd answers but nobody gets in.
    printf 'debian:x:1000:1000:Debian,,,:/home/debian:/bin/bash\n' >>"$r/etc/passwd"
    printf 'debian:x:1000:\n' >>"$r/etc/group"
    printf 'debian:!::\n' >>"$r/etc/gshadow"
    printf 'debian:$y$j9T$rescueauditfixture$0000000000000000000000000000000000000000000:20778:0:99999:7:::\n' >>"$r/etc/shadow"
    # A real machine-id: an empty one would make systemd treat the next
    # boot as a first boot and apply presets.
    printf '%s\n' 3f0a6c1e9b2d4e5f8a7b6c5d4e3f2a1b | write "$r/etc/machine-id" 444
}

configure_ifupdown() {
    local r=$1
    debian_installer_files "$r" web1
    # netcfg (the installer's network step) for a static address on a
    # hotpluggable virtio NIC, word for word as bookworm's d-i writes it.
    write "$r/etc/network/interfaces" 644 <<'EOF'
# This file describes the network interfaces available on your system
# and how to activate them. For more information, see interfaces(5).

source /etc/network/interfaces.d/*

# The loopback network interface
auto lo
iface lo inet loopback

# The primary network interface
allow-hotplug ens3
iface ens3 inet static
	address 192.0.2.10/24
	gateway 192.0.2.1
	# dns-* options are implemented by the resolvconf package, if installed
	dns-nameservers 192.0.2.53
	dns-search example.org
EOF
    write "$r/etc/hosts" 644 <<'EOF'
127.0.0.1	localhost
192.0.2.10	web1.example.org	web1

# The following lines are desirable for IPv6 capable hosts
::1     localhost ip6-localhost ip6-loopback
ff02::1 ip6-allnodes
ff02::2 ip6-allrouters
EOF
    write "$r/etc/resolv.conf" 644 <<'EOF'
search example.org
nameserver 192.0.2.53
EOF
    # ifupdown's and openssh-server's postinsts enabled their units during
    # debootstrap; enable again in case a package changed that.
    systemctl --root="$r" enable networking.service ssh.service 2>/dev/null
}

configure_netplan() {
    local r=$1
    debian_installer_files "$r" web2
    rm -f "$r/etc/network/interfaces"
    write "$r/etc/netplan/01-netcfg.yaml" 600 <<'EOF'
# This file describes the network interfaces available on your system
# For more information, see netplan(5).
network:
  version: 2
  renderer: networkd
  ethernets:
    ens3:
      dhcp4: false
      addresses:
        - 192.0.2.20/24
      routes:
        - to: default
          via: 192.0.2.1
      nameservers:
        addresses: [192.0.2.53]
        search: [example.org]
EOF
    write "$r/etc/hosts" 644 <<'EOF'
127.0.0.1	localhost
192.0.2.20	web2.example.org	web2

# The following lines are desirable for IPv6 capable hosts
::1     localhost ip6-localhost ip6-loopback
ff02::1 ip6-allnodes
ff02::2 ip6-allrouters
EOF
    # Debian ships systemd-networkd disabled; images that use it enable it
    # (systemctl enable only writes symlinks inside the root).
    systemctl --root="$r" enable systemd-networkd.service systemd-resolved.service ssh.service 2>/dev/null
    # systemd-resolved's postinst points resolv.conf at its stub; make sure.
    if [ ! -L "$r/etc/resolv.conf" ]; then
        rm -f "$r/etc/resolv.conf"
        ln -s ../run/systemd/resolve/stub-resolv.conf "$r/etc/resolv.conf"
    fi
    # The oracle: netplan's own generator must accept the YAML.
    in_root "$r" netplan generate
}

# True for files that are not text (a NUL byte in the first 8 KiB).
is_binary() {
    local n
    n=$(head -c 8192 "$1" | wc -c)
    [ "$(head -c 8192 "$1" | tr -d '\000' | wc -c)" != "$n" ]
}

# copy_path SRC DEST PATH MODE: PATH (a file or a tree) from SRC to DEST.
# MODE full: regular files as they are; scripts: text files as they are,
# binaries as 0-byte files with the same mode (recorded in $PLACEHOLDERS).
copy_path() {
    local src=$1 dest=$2 path=$3 mode=$4
    [ -e "$src$path" ] || [ -L "$src$path" ] || return 0
    # Parent directories first, as directories (or symlinks, as in the root).
    local built="" part
    while IFS= read -r part; do
        [ -n "$part" ] || continue
        built="$built/$part"
        if [ -L "$src$built" ] && [ ! -L "$dest$built" ]; then cp -P "$src$built" "$dest$built"
        elif [ ! -e "$dest$built" ] && [ ! -L "$dest$built" ]; then mkdir -p "$dest$built"; fi
    done < <(printf '%s\n' "${path%/*}" | tr / '\n')
    (cd "$src" && find ".$path" -print0) | while IFS= read -r -d '' rel; do
        local p=${rel#.}
        if [ -L "$src$p" ]; then
            rm -rf "$dest$p"; cp -P "$src$p" "$dest$p"
        elif [ -d "$src$p" ]; then
            mkdir -p "$dest$p"; chmod "$(stat -c %a "$src$p")" "$dest$p"
        elif [ -f "$src$p" ]; then
            if [ "$mode" = scripts ] && is_binary "$src$p"; then
                : >"$dest$p"; chmod "$(stat -c %a "$src$p")" "$dest$p"
                echo "$p" >>"$PLACEHOLDERS"
            else
                cp -p "$src$p" "$dest$p"
            fi
        fi
        # FIFOs, sockets and device nodes are left out (git cannot keep them).
    done
}

# extract SRC NAME: what the audit reads, from a debootstrapped root into the fixture.
extract() {
    local src=$1 name=$2 dest=$OUT/$2
    rm -rf "$dest"; mkdir -p "$dest"
    PLACEHOLDERS=$OUT/$name.placeholders
    : >"$PLACEHOLDERS"
    # Merged /usr: /bin, /sbin, /lib, /lib64 are symlinks into /usr.
    for top in bin sbin lib lib32 lib64 libx32; do
        [ -L "$src/$top" ] && cp -P "$src/$top" "$dest/$top"
    done
    copy_path "$src" "$dest" /etc full
    # Private host keys are throwaway, but keys do not belong in git: keep
    # the files (sshd refuses to start without them) with a note instead.
    for k in "$dest"/etc/ssh/ssh_host_*_key; do
        [ -f "$k" ] || continue
        echo "# rescue-audit fixture: the private host key generated by openssh-server's postinst was removed" >"$k"
        echo "${k#"$dest"}" >>"$PLACEHOLDERS"
    done
    # sshd's DH group list (half a megabyte of numbers) is not audited.
    if [ -f "$dest/etc/ssh/moduli" ]; then
        echo "# rescue-audit fixture: the shipped moduli list was removed" >"$dest/etc/ssh/moduli"
        echo /etc/ssh/moduli >>"$PLACEHOLDERS"
    fi
    rm -f "$dest/etc/.pwd.lock" "$dest/etc/ld.so.cache" "$dest/etc/"*- "$dest/etc/.rescue-audit"*
    copy_path "$src" "$dest" /var/lib/dpkg/status full
    # File lists and conffiles of the packages that bring the network and sshd up.
    mkdir -p "$dest/var/lib/dpkg/info"
    local pkg f
    for pkg in $INFO_PACKAGES; do
        for f in "$src/var/lib/dpkg/info/$pkg".list "$src/var/lib/dpkg/info/$pkg".conffiles \
                 "$src/var/lib/dpkg/info/$pkg":*.list "$src/var/lib/dpkg/info/$pkg":*.conffiles; do
            [ -f "$f" ] && cp -p "$f" "$dest/var/lib/dpkg/info/"
        done
    done
    copy_path "$src" "$dest" /usr/lib/os-release full
    for d in /usr/lib/systemd /usr/lib/udev/rules.d /usr/lib/sysctl.d /usr/lib/modprobe.d \
             /usr/lib/modules-load.d /usr/lib/tmpfiles.d /usr/lib/ifupdown /usr/lib/netplan \
             /usr/libexec/netplan /usr/share/netplan/netplan.script \
             /usr/bin /usr/sbin /usr/libexec/openssh /usr/lib/openssh /usr/share/sendmail; do
        copy_path "$src" "$dest" "$d" scripts
    done
    rm -rf "$dest/usr/lib/systemd/catalog" # the journal's message catalogue
    # The dynamic loader every ELF names as its interpreter.
    copy_path "$src" "$dest" /usr/lib64/ld-linux-x86-64.so.2 scripts
    copy_path "$src" "$dest" /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 scripts
    sort -o "$PLACEHOLDERS" "$PLACEHOLDERS"
    echo "$name: $(find "$dest" | wc -l) entries, $(du -sh --apparent-size "$dest" | cut -f1), $(wc -l <"$PLACEHOLDERS") placeholders" >&2
}

# The RHEL-style root, written by hand after a Rocky Linux 9 server install.
make_rhel() {
    local dest=$OUT/rhel9-ifcfg
    rm -rf "$dest"; mkdir -p "$dest"
    PLACEHOLDERS=$OUT/rhel9-ifcfg.placeholders
    : >"$PLACEHOLDERS"
    local r=$dest
    # Merged /usr as on every RHEL since 7.
    ln -s usr/bin "$r/bin"; ln -s usr/sbin "$r/sbin"; ln -s usr/lib "$r/lib"; ln -s usr/lib64 "$r/lib64"
    mkdir -p "$r/usr/bin" "$r/usr/sbin" "$r/usr/lib/systemd/system" "$r/usr/lib64" "$r/usr/libexec/openssh"
    ln -s ../lib/systemd/systemd "$r/usr/sbin/init"
    for f in /usr/lib/systemd/systemd /usr/sbin/NetworkManager /usr/bin/nm-online /usr/sbin/sshd \
             /usr/bin/bash /usr/bin/kill /usr/bin/busctl /usr/libexec/openssh/sftp-server \
             /usr/lib/NetworkManager/nm-dispatcher /usr/lib/NetworkManager/nm-priv-helper \
             /usr/lib64/ld-linux-x86-64.so.2; do
        mkdir -p "$r${f%/*}"; : >"$r$f"; chmod 755 "$r$f"; echo "$f" >>"$PLACEHOLDERS"
    done
    ln -s bash "$r/usr/bin/sh"

    write "$r/usr/lib/os-release" 644 <<'EOF'
NAME="Rocky Linux"
VERSION="9.5 (Blue Onyx)"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.5"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Rocky Linux 9.5 (Blue Onyx)"
ANSI_COLOR="0;32"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:rocky:rocky:9::baseos"
HOME_URL="https://rockylinux.org/"
VENDOR_NAME="RESF"
VENDOR_URL="https://resf.org/"
BUG_REPORT_URL="https://bugs.rockylinux.org/"
SUPPORT_END="2032-05-31"
ROCKY_SUPPORT_PRODUCT="Rocky-Linux-9"
ROCKY_SUPPORT_PRODUCT_VERSION="9.5"
REDHAT_SUPPORT_PRODUCT="Rocky Linux"
REDHAT_SUPPORT_PRODUCT_VERSION="9.5"
EOF
    mkdir -p "$r/etc"
    ln -s ../usr/lib/os-release "$r/etc/os-release"
    echo "web3.example.org" | write "$r/etc/hostname" 644
    printf '%s\n' 7c2e9d4b1a3f4e6d8b5a2c1f0e9d8c7b | write "$r/etc/machine-id" 444
    write "$r/etc/hosts" 644 <<'EOF'
127.0.0.1   localhost localhost.localdomain localhost4 localhost4.localdomain4
::1         localhost localhost.localdomain localhost6 localhost6.localdomain6
EOF
    write "$r/etc/fstab" 644 <<'EOF'

#
# /etc/fstab
# Created by anaconda on Tue Jan 14 10:12:31 2025
#
# Accessible filesystems, by reference, are maintained under '/dev/disk/'.
# See man pages fstab(5), findfs(8), mount(8) and/or blkid(8) for more info.
#
# After editing this file, run 'systemctl daemon-reload' to update systemd
# units generated from this file.
#
/dev/mapper/rl-root     /                       xfs     defaults        0 0
UUID=6d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a /boot                   xfs     defaults        0 0
/dev/mapper/rl-swap     none                    swap    defaults        0 0
EOF
    # What NetworkManager writes when it owns resolv.conf.
    write "$r/etc/resolv.conf" 644 <<'EOF'
# Generated by NetworkManager
search example.org
nameserver 192.0.2.53
EOF
    write "$r/etc/sysconfig/network" 644 <<'EOF'
# Created by anaconda
EOF
    # As anaconda writes a static connection on RHEL 8 and on RHEL 9
    # systems that kept ifcfg files (enp1s0: virtio NIC on a q35 KVM guest).
    write "$r/etc/sysconfig/network-scripts/ifcfg-enp1s0" 644 <<'EOF'
TYPE=Ethernet
PROXY_METHOD=none
BROWSER_ONLY=no
BOOTPROTO=none
DEFROUTE=yes
IPV4_FAILURE_FATAL=no
IPV6INIT=yes
IPV6_AUTOCONF=yes
IPV6_DEFROUTE=yes
IPV6_FAILURE_FATAL=no
IPV6_ADDR_GEN_MODE=stable-privacy
NAME=enp1s0
UUID=b7a5c3d1-2e4f-4a6b-8c9d-0e1f2a3b4c5d
DEVICE=enp1s0
ONBOOT=yes
IPADDR=192.0.2.30
PREFIX=24
GATEWAY=192.0.2.1
DNS1=192.0.2.53
DOMAIN=example.org
EOF
    # RHEL 9's stock NetworkManager.conf, with the plugin line an admin
    # uncomments to keep ifcfg files first (ifcfg-rh is built in either way).
    write "$r/etc/NetworkManager/NetworkManager.conf" 644 <<'EOF'
# Configuration file for NetworkManager.
#
# See "man 5 NetworkManager.conf" for details.
#
# The directories /usr/lib/NetworkManager/conf.d/ and /run/NetworkManager/conf.d/
# can contain additional .conf snippets installed by packages. These files are
# read before NetworkManager.conf and have thus lowest priority.
# The directory /etc/NetworkManager/conf.d/ can contain additional .conf
# snippets. Those snippets are merged last and overwrite the settings from this main
# file.
#
# The files within one conf.d/ directory are read in asciibetical order.
#
# You can prevent loading a file /usr/lib/NetworkManager/conf.d/NAME.conf
# by having a file NAME.conf in either /run/NetworkManager/conf.d/ or /etc/NetworkManager/conf.d/.
# Likewise, snippets from /run can be prevented from loading by placing
# a file with the same name in /etc/NetworkManager/conf.d/.
#
# If two files define the same key, the one that is read afterwards will overwrite
# the previous one.

[main]
plugins=ifcfg-rh,keyfile

[logging]
# When debugging NetworkManager, enabling debug logging is of great help.
#
#level=TRACE
#domains=ALL
EOF
    mkdir -p "$r/etc/NetworkManager/system-connections" "$r/etc/NetworkManager/conf.d"
    # NetworkManager-config-server, part of every RHEL server install.
    write "$r/usr/lib/NetworkManager/conf.d/00-server.conf" 644 <<'EOF'
# This configuration file changes NetworkManager's behavior to
# what's expected on "traditional UNIX server" type deployments.
#
# See "man NetworkManager.conf" for more information about these
# and other keys.

[main]
# Do not do automatic (DHCP/SLAAC) configuration on ethernet devices
# with no other matching connections.
no-auto-default=*

# Ignore the carrier (cable plugged in) state when attempting to
# activate static-IP connections.
ignore-carrier=*
EOF
    # NetworkManager's unit files: real, from Debian's network-manager .deb
    # (the same upstream data/*.service.in templates RHEL builds), with
    # @DISTRO_NETWORK_SERVICE@ filled in as RHEL's build does.
    local nmdir=$WORK/network-manager-deb
    if [ ! -d "$nmdir/x" ]; then
        rm -rf "$nmdir"; mkdir -p "$nmdir"
        (cd "$nmdir" && apt-get download network-manager >/dev/null && dpkg-deb -x network-manager_*.deb x)
    fi
    for u in NetworkManager.service NetworkManager-dispatcher.service NetworkManager-wait-online.service nm-priv-helper.service; do
        sed 's/^Before=network.target $/Before=network.target network.service/' "$nmdir/x/lib/systemd/system/$u" \
            | write "$r/usr/lib/systemd/system/$u" 644
    done
    # RHEL 9's sshd units (openssh-server-8.7p1), hand-written.
    write "$r/usr/lib/systemd/system/sshd.service" 644 <<'EOF'
[Unit]
Description=OpenSSH server daemon
Documentation=man:sshd(8) man:sshd_config(5)
After=network.target sshd-keygen.target
Wants=sshd-keygen.target

[Service]
Type=notify
EnvironmentFile=-/etc/sysconfig/sshd
ExecStart=/usr/sbin/sshd -D $OPTIONS
ExecReload=/bin/kill -HUP $MAINPID
KillMode=process
Restart=on-failure
RestartSec=42s

[Install]
WantedBy=multi-user.target
EOF
    write "$r/usr/lib/systemd/system/sshd-keygen.target" 644 <<'EOF'
[Unit]
Wants=sshd-keygen@rsa.service
Wants=sshd-keygen@ecdsa.service
Wants=sshd-keygen@ed25519.service
PartOf=sshd.service
EOF
    write "$r/usr/lib/systemd/system/multi-user.target" 644 <<'EOF'
#  SPDX-License-Identifier: LGPL-2.1-or-later
#
#  This file is part of systemd.
#
#  systemd is free software; you can redistribute it and/or modify it
#  under the terms of the GNU Lesser General Public License as published by
#  the Free Software Foundation; either version 2.1 of the License, or
#  (at your option) any later version.

[Unit]
Description=Multi-User System
Documentation=man:systemd.special(7)
Requires=basic.target
Conflicts=rescue.service rescue.target
After=basic.target rescue.service rescue.target
AllowIsolate=yes
EOF
    write "$r/usr/lib/systemd/system/network-online.target" 644 <<'EOF'
#  SPDX-License-Identifier: LGPL-2.1-or-later
#
#  This file is part of systemd.
#
#  systemd is free software; you can redistribute it and/or modify it
#  under the terms of the GNU Lesser General Public License as published by
#  the Free Software Foundation; either version 2.1 of the License, or
#  (at your option) any later version.

[Unit]
Description=Network is Online
Documentation=man:systemd.special(7)
Documentation=https://www.freedesktop.org/wiki/Software/systemd/NetworkTarget
After=network.target
EOF
    # What `systemctl enable` wrote for the units above (absolute targets, as systemd 252 writes them).
    local e=$r/etc/systemd/system
    mkdir -p "$e/multi-user.target.wants" "$e/network-online.target.wants"
    ln -s /usr/lib/systemd/system/multi-user.target "$e/default.target"
    ln -s /usr/lib/systemd/system/NetworkManager.service "$e/multi-user.target.wants/NetworkManager.service"
    ln -s /usr/lib/systemd/system/NetworkManager-dispatcher.service "$e/dbus-org.freedesktop.nm-dispatcher.service"
    ln -s /usr/lib/systemd/system/NetworkManager-wait-online.service "$e/network-online.target.wants/NetworkManager-wait-online.service"
    ln -s /usr/lib/systemd/system/sshd.service "$e/multi-user.target.wants/sshd.service"
    # RHEL 9's sshd configuration: the stock file's active lines, the
    # vendor drop-in and anaconda's root-login drop-in.
    write "$r/etc/ssh/sshd_config" 600 <<'EOF'
#	$OpenBSD: sshd_config,v 1.104 2021/07/02 05:11:21 dtucker Exp $

# This is the sshd server system-wide configuration file.  See
# sshd_config(5) for more information.

# To modify the system-wide sshd configuration, create a  *.conf  file under
#  /etc/ssh/sshd_config.d/  which will be automatically included below
Include /etc/ssh/sshd_config.d/*.conf

# If you want to change the port on a SELinux system, you have to tell
# SELinux about this change.
# semanage port -a -t ssh_port_t -p tcp #PORTNUMBER
#
#Port 22
#AddressFamily any
#ListenAddress 0.0.0.0
#ListenAddress ::

AuthorizedKeysFile	.ssh/authorized_keys

# override default of no subsystems
Subsystem	sftp	/usr/libexec/openssh/sftp-server
EOF
    write "$r/etc/ssh/sshd_config.d/50-redhat.conf" 600 <<'EOF'
# This system is following system-wide crypto policy. The changes to
# crypto properties (Ciphers, MACs, ...) will not have any effect in
# this or following included files. To override some configuration option,
# write it before this block or in a file with lower number.
Include /etc/crypto-policies/back-ends/opensshserver.config

SyslogFacility AUTHPRIV

ChallengeResponseAuthentication no

GSSAPIAuthentication yes
GSSAPICleanupCredentials no

UsePAM yes

X11Forwarding yes

# It is recommended to use pam_motd in /etc/pam.d/sshd instead of PrintMotd,
# as it is more configurable and versatile than the built-in version.
PrintMotd no
EOF
    write "$r/etc/ssh/sshd_config.d/01-permitrootlogin.conf" 600 <<'EOF'
# This file has been generated by the Anaconda Installer.
# Allow root to log in using ssh. Remove this file to opt-out.
PermitRootLogin yes
EOF
    write "$r/usr/share/crypto-policies/DEFAULT/opensshserver.txt" 644 <<'EOF'
Ciphers aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,aes256-ctr,aes128-gcm@openssh.com,aes128-ctr
MACs hmac-sha2-256-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha1,umac-128@openssh.com,hmac-sha2-512
GSSAPIKexAlgorithms gss-curve25519-sha256-,gss-nistp256-sha256-,gss-group14-sha256-,gss-group16-sha512-
KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group14-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512
HostKeyAlgorithms ecdsa-sha2-nistp256,ecdsa-sha2-nistp256-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521,ecdsa-sha2-nistp521-cert-v01@openssh.com,ssh-ed25519,ssh-ed25519-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,rsa-sha2-256,rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-512,rsa-sha2-512-cert-v01@openssh.com
PubkeyAcceptedAlgorithms ecdsa-sha2-nistp256,ecdsa-sha2-nistp256-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521,ecdsa-sha2-nistp521-cert-v01@openssh.com,ssh-ed25519,ssh-ed25519-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,rsa-sha2-256,rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-512,rsa-sha2-512-cert-v01@openssh.com
CASignatureAlgorithms ecdsa-sha2-nistp256,sk-ecdsa-sha2-nistp256@openssh.com,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,ssh-ed25519,sk-ssh-ed25519@openssh.com,rsa-sha2-256,rsa-sha2-512
RequiredRSASize 2048
EOF
    mkdir -p "$r/etc/crypto-policies/back-ends"
    ln -s /usr/share/crypto-policies/DEFAULT/opensshserver.txt "$r/etc/crypto-policies/back-ends/opensshserver.config"
    sort -o "$PLACEHOLDERS" "$PLACEHOLDERS"
    echo "rhel9-ifcfg: $(find "$r" | wc -l) entries (hand-written)" >&2
}

main() {
    need_root
    need_tool debootstrap debootstrap
    local names=("$@")
    [ ${#names[@]} -gt 0 ] || names=(debian12-ifupdown debian12-netplan-networkd rhel9-ifcfg)
    mkdir -p "$WORK" "$OUT"
    for name in "${names[@]}"; do
        case $name in
            debian12-ifupdown)
                bootstrap "$WORK/$name" "$IFUPDOWN_PACKAGES"
                configure_ifupdown "$WORK/$name"
                extract "$WORK/$name" "$name" ;;
            debian12-netplan-networkd)
                bootstrap "$WORK/$name" "$NETPLAN_PACKAGES"
                configure_netplan "$WORK/$name"
                extract "$WORK/$name" "$name" ;;
            rhel9-ifcfg)
                make_rhel ;;
            *) echo "$0: unknown root $name" >&2; exit 64 ;;
        esac
    done
}

main "$@"
