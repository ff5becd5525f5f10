import Parsers
import Plan
import SystemModel

/// `sshd-will-not-start`: the unit that runs sshd is not enabled or is
/// masked, its program is missing, or sshd stops at start for want of its
/// privilege-separation user or directory. (A configuration sshd refuses and
/// missing host keys have rules of their own.)
public struct SshdWillNotStart: Rule {
    public static let id = "sshd-will-not-start"
    public init() {}

    public func check(_ system: SystemSnapshot) -> [Finding] {
        let sshd = system.sshd
        return sshd.startProblems.map { p in
            let evidence = p.evidence.map { s in
                s.location.line > 0 ? Evidence(s, note: nil) : Evidence.fact(s.location.path, s.text.isEmpty ? p.message : s.text)
            }
            var f = finding(message: p.message, atBoot: Self.atBoot(p.kind), evidence: evidence, actions: fix(p, system))
            f.noOfflineRepair = Self.noOfflineRepair(p)
            return f
        }
    }

    /// Why a start problem has no automatic repair, when it has none.
    static func noOfflineRepair(_ p: SSHDStartProblem) -> String? {
        switch p.kind {
        case .binaryMissing, .configMissing:
            "the missing files belong to the openssh-server package; only the package (from the network or a .deb) can put them back as they were"
        case .privsepDirectory where !(p.path ?? "").hasPrefix("/run/"):
            "the directory is part of the openssh-server package on this system; reinstalling it restores it with the right owner and mode"
        case .masked where p.path.map { !$0.hasPrefix("/etc/") } ?? true:
            "the mask is not a link in /etc, so it is not the administrator's `systemctl mask`; remove it by hand if it is wrong"
        default:
            nil
        }
    }

    static func atBoot(_ kind: SSHDStartProblem.Kind) -> String {
        switch kind {
        case .notEnabled, .masked, .notToBeRun:
            "Nothing starts sshd at the next boot, so SSH is refused on every address even when the network comes up."
        case .binaryMissing, .configMissing:
            "systemd starts the unit and it fails at once, so nothing answers on the SSH port."
        case .privsepUser, .privsepDirectory:
            "sshd checks this before it listens and exits, so nothing answers on the SSH port."
        }
    }

