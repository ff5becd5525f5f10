import Parsers
import Plan
import SystemModel
import TargetAccess

/// `package-transaction-interrupted`: dpkg or pacman stopped in the middle
/// of installing or upgrading packages.
public struct PackageTransactionInterrupted: Rule {
    public static let id = "package-transaction-interrupted"
    public init() {}

    public func check(_ system: SystemSnapshot) -> [Finding] {
        let t = system.packageTransactions
        var out: [Finding] = []
        let configurable = t.dpkgUnfinished.filter(\.configureFinishes)
        if !configurable.isEmpty || !t.dpkgUpdates.isEmpty {
            out.append(dpkgConfigure(configurable, updates: t.dpkgUpdates))
        }
        let broken = t.dpkgUnfinished.filter { !$0.configureFinishes }
        if !broken.isEmpty { out.append(dpkgReinstall(broken, system: system)) }
        if let lock = t.pacmanLock { out.append(pacman(lock, interrupted: t.pacmanInterrupted)) }
        if t.dnfUnfinished != nil || !t.yumUnfinished.isEmpty { out.append(dnf(t.dnfUnfinished, yum: t.yumUnfinished)) }
        return out
    }

    private func dnf(_ tr: DnfTransaction?, yum: [String]) -> Finding {
        var evidence: [Evidence] = []
        var parts: [String] = []
        if let tr {
            let how = tr.state == 2 ? "ended in error" : "never recorded its end"
            parts.append("dnf transaction \(tr.id) (`\(tr.commandLine)`) \(how)")
            evidence.append(.fact(PackageTransactions.dnfHistoryPath, "transaction \(tr.id): \(tr.commandLine); state \(tr.state) (\(how)), \(tr.items.count) package action\(tr.items.count == 1 ? "" : "s")"))
            evidence += tr.items.prefix(20).map { .fact(PackageTransactions.dnfHistoryPath, $0) }
        }
        for y in yum.prefix(5) { evidence.append(.fact(y, "a yum transaction that yum-complete-transaction has not finished")) }
        if !yum.isEmpty { parts.append("yum left \(yum.count) unfinished transaction file\(yum.count == 1 ? "" : "s")") }
        let message = "An interrupted package transaction: " + parts.joined(separator: ", and ") + "."
        let commands: [ShellCommand] = ["for d in proc sys dev run; do mount --bind /$d \"$ROOT/$d\"; done",
                                        "chroot \"$ROOT\" rpm -Va --nofiledigest 2>&1 | head -50   # what the transaction left changed",
                                        "chroot \"$ROOT\" dnf history info last",
                                        "chroot \"$ROOT\" dnf distro-sync   # needs the network; or: dnf history redo last",
                                        "for d in run dev sys proc; do umount \"$ROOT/$d\"; done"]
        return finding(message: message,
                       atBoot: "Packages half-upgraded by rpm can leave programs and libraries at different versions, so services fail at boot; rpm's scriptlets (unit enablement, SELinux relabels) may never have run.",
                       evidence: evidence,
                       actions: [ProposedAction(.manual(description: "Check and finish the interrupted transaction inside the target.", commands: commands),
                                                "Finish the dnf transaction inside the target")])
    }

    static func describe(_ p: DpkgPackage) -> String {
        "\(p.name)\(p.version.map { " \($0)" } ?? ""): Status: \(p.want) \(p.flag) \(p.state)"
    }

    private func dpkgConfigure(_ packages: [DpkgPackage], updates: [String]) -> Finding {
        var evidence = packages.prefix(30).map { Evidence($0.source, note: Self.describe($0)) }
        if packages.count > 30 { evidence.append(.fact("/var/lib/dpkg/status", "and \(packages.count - 30) more packages not configured")) }
        for u in updates.prefix(10) {
            evidence.append(.fact("\(PackageTransactions.dpkgUpdatesDir)/\(u)", "a status change dpkg journalled and never folded into /var/lib/dpkg/status"))
        }
        var parts: [String] = []
        if !packages.isEmpty {
            let names = packages.prefix(8).map(\.name).joined(separator: ", ") + (packages.count > 8 ? ", …" : "")
            parts.append("\(packages.count) package\(packages.count == 1 ? " was" : "s were") left unpacked or half-configured (\(names))")
        }
        if !updates.isEmpty { parts.append("\(PackageTransactions.dpkgUpdatesDir) holds \(updates.count) unapplied status change\(updates.count == 1 ? "" : "s")") }
        let message = "An interrupted dpkg run: " + parts.joined(separator: ", and ") + "."
        let action = ProposedAction(
            .chroot(command: ["dpkg", "--configure", "-a"],
                    why: "finish configuring the packages an interrupted upgrade left half-way", undoable: false),
            "Run dpkg --configure -a inside the target")
        var f = finding(message: message,
                        atBoot: "Packages whose configuration never ran can leave services without their files, libraries half-replaced or daemons unable to start at boot; apt refuses to work until dpkg --configure -a finishes them.",
                        evidence: evidence, actions: [action])
        f.names = packages.map(\.name)
        return f
    }

