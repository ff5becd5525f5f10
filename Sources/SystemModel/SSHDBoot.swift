import Parsers

/// sshd at the next boot: whether it starts, where it listens and whether
/// anyone can log in. The last three links of the SSH chain.
///
/// TEMPORARY computation: the sshd model (branch `sshd`) replaces this file's
/// computation; the type stays exactly as it is. Until then: `starts` looks
/// at ssh.service / sshd.service / ssh.socket (or the sysvinit link) and
/// whether the unit's ExecStart binary exists, `listens` takes the Port lines,
/// and `login` is not checked.
public struct SSHDBoot: Hashable, Sendable {
    public var starts: BootLink      // kind .sshdStarts
    public var listens: BootLink     // kind .listens
    public var ports: [Located<Int>] // the TCP ports really listened on (ssh.socket ListenStream= wins over Port)
    public var addresses: [Located<String>] // ListenAddress values; empty = all
    public var login: BootLink       // kind .login
}

extension SystemSnapshot {
    /// sshd at the next boot (see `SSHDBoot`).
    public var sshdAtBoot: SSHDBoot { SSHDBoot.temporary(self) }
}

extension SSHDBoot {
    static let units = ["ssh.service", "sshd.service", "ssh.socket", "sshd.socket"]

    static func temporary(_ s: SystemSnapshot) -> SSHDBoot {
        var seen = Set<Int>()
        let ports = s.listeners.sshPorts.filter { seen.insert($0.value).inserted }
        let addresses = s.listeners.listeners(of: "sshd").compactMap { l in
            l.address.map { Located($0, l.addressSource ?? l.source) }
        }
        let starts = startsLink(s)
        let where_ = addresses.isEmpty ? "on every address" : "on " + addresses.map(\.value).joined(separator: ", ")
        let portWords = ports.map { "tcp/\($0.value)" }.joined(separator: ", ")
        let listens: BootLink
        switch starts.state {
        case .holds:
            listens = BootLink(.listens, .holds, "sshd listens on \(portWords) \(where_)",
                               evidence: ports.map(\.source).filter { $0.location.line > 0 } + addresses.map(\.source))
        case .broken:
            listens = BootLink(.listens, .broken, "sshd does not run, so nothing listens on \(portWords)")
        case .cannotTell:
            listens = BootLink(.listens, .cannotTell, "sshd would listen on \(portWords) \(where_), if it starts",
                               evidence: ports.map(\.source).filter { $0.location.line > 0 })
        }
        let login = BootLink(.login, .holds, "not checked: who may log in is decided by the sshd model")
        return SSHDBoot(starts: starts, listens: listens, ports: ports, addresses: addresses, login: login)
    }

    static func startsLink(_ s: SystemSnapshot) -> BootLink {
        switch s.initSystem.kind {
        case .systemd, .unknown:
            var masked: [SourceLine] = []
            for unit in units {
                if let m = s.units.isMasked(unit) {
                    masked.append(SourceLine(path: m.linkPath, line: 0, text: "-> \(m.linkTarget)"))
                    continue
                }
                guard let e = s.units.startsAtBoot(unit) else { continue }
                let link = SourceLine(path: e.linkPath, line: 0, text: "-> \(e.linkTarget)")
                // A socket unit starts sshd per connection through ssh@.service.
                let service = unit.hasSuffix(".socket") ? String(unit.dropLast(7)) + "@.service" : unit
                if let (_, file) = s.units.unitFile(service), let exec = file.value("Service", "ExecStart"),
                   let program = Text.words(exec.value).first.map({ String($0).trimmingCharacters(in: "-@+!:") }),
                   program.hasPrefix("/"), !s.root.isRegularFile(program) {
                    return BootLink(.sshdStarts, .broken, "\(unit) is enabled, but its ExecStart program \(program) does not exist, so it fails",
                                    evidence: [link, exec.source])
                }
                return BootLink(.sshdStarts, .holds, "\(unit) is enabled", evidence: [link])
            }
            if s.initSystem.kind == .unknown {
                if let l = s.units.isEnabledSysV("ssh") ?? s.units.isEnabledSysV("sshd") {
                    return BootLink(.sshdStarts, .holds, "the \(l.script) init script starts from \(l.linkPath)",
                                    evidence: [SourceLine(path: l.linkPath, line: 0, text: "-> \(l.linkTarget)")])
                }
                return BootLink(.sshdStarts, .cannotTell, "the init system is not known, so whether sshd starts could not be decided")
            }
            if !masked.isEmpty {
                return BootLink(.sshdStarts, .broken, "the ssh unit is masked, so sshd does not start", evidence: masked)
            }
            return BootLink(.sshdStarts, .broken, "no ssh.service, sshd.service or ssh.socket is enabled, so sshd does not start")
        case .sysvinit:
            if let l = s.units.isEnabledSysV("ssh") ?? s.units.isEnabledSysV("sshd") {
                return BootLink(.sshdStarts, .holds, "the \(l.script) init script starts from \(l.linkPath)",
                                evidence: [SourceLine(path: l.linkPath, line: 0, text: "-> \(l.linkTarget)")])
            }
            if s.units.sysvLinks.isEmpty {
                // As for the networking script (StackStatus): a root without any rc link is a trimmed copy.
                return BootLink(.sshdStarts, .holds, "no rc links were found; assuming the ssh init script runs")
            }
            return BootLink(.sshdStarts, .broken, "no /etc/rc?.d/S??ssh link starts sshd")
        case .other:
            return BootLink(.sshdStarts, .cannotTell, "the init system (\(s.initSystem.reason)) is not modelled, so whether sshd starts could not be decided")
        }
    }
}