    private func fix(_ p: SSHDStartProblem, _ system: SystemSnapshot) -> [ProposedAction] {
        switch p.kind {
        case .notEnabled:
            guard let unit = p.unit else { break }
            if system.sshd.startedBy == nil, unit.hasSuffix(".service") || unit.hasSuffix(".socket") {
                let links = system.units.enableLinks(for: unit)
                if !links.isEmpty {
                    return [ProposedAction(.enableUnit(unit: unit, links: links.map { SymlinkSpec(path: $0.linkPath, target: $0.target) }),
                                           "Enable \(unit) so sshd starts at boot")]
                }
            }
            return [ProposedAction(.manual(description: "Enable the ssh init script in the default runlevels.",
                                           commands: ["chroot \"$ROOT\" update-rc.d \(value: unit) enable"]),
                                   "Enable \(unit) in the runlevels")]
        case .masked:
            guard let path = p.path else { break }
            // Only `systemctl mask`'s own kind of mask: a link in /etc to /dev/null.
            if path.hasPrefix("/etc/"), let target = system.units.masks.first(where: { $0.linkPath == path })?.linkTarget, target == "/dev/null" {
                var actions = [ProposedAction(.removeSymlink(SymlinkSpec(path: path, target: target)),
                                              "Unmask \(p.unit ?? "sshd"): remove \(path), its link to /dev/null")]
                // A unit masked and never enabled must be enabled too.
                if let unit = p.unit, unit.hasSuffix(".service"), system.sshd.startedBy == nil {
                    let links = system.units.enableLinks(for: unit).filter { $0.linkPath != path }
                    if !links.isEmpty {
                        actions.append(ProposedAction(.enableUnit(unit: unit, links: links.map { SymlinkSpec(path: $0.linkPath, target: $0.target) }),
                                                      "Enable \(unit) so sshd starts at boot"))
                    }
                }
                return actions
            }
            return [ProposedAction(.manual(description: "Remove the mask so systemd can start \(p.unit ?? "sshd").",
                                           commands: ["rm -- \(path: path)"]),
                                   "Unmask \(p.unit ?? "sshd")")]
        case .notToBeRun:
            if let path = p.path, p.fileReadable {
                return [ProposedAction(.moveAside(path: path), "Move \(path) aside so the unit starts sshd")]
            }
        case .binaryMissing, .configMissing:
            return [ProposedAction(.manual(description: "Reinstall openssh-server inside the target (it needs the network or the .deb).",
                                           commands: ["chroot \"$ROOT\" apt-get install --reinstall openssh-server"]),
                                   "Reinstall openssh-server")]
        case .privsepUser:
            return privsepUser(system)
        case .privsepDirectory:
            if let dir = p.path, dir.hasPrefix("/run/") {
                // What Debian's unit does with RuntimeDirectory=sshd, for a unit or init script that does not.
                let conf = SSHDModel.privsepTmpfilesConf
                if !system.sshd.privsepTmpfilesConfExists, system.initSystem.kind == .systemd, !dir.contains(where: { $0.isWhitespace }) {
                    return [ProposedAction(.createFile(path: conf, lines: ["# Written by rescue-audit: sshd needs \(dir) when it starts.", "d \(dir) 0755 root root -"], mode: 0o644),
                                           "Create \(conf) so systemd-tmpfiles makes \(dir) at boot")]
                }
            }
            if let dir = p.path {
                let command: ShellCommand = dir.hasPrefix("/run/")
                    ? "printf 'd %s 0755 root root -\\n' \(value: dir) > \(path: "/etc/tmpfiles.d/sshd-privsep.conf")"
                    : "mkdir -m 0755 -p -- \(path: dir)"
                return [ProposedAction(.manual(description: "Make sure \(dir) exists when sshd starts.", commands: [command]),
                                       "Provide \(dir)")]
            }
        }
        return []
    }

    /// The sshd user, written into /etc/passwd (and /etc/shadow) as Debian's
    /// `adduser --system sshd` would: the first free system uid from 100,
    /// group nogroup, home /run/sshd, no login shell, a locked password.
    /// Two lines appended to files the audit read, so the script checks
    /// them, backs them up and undo.sh restores them byte for byte; running
    /// adduser in a chroot would need perl and adduser working in the target
    /// and writes files (locks, the group file, a backup passwd-) we cannot
    /// list for undo.
    private func privsepUser(_ system: SystemSnapshot) -> [ProposedAction] {
        let manual = ProposedAction(.manual(description: "Create the sshd system user as Debian's openssh-server does.",
                                            commands: ["chroot \"$ROOT\" adduser --quiet --system --no-create-home --home /run/sshd --shell /usr/sbin/nologin sshd"]),
                                    "Create the sshd user by hand")
        guard let passwdBytes = system.bytes("/etc/passwd") else { return [manual] }
        let passwd = AccountParsers.passwd(passwdBytes, path: "/etc/passwd").entries
        let groups = system.bytes("/etc/group").map { AccountParsers.group($0, path: "/etc/group") } ?? []
        let used = Set(passwd.map(\.uid))
        guard let uid = (100...999).first(where: { !used.contains($0) }) else { return [manual] }
        let gid = groups.first { $0.name == "nogroup" }?.gid ?? 65534
        let shell = system.sshd.nologinShell ?? "/usr/sbin/nologin"
        var actions = [ProposedAction(.appendBlock(path: "/etc/passwd", lines: ["sshd:x:\(uid):\(gid)::/run/sshd:\(shell)"]),
                                      "Add the privilege-separation user sshd (uid \(uid), no login) to /etc/passwd")]
        if let shadow = system.bytes("/etc/shadow"),
           !AccountParsers.shadow(shadow, path: "/etc/shadow").contains(where: { $0.name == "sshd" }) {
            actions.append(ProposedAction(.appendBlock(path: "/etc/shadow", lines: ["sshd:*::0:99999:7:::"]),
                                          "Add sshd's locked password entry to /etc/shadow"))
        }
        return actions + [manual]
    }
}
