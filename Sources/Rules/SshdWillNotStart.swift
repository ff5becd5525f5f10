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
            return finding(message: p.message, atBoot: Self.atBoot(p.kind), evidence: evidence, actions: fix(p, system))
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
                                           commands: ["chroot \"$ROOT\" update-rc.d \(shellWord(unit)) enable"]),
                                   "Enable \(unit) in the runlevels")]
        case .masked:
            if let path = p.path {
                return [ProposedAction(.manual(description: "Remove the mask so systemd can start \(p.unit ?? "sshd").",
                                               commands: ["rm -- \(rootPath(path))"]),
                                       "Unmask \(p.unit ?? "sshd")")]
            }
        case .notToBeRun:
            if let path = p.path, system.bytes(path) != nil {
                return [ProposedAction(.moveAside(path: path), "Move \(path) aside so the unit starts sshd")]
            }
        case .binaryMissing, .configMissing:
            return [ProposedAction(.manual(description: "Reinstall openssh-server inside the target (it needs the network or the .deb).",
                                           commands: ["chroot \"$ROOT\" apt-get install --reinstall openssh-server"]),
                                   "Reinstall openssh-server")]
        case .privsepUser:
            return [ProposedAction(.manual(description: "Create the sshd system user as Debian's openssh-server does.",
                                           commands: ["chroot \"$ROOT\" adduser --quiet --system --no-create-home --home /run/sshd --shell /usr/sbin/nologin sshd"]),
                                   "Create the sshd user")]
        case .privsepDirectory:
            if let dir = p.path {
                let command = dir.hasPrefix("/run/")
                    ? "printf 'd %s 0755 root root -\\n' \(shellWord(dir)) > \(rootPath("/etc/tmpfiles.d/sshd-privsep.conf"))"
                    : "mkdir -m 0755 -p -- \(rootPath(dir))"
                return [ProposedAction(.manual(description: "Make sure \(dir) exists when sshd starts.", commands: [command]),
                                       "Provide \(dir)")]
            }
        }
        return []
    }
}
