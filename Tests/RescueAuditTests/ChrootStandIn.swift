import Foundation

/// A stand-in for chroot(8) in repair round trips. A fixture root has no
/// binaries to run, so the stand-in carries out, with the host's tools, what
/// the few commands the rules propose do to the target's files, and refuses
/// (status 127, as a missing command) anything else:
///
/// - `ssh-keygen -A` runs the host's ssh-keygen with the root as prefix
///   (`-f`), which writes the default host keys as the target's would;
/// - `chmod 0600 PATH` and `chmod go-w PATH` change the mode under the root;
/// - `update-initramfs -u -k all` rebuilds every /boot/initrd.img-* from the
///   root's files as Debian 12's initramfs hook for udev does
///   (/usr/share/initramfs-tools/hooks/udev): the .link files of
///   /lib/systemd/network then /etc/systemd/network and the listed rules
///   from /etc/udev/rules.d before /lib/udev/rules.d, copied following
///   symlinks (a /dev/null mask becomes an empty file), the custom rules of
///   /etc/udev/rules.d, and the kernel modules of the root.
enum ChrootStandIn {
    static let script = #"""
        #!/bin/sh
        set -eu
        root=$1
        shift
        printf '%s\n' "$*" >> "${root%/*}/chroot.log"
        case "$*" in
        "update-initramfs -u -k all") ;;
        "ssh-keygen -A")
            # The host's ssh-keygen with the target as prefix: the keys the target's own would write.
            ssh-keygen -A -f "$root" >/dev/null
            for k in "$root"/etc/ssh/ssh_host_*; do printf '%s\n' "${k#"$root"}" >> "${root%/*}/chroot-changed"; done
            exit 0 ;;
        "chmod 0600 /"*|"chmod go-w /"*)
            chmod "$2" "$root$3"
            printf '%s\n' "$3" >> "${root%/*}/chroot-changed"
            exit 0 ;;
        *) echo "chroot stand-in: cannot run '$*' in a fixture root" >&2; exit 127 ;;
        esac
        for img in "$root"/boot/initrd.img-*; do
            [ -f "$img" ] || continue
            work=$(mktemp -d)
            mkdir -p "$work/lib/systemd/network" "$work/lib/udev/rules.d"
            for dir in /lib/systemd/network /usr/lib/systemd/network /etc/systemd/network; do
                for f in "$root$dir"/*.link; do
                    [ -e "$f" ] || continue
                    cat "$f" > "$work/lib/systemd/network/${f##*/}"
                done
            done
            for r in 50-udev-default.rules 73-special-net-names.rules 75-net-description.rules 80-net-setup-link.rules 80-drivers.rules; do
                if [ -e "$root/etc/udev/rules.d/$r" ]; then
                    cat "$root/etc/udev/rules.d/$r" > "$work/lib/udev/rules.d/$r"
                elif [ -e "$root/usr/lib/udev/rules.d/$r" ]; then
                    cat "$root/usr/lib/udev/rules.d/$r" > "$work/lib/udev/rules.d/$r"
                elif [ -e "$root/lib/udev/rules.d/$r" ]; then
                    cat "$root/lib/udev/rules.d/$r" > "$work/lib/udev/rules.d/$r"
                fi
            done
            for r in "$root"/etc/udev/rules.d/*.rules; do
                [ -e "$r" ] || continue
                n=${r##*/}
                if [ ! -e "$root/lib/udev/rules.d/$n" ] && [ ! -e "$root/usr/lib/udev/rules.d/$n" ]; then
                    cat "$r" > "$work/lib/udev/rules.d/$n"
                fi
            done
            for m in "$root"/usr/lib/modules "$root"/lib/modules; do
                if [ -d "$m" ]; then mkdir -p "$work/usr/lib"; cp -R "$m" "$work/usr/lib/"; break; fi
            done
            (cd "$work" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -n > "$img"
            printf '%s\n' "${img#"$root"}" >> "${root%/*}/chroot-changed"
            rm -rf "$work"
        done
        """#

    /// The target paths the stand-in rewrote in a round trip's work directory
    /// (what undo.sh cannot put back, as with the real commands).
    static func changed(_ work: URL) -> Set<String> {
        let text = (try? String(contentsOf: work.appendingPathComponent("chroot-changed"), encoding: .utf8)) ?? ""
        return Set(text.split(separator: "\n").map(String.init))
    }

    /// Writes the stand-in and a wrapper that runs a script with the stand-in
    /// bound over chroot(8), in a private mount namespace (the host's chroot
    /// is untouched); returns the wrapper, to use as the script's shell.
    static func wrapper(_ work: URL, shell: String) throws -> URL {
        let standIn = work.appendingPathComponent("chroot-stand-in")
        try Data(script.utf8).write(to: standIn)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: standIn.path)
        let words = shell.hasSuffix("busybox") ? "'\(shell)' sh" : "'\(shell)'"
        let wrapper = work.appendingPathComponent("with-chroot-stand-in")
        let text = """
            #!/bin/sh
            exec unshare --mount --propagation private /bin/sh -c 'mount --bind "$0" "$(command -v chroot)" && exec "$@"' '\(standIn.path)' \(words) "$@"

            """
        try Data(text.utf8).write(to: wrapper)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: wrapper.path)
        return wrapper
    }
}