    private func dpkgReinstall(_ packages: [DpkgPackage], system: SystemSnapshot) -> Finding {
        let evidence = packages.prefix(30).map { Evidence($0.source, note: Self.describe($0)) }
        var commands: [ShellCommand] = ["for d in proc sys dev run; do mount --bind /$d \"$ROOT/$d\"; done"]
        let archives = system.facts.aptArchives
        for p in packages {
            let arch = p.architecture.map { ":\($0)" } ?? ""
            // A .deb still in apt's cache needs no network (apt writes an epoch's colon as %3a).
            let cached = p.version.flatMap { v -> String? in
                let prefix = "\(p.name)_" + v.split(separator: ":", omittingEmptySubsequences: false).joined(separator: "%3a") + "_"
                return archives.first { $0.hasPrefix(prefix) && $0.hasSuffix(".deb") }.map { "/var/cache/apt/archives/" + $0 }
            }
            if let cached {
                commands.append("chroot \"$ROOT\" dpkg -i \(value: cached)")
            } else {
                commands.append("chroot \"$ROOT\" apt-get install --reinstall \(value: p.name + arch)   # needs the network")
            }
        }
        commands.append("chroot \"$ROOT\" dpkg --configure -a")
        commands.append("for d in run dev sys proc; do umount \"$ROOT/$d\"; done")
        let names = packages.prefix(8).map(\.name).joined(separator: ", ") + (packages.count > 8 ? ", …" : "")
        var f = finding(
            message: "dpkg stopped while replacing the files of \(packages.count) package\(packages.count == 1 ? "" : "s") (\(names)): they are half-installed or marked as needing a reinstall, so their files may be a mix of two versions.",
            atBoot: "Programs and libraries from a half-installed package can be missing or mismatched, so the services that use them can fail at boot; dpkg --configure -a cannot finish these, they must be installed again.",
            evidence: evidence,
            actions: [ProposedAction(.manual(description: "Install the half-installed packages again inside the target, then finish the configuration.", commands: commands),
                                     "Reinstall \(names) inside the target")])
        f.names = packages.map(\.name)
        return f
    }

    private func pacman(_ lock: PathInfo, interrupted: [SourceLine]) -> Finding {
        var evidence = [Evidence.fact(PackageTransactions.pacmanLockPath, "pacman's lock file is still there (\(lock.status.size) bytes)")]
        evidence += interrupted.prefix(20).map { Evidence($0, note: nil) }
        let upgraded = interrupted.filter { $0.text.contains("[ALPM] upgraded ") || $0.text.contains("[ALPM] installed ") }
        var message = "pacman's lock \(PackageTransactions.pacmanLockPath) is still there: a pacman run was interrupted"
        if !interrupted.isEmpty {
            message += "; /var/log/pacman.log shows a transaction that started and never completed (\(upgraded.count) package\(upgraded.count == 1 ? "" : "s") done before it stopped)"
        }
        message += "."
        return finding(
            message: message,
            atBoot: "An upgrade stopped half-way can leave libraries and the programs using them at different versions, so daemons fail at boot; pacman refuses to run while the lock is there.",
            evidence: evidence,
            actions: [
                ProposedAction(.moveAside(path: PackageTransactions.pacmanLockPath), "Move pacman's stale lock aside"),
                ProposedAction(.manual(description: "Finish the interrupted upgrade inside the target, then check every package's files.",
                                       commands: ["for d in proc sys dev run; do mount --bind /$d \"$ROOT/$d\"; done",
                                                  "chroot \"$ROOT\" pacman -Syu   # needs the network",
                                                  "chroot \"$ROOT\" pacman -Qkk 2>&1 | grep -v ' 0 altered files'",
                                                  "for d in run dev sys proc; do umount \"$ROOT/$d\"; done"]),
                               "Finish the pacman upgrade inside the target"),
            ])
    }
}
